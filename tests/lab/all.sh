#!/usr/bin/env bash
# Re-record every lab capture (pcaps/lab-*.pcap), one scenario after another. Run as root.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"
for s in calls register svmap svwar svcrack erspan registration-hijack ipv6 toll-fraud invite-flood register-flood arp-spoof bye-third-party rtp-injection media-redirect \
	srtp-downgrade sdes-cleartext tls-sdes tls-cert-change baresip-media baresip-tls-plain sip-ws weak-tls \
	dtls-mismatch tls-mitm syn-flood busy-trunk rtp-flood malformed-sip; do
	"$dir/scenarios/$s.sh"
done
# attacks at scale and tool variants (issue 6): one lab session for all of them
"$dir/scenarios/attacks.sh"
MIRROR=vxlan "$dir/scenarios/remote-mirror.sh"
