#!/usr/bin/env bash
# svwar (sipvicious 0.3.3) extension enumeration from the attacker 10.77.0.66 against kamailio 10.77.0.1:5060:
# REGISTER for extensions 990-1010; 1001 and 1002 exist (401 challenge), every other one gets 404.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=svwar

lab_up
lab_kamailio
lab_record_start "$LAB_TMP/cap.pcap"
in_ns att env HOME="$LAB_TMP" svwar -p 5060 -P 5062 -e 990-1010 -m REGISTER 10.77.0.1 >"$LAB_TMP/svwar.out" 2>&1 || true
cat "$LAB_TMP/svwar.out" >&2
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
