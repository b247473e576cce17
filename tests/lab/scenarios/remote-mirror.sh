#!/usr/bin/env bash
# Remote mirroring: the switch sends every mirrored frame to the sensor inside a tunnel (lab_remote_mirror), as a
# Cisco ERSPAN session or cloud traffic mirroring (VXLAN) does; the sensor's port sees only the tunnel packets
# (192.0.2.1 -> 192.0.2.2). MIRROR picks the tunnel: erspan2 (default, capture lab-erspan), erspan3
# (lab-erspan3), gretap (lab-gretap), vxlan (lab-vxlan). Inside, the same traffic each time:
# 1. 1002 registers (401, 200) from ph2; a call 1001 -> 1002 through the record-routing kamailio with ~3 s of PCMU
#    RTP both ways.
# 2. svcrack from the attacker 10.77.0.66 guesses 1001's password with a 12-word list whose 10th word is right:
#    9 refused guesses (403), then 200.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
MIRROR=${MIRROR:-erspan2}
case $MIRROR in
erspan2) NAME=erspan ;;
*) NAME=$MIRROR ;;
esac
export LAB_MIRROR=$MIRROR

lab_up
lab_kamailio
lab_rtp_pcap "$LAB_TMP/pcmu.pcap" 3
printf '%s\n' 123456 password 1001 admin 1234 secret voip 0000 letmein tiger42 qwerty 111111 >"$LAB_TMP/words.txt"
S="$LAB_DIR/sipp"
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp ph2 -sf "$S/register.xml" 10.77.0.1:5060 -i 10.77.0.12 -p 5060 -s 1002 -au 1002 -ap orchid77 -m 1
lab_sipp_bg ph2 -sf "$S/uas-call.xml" -i 10.77.0.12 -p 5060 -mi 10.77.0.12 -mp 20000 -rtp_echo \
	-key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -m 1
UAS=$LAB_LAST_PID
sleep 0.5
lab_sipp ph1 -sf "$S/uac-call.xml" 10.77.0.1:5060 -i 10.77.0.11 -p 5060 -mi 10.77.0.11 -mp 16000 \
	-s 1002 -key caller 1001 -key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -key rtp_pcap "$LAB_TMP/pcmu.pcap" \
	-d 3500 -m 1
lab_wait "$UAS" 10
in_ns att env HOME="$LAB_TMP" svcrack -p 5060 -P 5063 -u 1001 -d "$LAB_TMP/words.txt" 10.77.0.1 >"$LAB_TMP/svcrack.out" 2>&1 || true
cat "$LAB_TMP/svcrack.out" >&2
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
