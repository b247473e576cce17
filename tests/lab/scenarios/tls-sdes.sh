#!/usr/bin/env bash
# SIP over TLS 1.2 with SDES-SRTP: 1002 (ph2 10.77.0.12) and 1001 (ph1 10.77.0.11) register over TLS to kamailio
# 10.77.0.1:5061 (SNI pbx.lab.callguard, self-signed RSA-2048 certificate generated at run time; 401 then 200), then
# 1001 calls 1002 over TLS (kamailio relays over ph2's TLS connection) offering RTP/SAVP with a=crypto, 1002 answers
# RTP/SAVP with its own a=crypto; 3 s of SRTP-looking media ph1:16000 <-> ph2:20000; BYE over TLS.
# SIP user agent: tests/lab/sip_tls.py (Python ssl; sipp has no TLS).
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=tls-sdes

lab_up
lab_kamailio pbx.lab.callguard
lab_record_start "$LAB_TMP/cap.pcap"
lab_bg ph2 /usr/bin/python3 "$LAB_DIR/sip_tls.py" uas 1002 orchid77 10.77.0.12
UAS=$LAB_LAST_PID
sleep 1
in_ns ph1 /usr/bin/python3 "$LAB_DIR/sip_tls.py" uac 1001 tiger42 10.77.0.11 1002 3
lab_wait "$UAS" 5
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
