#!/usr/bin/env bash
# ERSPAN (Cisco remote SPAN) captures: this lab's kernel has no GRE/ERSPAN tunnel devices, so two recorded lab
# captures are re-encapsulated as an ERSPAN session delivers them, with scapy's GRE and ERSPAN layers
# (erspan_wrap.py; tshark checks that Wireshark finds every SIP message inside):
#   lab-erspan.pcap  = lab-svcrack.pcap in ERSPAN type II (session 7, VLAN 77)
#   lab-erspan3.pcap = lab-calls.pcap in ERSPAN type III with the platform-specific subheader
# Each must raise what its source raises (tests/tests/tunnels.rs). Re-run after re-recording the sources.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
py=/usr/bin/python3
"$py" "$LAB_DIR/erspan_wrap.py" "$LAB_ROOT/pcaps/lab-svcrack.pcap" "$LAB_ROOT/pcaps/lab-erspan.pcap" 2
"$py" "$LAB_DIR/erspan_wrap.py" "$LAB_ROOT/pcaps/lab-calls.pcap" "$LAB_ROOT/pcaps/lab-erspan3.pcap" 3
chmod 644 "$LAB_ROOT/pcaps/lab-erspan.pcap" "$LAB_ROOT/pcaps/lab-erspan3.pcap"
