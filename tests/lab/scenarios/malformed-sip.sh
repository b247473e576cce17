#!/usr/bin/env bash
# Malformed SIP against kamailio 10.77.0.1:5060 (UDP, and TCP on the same port for this scenario) from the attacker
# namespace, one source address per run (10.77.0.67-69 are extra addresses of the attacker's interface, on-link):
# 1. sipp on 10.77.0.66:5070, one socket (-t u1), 20 calls/s, 25 calls of sipp/malformed-sip.xml: six broken
#    requests each (two whose start line does not parse: non-UTF-8 bytes in the Request-URI, a 640-byte request
#    line with no SIP-Version; four that a tolerant parser reads: no Call-ID/CSeq, folding + Content-Length -1,
#    control bytes + an 800-byte header, and a start line that is not SIP at all).
# 2. sipp on 10.77.0.67:5070, one socket per call (-t un), 200 calls/s, 60 calls of the same scenario.
# 3. sip_fuzz.py udp from 10.77.0.68:5080: a PROTOS c07-sip style run, 195 test cases (13 fields x 15 mutations)
#    at 40 cases/s.
# 4. sip_fuzz.py tcp from 10.77.0.69: four TCP connections (unparseable framed messages, Content-Length -1,
#    Content-Length over 64 KiB, a header section that never ends, two Content-Length fields that differ).
# 5. sip_fuzz.py ws from 10.77.0.70: SIP over WebSocket (a second kamailio, kamailio-ws.cfg, on ws://10.77.0.1:8080):
#    a valid OPTIONS, then twelve binary messages that do not parse.
# What kamailio answers (400, 404, nothing) does not matter.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=malformed-sip

lab_up
# kamailio.cfg with a TCP listener on 5060 as well (this scenario's variant, the others keep UDP + TLS).
sed 's/^listen=udp:10.77.0.1:5060$/&\nlisten=tcp:10.77.0.1:5060/' "$LAB_DIR/kamailio.cfg" >"$LAB_TMP/kamailio-tcp.cfg"
grep -q '^listen=tcp:10.77.0.1:5060$' "$LAB_TMP/kamailio-tcp.cfg"
lab_kamailio pbx.lab.callguard cert-a "" "$LAB_TMP/kamailio-tcp.cfg"
lab_kamailio_ws
for i in 67 68 69 70; do
	in_ns att ip addr add "10.77.0.$i/32" dev cgeth0
done
S="$LAB_DIR/sipp"
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp att -sf "$S/malformed-sip.xml" 10.77.0.1:5060 -i 10.77.0.66 -p 5070 -s 100 -t u1 \
	-r 20 -m 25 -timeout 20s || true
sleep 2
lab_sipp att -sf "$S/malformed-sip.xml" 10.77.0.1:5060 -i 10.77.0.67 -p 5070 -s 100 -t un -max_socket 512 \
	-r 200 -m 60 -timeout 20s || true
sleep 2
in_ns att /usr/bin/python3 "$LAB_DIR/sip_fuzz.py" udp 10.77.0.68 10.77.0.1 40
sleep 2
in_ns att /usr/bin/python3 "$LAB_DIR/sip_fuzz.py" tcp 10.77.0.69 10.77.0.1
sleep 1
in_ns att /usr/bin/python3 "$LAB_DIR/sip_fuzz.py" ws 10.77.0.70 10.77.0.1
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
