#!/usr/bin/env bash
# REGISTER flood: sipp on the attacker 10.77.0.66:5071 sends 2000 REGISTERs for 1001 (distinct Call-IDs, no
# credentials) to kamailio 10.77.0.1:5060 at 400/s (~5 s); each is answered 401 with a qop=auth challenge.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=register-flood

lab_up
lab_kamailio
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp att -sf "$LAB_DIR/sipp/register-flood.xml" 10.77.0.1:5060 -i 10.77.0.66 -p 5071 -s 1001 \
	-r 400 -rp 1000 -m 2000 -l 2000 -timeout 30s || true
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
