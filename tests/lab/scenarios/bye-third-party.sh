#!/usr/bin/env bash
# Third-party teardown: 1002 (ph2 10.77.0.12, sipp uas) registers; 1001 (ph1 10.77.0.11) calls 1002 through kamailio
# 10.77.0.1 (record-routed) with 8 s of PCMU RTP ph1:16000 <-> ph2:20000. ~3 s into the call the attacker
# 10.77.0.66:5060 sends a forged BYE (caller's From tag, callee's To tag, Call-ID read off the wire) straight to
# ph2's Contact 10.77.0.12:5060. sipp (the callee) accepts it and answers 200 OK -- to the dialog's peer (the proxy
# 10.77.0.1), not to the attacker (sipp behaviour, see LAB-NOTES) -- and ends its side; the caller's RTP goes on and
# its own BYE at the end goes through the proxy to a callee that has forgotten the call.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=bye-third-party

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
in_ns att /usr/bin/python3 "$LAB_DIR/forge_bye.py" "$LAB_TMP/cap.pcap" 10.77.0.66 5060 >&2
lab_wait "$UAC" 20
lab_wait "$UAS" 3
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
