#!/usr/bin/env bash
# svmap (sipvicious 0.3.3) scan from the attacker 10.77.0.66: OPTIONS to 10.77.0.0/28 on the LAN (only kamailio
# 10.77.0.1 answers 200; the phones 10.77.0.11/.12 have no SIP listener and answer ICMP port unreachable; absent
# LAN hosts appear only as ARP who-has from the attacker, never as OPTIONS) and to 10.78.0.1-64 behind the router
# cg-gw 10.77.0.254 (blackholed there), where every OPTIONS probe is on the wire (to the router's MAC).
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=svmap

lab_up gw
lab_kamailio
lab_record_start "$LAB_TMP/cap.pcap"
in_ns att env HOME="$LAB_TMP" svmap -p 5060 -P 5061 -t 0.02 10.77.0.0/28 10.78.0.1-64 >"$LAB_TMP/svmap.out" 2>&1 || true
cat "$LAB_TMP/svmap.out" >&2
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
