#!/usr/bin/env bash
# SIP over plain WebSocket (RFC 7118): 1002 (ph2 10.77.0.12) and then 1001 (ph1 10.77.0.11) open ws://10.77.0.1:8080/
# to kamailio with the `sip` subprotocol (HTTP/1.1 upgrade, 101) and register (401 with qop=auth, then 200); 1001
# pings once (masked ping, pong), then calls 1002 through kamailio over WebSocket (INVITE with an RTP/AVP PCMU
# offer, 100 from kamailio, 180 and 200 from 1002 relayed over ph2's WebSocket, ACK), hangs up 2 s later (BYE,
# 200), and both close their WebSocket (close frames both ways). No media is sent. Client frames are masked
# (RFC 6455 §5.3), kamailio's are not. SIP user agent: tests/lab/sip_ws.py (python3-websockets; sipp has no
# WebSocket transport).
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=sip-ws

lab_up
lab_kamailio_ws
lab_record_start "$LAB_TMP/cap.pcap"
lab_bg ph2 /usr/bin/python3 "$LAB_DIR/sip_ws.py" uas 1002 orchid77
UAS=$LAB_LAST_PID
sleep 1
in_ns ph1 /usr/bin/python3 "$LAB_DIR/sip_ws.py" uac 1001 tiger42 1002 2
lab_wait "$UAS" 5
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
