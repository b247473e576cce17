#!/usr/bin/env bash
# RTP and UDP floods of media ports during a call: 1002 (ph2) registers; 1001 (ph1 10.77.0.11) calls 1002 (ph2
# 10.77.0.12) through kamailio with ~20 s of PCMU RTP ph1:16000 -> ph2:20000, echoed back by ph2 (the SDP
# negotiates ph1:16000 and ph2:20000, PCMU, no a=ptime: 50 packets a second each way). During the call the
# attacker 10.77.0.66:
#   (a) ~1.5 s in: 1500 RTP-looking packets a second for 3 s (flood_udp.py: PT 0, SSRC 0x0badc0de, 172 bytes)
#       from 10.77.0.66:40000 to the caller's negotiated port ph1:16000 (30 times the codec's rate; sipp's
#       caller does not echo);
#   (b) ~5.5 s in: hping3 --udp, 160 bytes of its 'X' filler every 1 ms (~1000 a second, not RTP) for 2000 datagrams
#       from 10.77.0.66:40002 (fixed, -k) to ph2:30000, a port no call negotiated (ph2 answers a few ICMP
#       port unreachable, rate-limited by its kernel);
#   (c) ~9 s in: 300 RTP-looking packets a second for 2 s from 10.77.0.66:40004 to ph2:30002, another
#       unnegotiated port: above the workers' report floor (150), under the unnegotiated threshold (400): quiet;
#   (d) ~12 s in: hping3 --udp with its default source port, one more for every datagram (a new 5-tuple each:
#       no flow ever reaches the floor; the flood is seen by its flow openings), 2000 datagrams of 160 bytes
#       every 1 ms to ph2:30004.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=rtp-flood

lab_up
lab_kamailio
lab_rtp_pcap "$LAB_TMP/pcmu.pcap" 20
S="$LAB_DIR/sipp"
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp ph2 -sf "$S/register.xml" 10.77.0.1:5060 -i 10.77.0.12 -p 5060 -s 1002 -au 1002 -ap orchid77 -m 1
lab_sipp_bg ph2 -sf "$S/uas-call.xml" -i 10.77.0.12 -p 5060 -mi 10.77.0.12 -mp 20000 -rtp_echo \
	-key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -m 1
UAS=$LAB_LAST_PID
sleep 0.5
lab_sipp_bg ph1 -sf "$S/uac-call.xml" 10.77.0.1:5060 -i 10.77.0.11 -p 5060 -mi 10.77.0.11 -mp 16000 \
	-s 1002 -key caller 1001 -key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -key rtp_pcap "$LAB_TMP/pcmu.pcap" \
	-d 20500 -m 1
UAC=$LAB_LAST_PID
sleep 1.5
in_ns att /usr/bin/python3 "$LAB_DIR/flood_udp.py" 10.77.0.66 40000 10.77.0.11 16000 1500 3 rtp >&2
sleep 1
in_ns att hping3 -q --udp -p 30000 -s 40002 -k -d 160 -i u1000 -c 2000 10.77.0.12 >&2 || true
sleep 1
in_ns att /usr/bin/python3 "$LAB_DIR/flood_udp.py" 10.77.0.66 40004 10.77.0.12 30002 300 2 rtp >&2
sleep 1
in_ns att hping3 -q --udp -p 30004 -d 160 -i u1000 -c 2000 10.77.0.12 >&2 || true
lab_wait "$UAC" 30
lab_wait "$UAS" 5
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
