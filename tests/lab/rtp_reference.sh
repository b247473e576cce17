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
