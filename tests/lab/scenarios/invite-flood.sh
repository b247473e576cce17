#!/usr/bin/env bash
# INVITE flood: sipp on the attacker 10.77.0.66:5070 sends 2000 INVITEs (distinct Call-IDs) for 1009@10.77.0.1 to
# kamailio 10.77.0.1:5060 at 400/s (~5 s); kamailio answers each 100 Trying + 404 Not Found, sipp ACKs the 404.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=invite-flood

lab_up
lab_kamailio
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp att -sf "$LAB_DIR/sipp/invite-flood.xml" 10.77.0.1:5060 -i 10.77.0.66 -p 5070 -s 1009 \
	-r 400 -rp 1000 -m 2000 -l 2000 -timeout 30s || true
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
