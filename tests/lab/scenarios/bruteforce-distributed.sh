#!/usr/bin/env bash
# See attacks.sh: records pcaps/lab-bruteforce-distributed.pcap.
exec "$(dirname "$0")/attacks.sh" bruteforce-distributed
