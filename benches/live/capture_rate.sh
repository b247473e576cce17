#!/usr/bin/env bash
# Live capture rate: how many packets per second `callguard live` holds with no drops, on a veth pair in a
# network namespace this script creates (and removes, also on failure). tcpreplay plays a shipped capture,
# looped, at each rate; the sensor's final stats line says what it saw and what it dropped, by stage.
#
#   sudo benches/live/capture_rate.sh [RATE...]            # packets/s, or `top`; default: 100000 200000 400000 top
#   CONFIGS="--workers=1 --fanout=1 --fanout=2" ...        # sensor options to compare (default)
#
# Needs root, iproute2, tcpreplay and a release build (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=target/release/callguard
pcap=${PCAP:-pcaps/demo.pcap}
loops=${LOOPS:-20}
ns=cgrate
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(100000 200000 400000 top)
read -r -a configs <<< "${CONFIGS:---workers=1 --fanout=1 --fanout=2}"

cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add "$ns"
ip -n "$ns" link add cgra type veth peer name cgrb
for i in all default; do ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done
ip -n "$ns" link set cgra up
ip -n "$ns" link set cgrb up
out=$(mktemp -d)
per_loop=$("$bin" analyze "$pcap" --quiet --output - | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["capture"]["packets"])')
printf '%-14s %10s %12s %10s %10s %10s %10s\n' config rate achieved_pps sent seen kernel_drop queue_drop
for cfg in "${configs[@]}"; do
  for rate in "${rates[@]}"; do
    ip netns exec "$ns" "$bin" live -i cgrb "$cfg" --quiet --output "$out/live.json" &
    pid=$!
    sleep 0.7
    if [ "$rate" = top ]; then speed=(--topspeed); else speed=(--pps "$rate"); fi
    achieved=$(ip netns exec "$ns" tcpreplay -i cgra "${speed[@]}" --loop "$loops" "$pcap" 2>&1 | sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' | head -1)
    sleep 0.5
    kill -INT "$pid"
    wait "$pid"
    tail -1 "$out/live.json" | python3 -c '
import json, sys
c = json.load(sys.stdin)["stats"]["capture"]
print("%-14s %10s %12s %10d %10d %10d %10d" % (sys.argv[1], sys.argv[2], sys.argv[4], int(sys.argv[3]), c["packets"], c["kernel_drops"], c["queue_drops"]))
' "$cfg" "$rate" "$((per_loop * loops))" "$achieved"
  done
done
rm -rf "$out"
