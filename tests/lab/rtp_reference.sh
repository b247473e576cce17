#!/usr/bin/env bash
# Records tshark's RTP stream statistics (`-z rtp,streams`) for the captures that sensor/tests/rtp_stats.rs
# checks our per-stream figures against, into sensor/tests/fixtures/rtp_streams/<capture>.txt. The outputs are
# committed, so the test needs no tshark; re-run this after re-recording a capture, or to compare another tshark
# version (the version is the first line of each file). Needs tshark (Debian: apt-get install tshark), no root.
#
#   tests/lab/rtp_reference.sh            # all captures below
#   tests/lab/rtp_reference.sh lab-calls  # one
#
# Heuristic RTP is on, so streams are found without SDP; a capture whose RTP the heuristic misses would get a
# `-d udp.port==N,rtp` in DECODE_AS below (none needs one today: the SDP in each capture sets up its streams too).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/sensor/tests/fixtures/rtp_streams"
CAPTURES=(calls-udp lab-calls lab-rtp-injection lab-arp-spoof)
declare -A DECODE_AS=()

command -v tshark >/dev/null || { echo "rtp_reference.sh: tshark not found (apt-get install tshark)" >&2; exit 1; }
[ "$#" -gt 0 ] && CAPTURES=("$@")
mkdir -p "$OUT"
VERSION="$(tshark --version 2>/dev/null | head -n 1)"
for name in "${CAPTURES[@]}"; do
	pcap="$ROOT/pcaps/$name.pcap"
	[ -f "$pcap" ] || { echo "rtp_reference.sh: $pcap not found" >&2; exit 1; }
	args=(-r "$pcap" -q -o rtp.heuristic_rtp:TRUE -z "rtp,streams")
	for port in ${DECODE_AS[$name]:-}; do
		args+=(-d "udp.port==$port,rtp")
	done
	{
		echo "# $VERSION"
		echo "# tshark ${args[*]/#$ROOT\//}"
		# tshark warns on stderr when run as root; only the table goes to the file.
		tshark "${args[@]}" 2>/dev/null
	} >"$OUT/$name.txt"
	echo "wrote $OUT/$name.txt"
done

# lab-calls' three calls reuse the same ports and SSRC (sipp replays one RTP file), so tshark lists one stream per
# direction for the whole capture, while callguard splits a stream where its sender restarts its sequence numbers
# (one stream per call). tshark's figures per call come from a read filter on each call's time window (INVITE to
# the BYE's answer): lab-calls.call<N>.txt.
if [ "$#" -eq 0 ] || [ "$1" = lab-calls ]; then
	n=0
	for window in "0 5.3" "5.3 9.3" "9.3 1000"; do
		set -- $window
		n=$((n + 1))
		args=(-r "$ROOT/pcaps/lab-calls.pcap" -q -2 -R "frame.time_relative >= $1 && frame.time_relative < $2"
			-o rtp.heuristic_rtp:TRUE -z "rtp,streams")
		{
			echo "# $VERSION"
			echo "# tshark ${args[*]/#$ROOT\//}"
			tshark "${args[@]}" 2>/dev/null
		} >"$OUT/lab-calls.call$n.txt"
		echo "wrote $OUT/lab-calls.call$n.txt"
	done
fi
