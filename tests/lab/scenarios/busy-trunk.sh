#!/usr/bin/env bash
# Busy trunk, benign: ph1 (10.77.0.11) is a carrier/peer PBX trusted by address. Kamailio (10.77.0.1) gets a trunk
# route (inserted into a copy of kamailio.cfg): INVITEs from 10.77.0.11 for the DID block +1555010xxxx go to the PBX
# ph2 (10.77.0.12:5060) without authentication, record-routed. sipp on ph1 sends 600 calls at 30/s to the contiguous
# numbers +15550100000..+15550100599 (sequential -inf file), 1 s each, no media; a sipp UAS on ph2 answers (180,
# 200) and loses 2 % of what it sends and receives (-lost 2), so real retransmissions show. Meanwhile ph1 also
# registers as 1001 (digest: 401, then 200) six times, each time from a new source port (5081..5086: the NAT
# rebinding of a peer). No attack.
# The same trunk at its busy hour: NAME=busy-trunk-peak CALLS=750 RATE=150 (lab-busy-trunk-peak: 150 calls a second
# from one address, three times sip-flood's min_rate; its calls ring, so it is judged against min_rate_served).
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=${NAME:-busy-trunk}
CALLS=${CALLS:-600}
RATE=${RATE:-30}
# sipp's limit on calls in progress: a second of calls and their setup, with room
LIMIT=$((RATE * 3 > 100 ? RATE * 3 : 100))

lab_up
cfg="$LAB_TMP/kamailio-trunk.cfg"
awk '
	/^\tif \(uri==myself\) \{/ && !done {
		print "\t# carrier trunk (busy-trunk scenario): the trusted peer 10.77.0.11 calls the DID block +1555010xxxx,"
		print "\t# relayed to the PBX 10.77.0.12:5060 without authentication"
		print "\tif (is_method(\"INVITE\") && $si == \"10.77.0.11\" && $rU =~ \"^[+]1555010[0-9]{4}$\") {"
		print "\t\t$du = \"sip:10.77.0.12:5060\";"
		print "\t\tif (!t_relay()) {"
		print "\t\t\tsl_reply_error();"
		print "\t\t}"
		print "\t\texit;"
		print "\t}"
		done = 1
	}
	{ print }
' "$LAB_DIR/kamailio.cfg" >"$cfg"
grep -q 'carrier trunk' "$cfg"
lab_kamailio "" "" "" "$cfg"
S="$LAB_DIR/sipp"
inf="$LAB_TMP/dids.csv"
{
	echo SEQUENTIAL
	for i in $(seq 0 $((CALLS - 1))); do
		# caller: a fixed pseudo-random NANP number per call (deterministic)
		printf '+15550%06d;+1%03d%03d%04d\n' $((100000 + i)) $((201 + (i * 37) % 700)) $((201 + (i * 91) % 700)) $(((i * 7919) % 10000))
	done
} >"$inf"
chmod 644 "$inf"
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp_bg ph2 -sf "$S/uas-trunk.xml" -i 10.77.0.12 -p 5060 -mi 10.77.0.12 -mp 20000 \
	-key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -lost 2 -m "$CALLS"
UAS=$LAB_LAST_PID
sleep 0.5
# the peer's registrations, each from a new source port, spread over the call load
(
	for port in 5081 5082 5083 5084 5085 5086; do
		lab_sipp ph1 -sf "$S/register.xml" 10.77.0.1:5060 -i 10.77.0.11 -p "$port" -s 1001 -au 1001 -ap tiger42 -m 1
		sleep 3
	done
) &
REG=$!
lab_sipp ph1 -sf "$S/uac-trunk.xml" 10.77.0.1:5060 -i 10.77.0.11 -p 5070 -mi 10.77.0.11 -mp 16000 \
	-inf "$inf" -d 1000 -r "$RATE" -rp 1000 -l "$LIMIT" -m "$CALLS" -timeout 120s || true
wait "$REG"
lab_wait "$UAS" 20
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
