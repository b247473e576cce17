#!/usr/bin/env bash
# RTP injection: 1002 (ph2) registers; 1001 (ph1 10.77.0.11) calls 1002 (ph2 10.77.0.12) through kamailio with 8 s
# of PCMU RTP ph1:16000 -> ph2:20000 (SSRC 0x0ca11ab5), echoed back by ph2. ~3 s into the call the attacker
# 10.77.0.66:16000 sends 50 RTP packets (20 ms apart) to ph2:20000 with the caller's SSRC, sequence numbers 100 ahead.
# (ph2's sipp echoes them back to the attacker, whose socket absorbs them.)
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=rtp-injection

lab_up
lab_kamailio
lab_rtp_pcap "$LAB_TMP/pcmu.pcap" 8
S="$LAB_DIR/sipp"
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp ph2 -sf "$S/register.xml" 10.77.0.1:5060 -i 10.77.0.12 -p 5060 -s 1002 -au 1002 -ap orchid77 -m 1
lab_sipp_bg ph2 -sf "$S/uas-call.xml" -i 10.77.0.12 -p 5060 -mi 10.77.0.12 -mp 20000 -rtp_echo \
	-key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -m 1
UAS=$LAB_LAST_PID
sleep 0.5
lab_sipp_bg ph1 -sf "$S/uac-call.xml" 10.77.0.1:5060 -i 10.77.0.11 -p 5060 -mi 10.77.0.11 -mp 16000 \
	-s 1002 -key caller 1001 -key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -key rtp_pcap "$LAB_TMP/pcmu.pcap" \
	-d 8500 -m 1
UAC=$LAB_LAST_PID
sleep 3
in_ns att /usr/bin/python3 "$LAB_DIR/inject_rtp.py" "$LAB_TMP/cap.pcap" 10.77.0.66 16000 10.77.0.12 20000 50 >&2
lab_wait "$UAC" 20
lab_wait "$UAS" 5
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
