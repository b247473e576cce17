#!/usr/bin/env bash
# Toll fraud to a premium-rate number through kamailio 10.77.0.1:5060 with the carrier route of kamailio-fraud.cfg
# (INVITEs to 00/011/9 numbers are authenticated with 407, qop=auth, and relayed to the carrier gateway, a sipp UAS on
# ph2 10.77.0.12:5080, which answers; no RTP). 1001 (sipp on ph1 10.77.0.11:5060, -au 1001 -ap tiger42) calls the
# premium-rate number 9005550123 once, 5 s, and then the national number 2025550123 once, 2 s (not routed to the
# carrier: kamailio answers 404, a number that is neither premium nor international).
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=toll-premium

lab_up
LAB_KAM_CFG="$LAB_DIR/kamailio-fraud.cfg" lab_kamailio
S="$LAB_DIR/sipp"
printf 'SEQUENTIAL\n9005550123;\n' >"$LAB_TMP/premium.csv"
printf 'SEQUENTIAL\n2025550123;\n' >"$LAB_TMP/national.csv"
chmod 644 "$LAB_TMP"/*.csv
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp_bg ph2 -sf "$S/uas-call.xml" -i 10.77.0.12 -p 5080 -mi 10.77.0.12 -mp 20000 \
	-key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -m 1
UAS=$LAB_LAST_PID
sleep 0.5
uac() { # CSV [sipp args]
	local csv=$1
	shift
	lab_sipp ph1 -sf "$S/uac-auth-call.xml" 10.77.0.1:5060 -i 10.77.0.11 -p 5060 -mi 10.77.0.11 -mp 16000 \
		-key caller 1001 -au 1001 -ap tiger42 -inf "$csv" "$@"
}
uac "$LAB_TMP/premium.csv" -d 5000 -m 1
lab_wait "$UAS" 10
# not a toll number: refused by kamailio; sipp counts it as a failed call
uac "$LAB_TMP/national.csv" -d 2000 -m 1 || true
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
