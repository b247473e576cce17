#!/usr/bin/env bash
# Toll fraud through kamailio 10.77.0.1:5060 with a carrier route (kamailio-fraud.cfg: INVITEs to 00/011/9 numbers
# are authenticated with 407 (qop=auth) and relayed to a carrier gateway, a sipp UAS on ph2 10.77.0.12:5080, which
# answers every call; no RTP is sent). Three option sets:
# 1. 1001 (sipp on ph1 10.77.0.11:5060, -au 1001 -ap tiger42) places 5 concurrent international calls to
#    0044207946000{1..5} (launched within one second, 12 s each);
# 2. then 8 short calls (1 s each, 2 at a time) to 00882165000{01..08} (one number range);
# 3. the attacker 10.77.0.66:5070 (From 100, guessed credentials 100/100) probes 12 numbers 0097259900{01..12}: each
#    INVITE is challenged (407) and its retry with credentials refused (403) by the PBX.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=toll-fraud

lab_up
LAB_KAM_CFG="$LAB_DIR/kamailio-fraud.cfg" lab_kamailio
S="$LAB_DIR/sipp"
numbers() { # FILE FORMAT FROM TO
	{
		echo SEQUENTIAL
		for i in $(seq "$3" "$4"); do printf "$2;\n" "$i"; done
	} >"$1"
}
numbers "$LAB_TMP/intl.csv" '004420794600%02d' 1 5
numbers "$LAB_TMP/short.csv" '00882165000%02d' 1 8
numbers "$LAB_TMP/probe.csv" '0097259900%02d' 1 12
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp_bg ph2 -sf "$S/uas-call.xml" -i 10.77.0.12 -p 5080 -mi 10.77.0.12 -mp 20000 \
	-key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -m 13
UAS=$LAB_LAST_PID
sleep 0.5
uac() { # NS IP PORT CALLER PASSWORD CSV [sipp args]
	local ns=$1 ip=$2 port=$3 caller=$4 pw=$5 csv=$6
	shift 6
	lab_sipp "$ns" -sf "$S/uac-auth-call.xml" 10.77.0.1:5060 -i "$ip" -p "$port" -mi "$ip" -mp 16000 \
		-key caller "$caller" -au "$caller" -ap "$pw" -inf "$csv" "$@"
}
uac ph1 10.77.0.11 5060 1001 tiger42 "$LAB_TMP/intl.csv" -d 12000 -l 5 -r 5 -m 5
uac ph1 10.77.0.11 5060 1001 tiger42 "$LAB_TMP/short.csv" -d 1000 -l 2 -r 2 -m 8
lab_wait "$UAS" 10
# refused probes: sipp counts them as failed calls
uac att 10.77.0.66 5070 100 100 "$LAB_TMP/probe.csv" -l 2 -r 4 -m 12 || true
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
