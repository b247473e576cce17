#!/usr/bin/env bash
# Benign registrations with digest auth (qop=auth): 1001 from ph1 10.77.0.11:5060 and 1002 from ph2 10.77.0.12:5060
# to kamailio 10.77.0.1:5060, each REGISTER -> 401 (challenge) -> REGISTER with Authorization -> 200.
# 1001 registers twice (a refresh 2 s later, with a new challenge).
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=register

lab_up
lab_kamailio
S="$LAB_DIR/sipp"
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp ph1 -sf "$S/register.xml" 10.77.0.1:5060 -i 10.77.0.11 -p 5060 -s 1001 -au 1001 -ap tiger42 -m 1
sleep 1
lab_sipp ph2 -sf "$S/register.xml" 10.77.0.1:5060 -i 10.77.0.12 -p 5060 -s 1002 -au 1002 -ap orchid77 -m 1
sleep 1
lab_sipp ph1 -sf "$S/register.xml" 10.77.0.1:5060 -i 10.77.0.11 -p 5060 -s 1001 -au 1001 -ap tiger42 -m 1
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
