#!/usr/bin/env bash
# See attacks.sh: records pcaps/lab-flood-distributed.pcap.
exec "$(dirname "$0")/attacks.sh" flood-distributed
