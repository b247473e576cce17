#!/usr/bin/env bash
# Registration hijack against kamailio 10.77.0.1:5060 (digest auth, qop=auth), two variants in one capture:
# 1. 1001 registers from ph1 10.77.0.11:5060 and refreshes; 1002 from ph2 10.77.0.12:5060, and refreshes.
# 2. The attacker 10.77.0.66:5070 fails three times for 1001 (wrong password, 403), then registers 1001 with the
#    right password and a Contact on itself: the account's calls now go to the attacker (after failures).
# 3. 35 s after 1002's first registration (past registration-hijack's 30 s learning period), the attacker registers
#    1002 with its right password and no failure from a second address, 10.79.0.66 (another /24 that 1002 never
#    registered from; kamailio reaches it on-link, routes inside the lab namespaces only).
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=registration-hijack

lab_up
lab_kamailio
in_ns att ip addr add 10.79.0.66/32 dev cgeth0
in_ns pbx ip route add 10.79.0.0/24 dev cgeth0
S="$LAB_DIR/sipp"
reg() { # NS IP PORT USER PASSWORD [sipp args]
	local ns=$1 ip=$2 port=$3 user=$4 pw=$5
	shift 5
	lab_sipp "$ns" -sf "$S/register.xml" 10.77.0.1:5060 -i "$ip" -p "$port" -s "$user" -au "$user" -ap "$pw" "$@"
}
lab_record_start "$LAB_TMP/cap.pcap"
reg ph1 10.77.0.11 5060 1001 tiger42 -m 1
reg ph2 10.77.0.12 5060 1002 orchid77 -m 1
START=$(date +%s)
sleep 1
reg ph1 10.77.0.11 5060 1001 tiger42 -m 1
reg ph2 10.77.0.12 5060 1002 orchid77 -m 1
sleep 1
# three wrong passwords for 1001 (each answered 403; sipp counts the calls as failed)
reg att 10.77.0.66 5070 1001 wrongpass -m 3 -r 2 || true
sleep 0.5
reg att 10.77.0.66 5070 1001 tiger42 -m 1
while (($(date +%s) - START < 35)); do sleep 1; done
reg att 10.79.0.66 5070 1002 orchid77 -m 1
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
