#!/usr/bin/env bash
# Benign calls: 3 sequential SIP/UDP calls 1001 (ph1 10.77.0.11:5060) -> 1002 (ph2 10.77.0.12:5060) through the
# record-routing proxy kamailio (pbx 10.77.0.1:5060), after 1002 registered (401 + 200),, each with ~3 s of PCMU RTP both ways
# (caller plays a G.711 pcap from port 16000, callee echoes it from port 20000).
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=calls

lab_up
lab_kamailio
lab_rtp_pcap "$LAB_TMP/pcmu.pcap" 3
S="$LAB_DIR/sipp"
lab_record_start "$LAB_TMP/cap.pcap"
# 1002 registers its contact (digest auth: 401, then 200)
lab_sipp ph2 -sf "$S/register.xml" 10.77.0.1:5060 -i 10.77.0.12 -p 5060 -s 1002 -au 1002 -ap orchid77 -m 1
lab_sipp_bg ph2 -sf "$S/uas-call.xml" -i 10.77.0.12 -p 5060 -mi 10.77.0.12 -mp 20000 -rtp_echo \
	-key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -m 3
UAS=$LAB_LAST_PID
sleep 0.5
lab_sipp ph1 -sf "$S/uac-call.xml" 10.77.0.1:5060 -i 10.77.0.11 -p 5060 -mi 10.77.0.11 -mp 16000 \
	-s 1002 -key caller 1001 -key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -key rtp_pcap "$LAB_TMP/pcmu.pcap" \
	-d 3500 -l 1 -m 3 -r 1 -rp 1000
lab_wait "$UAS" 10
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
