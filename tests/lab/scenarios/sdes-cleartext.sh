#!/usr/bin/env bash
# SDES keys in cleartext SIP: 1002 (ph2) registers; 1001 (ph1 10.77.0.11) offers RTP/SAVP with
# "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:Y2Fs...MDAw" over plain UDP through kamailio 10.77.0.1 to 1002
# (ph2 10.77.0.12), which answers RTP/SAVP with its own a=crypto key; 3 s of SRTP-looking media both ways
# (random payload + 10-byte tag, not really encrypted with these keys). The keys cross the wire 4 times
# (offer ph1->pbx, pbx->ph2; answer ph2->pbx, pbx->ph1).
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=sdes-cleartext

lab_up
lab_kamailio
lab_rtp_pcap "$LAB_TMP/srtp.pcap" 3 srtp
S="$LAB_DIR/sipp"
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp ph2 -sf "$S/register.xml" 10.77.0.1:5060 -i 10.77.0.12 -p 5060 -s 1002 -au 1002 -ap orchid77 -m 1
lab_sipp_bg ph2 -sf "$S/uas-call.xml" -i 10.77.0.12 -p 5060 -mi 10.77.0.12 -mp 20000 -rtp_echo \
	-key sdp_proto RTP/SAVP -key sdp_extra "a=crypto:1 AES_CM_128_HMAC_SHA1_80 $LAB_KEY_CALLEE" -m 1
UAS=$LAB_LAST_PID
sleep 0.5
lab_sipp ph1 -sf "$S/uac-call.xml" 10.77.0.1:5060 -i 10.77.0.11 -p 5060 -mi 10.77.0.11 -mp 16000 \
	-s 1002 -key caller 1001 -key sdp_proto RTP/SAVP -key sdp_extra "a=crypto:1 AES_CM_128_HMAC_SHA1_80 $LAB_KEY_CALLER" \
	-key rtp_pcap "$LAB_TMP/srtp.pcap" -d 3500 -m 1
lab_wait "$UAS" 5
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
