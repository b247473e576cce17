#!/usr/bin/env bash
# Media redirect: 1002 (ph2 10.77.0.12, sipp uas) registers; 1001 (ph1 10.77.0.11, sipp uac) calls it twice through
# the record-routing proxy kamailio 10.77.0.1, PCMU RTP both ways (caller ph1:16000 SSRC 0x0ca11ab5, callee
# ph2:20000 SSRC 0x0ca11ab6, each side playing its own file to the address the other side's latest SDP names).
# Call 1 (benign): 3 s in, a re-INVITE puts the call on hold (same address, a=sendonly), 3 s later another resumes
# it (a=sendrecv); BYE 3 s later. Call 2 (the redirect): 3 s in, a re-INVITE moves the caller's media to
# 10.78.0.99:30000, outside the parties' 10.77.0.0/24: the callee sends its audio there (via the router cg-gw,
# which blackholes 10.78.0.0/24, so nothing leaves the lab); 3 s later a re-INVITE moves it back to ph1:16000; BYE
# 3 s later. (sipp keeps sending during the hold: it does not implement a=sendonly.)
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=media-redirect

lab_up gw
ip -n cg-ph2 route add 10.78.0.0/24 via "$LAB_NET.254"
lab_kamailio
lab_rtp_pcap "$LAB_TMP/caller.pcap" 10
lab_rtp_pcap "$LAB_TMP/callee.pcap" 10 ssrc=0ca11ab6
S="$LAB_DIR/sipp"
lab_record_start "$LAB_TMP/cap.pcap"
lab_sipp ph2 -sf "$S/register.xml" 10.77.0.1:5060 -i 10.77.0.12 -p 5060 -s 1002 -au 1002 -ap orchid77 -m 1
lab_sipp_bg ph2 -sf "$S/uas-reinvite.xml" -i 10.77.0.12 -p 5060 -mi 10.77.0.12 -mp 20000 \
	-key rtp_pcap "$LAB_TMP/callee.pcap" -m 2
UAS=$LAB_LAST_PID
sleep 0.5
uac() {
	lab_sipp ph1 -sf "$S/uac-reinvite.xml" 10.77.0.1:5060 -i 10.77.0.11 -p 5060 -mi 10.77.0.11 -mp 16000 \
		-s 1002 -key caller 1001 -key rtp_pcap "$LAB_TMP/caller.pcap" -m 1 "$@"
}
# call 1: hold and resume
uac -key reinv1_ip 10.77.0.11 -key reinv1_port 16000 -key reinv1_extra a=sendonly \
	-key reinv2_ip 10.77.0.11 -key reinv2_port 16000 -key reinv2_extra a=sendrecv
sleep 1
# call 2: the caller's media moved outside the parties' networks, then back
uac -key reinv1_ip 10.78.0.99 -key reinv1_port 30000 -key reinv1_extra a=sendrecv \
	-key reinv2_ip 10.77.0.11 -key reinv2_port 16000 -key reinv2_extra a=sendrecv
lab_wait "$UAS" 10
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
