#!/usr/bin/env bash
# SRTP downgrade: 1002 (ph2) registers; 1001 (ph1 10.77.0.11) offers "m=audio 16000 RTP/SAVP 0" with
# "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:..." through kamailio 10.77.0.1 to 1002 (ph2 10.77.0.12), which
# answers "m=audio 20000 RTP/AVP 0" without crypto; the call then carries 3 s of plain PCMU RTP both ways.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=srtp-downgrade

lab_up
lab_kamailio
lab_rtp_pcap "$LAB_TMP/pcmu.pcap" 3
S="$LAB_DIR/sipp"
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp ph2 -sf "$S/register.xml" 10.77.0.1:5060 -i 10.77.0.12 -p 5060 -s 1002 -au 1002 -ap orchid77 -m 1
lab_sipp_bg ph2 -sf "$S/uas-call.xml" -i 10.77.0.12 -p 5060 -mi 10.77.0.12 -mp 20000 -rtp_echo \
	-key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -m 1
UAS=$LAB_LAST_PID
sleep 0.5
lab_sipp ph1 -sf "$S/uac-call.xml" 10.77.0.1:5060 -i 10.77.0.11 -p 5060 -mi 10.77.0.11 -mp 16000 \
	-s 1002 -key caller 1001 -key sdp_proto RTP/SAVP -key sdp_extra "a=crypto:1 AES_CM_128_HMAC_SHA1_80 $LAB_KEY_CALLER" \
	-key rtp_pcap "$LAB_TMP/pcmu.pcap" -d 3500 -m 1
lab_wait "$UAS" 5
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
