#!/usr/bin/env bash
# Real media from a real UA: baresip 1.0.0 as 1001 (ph1 10.77.0.11:5060) and 1002 (ph2 10.77.0.12:5060), both
# registering to kamailio (pbx 10.77.0.1:5060, plain UDP, digest auth with qop=auth: 401 then 200), then three calls
# 1001 -> 1002 through the record-routing proxy, one after another, each ~3 s of a 440 Hz tone (ausine) both ways,
# hung up by the caller (BYE from ph1):
#   1. plain RTP/AVP, PCMU only (160-byte payloads every 20 ms), RTP ph1:16000 <-> ph2:20000, RTCP on +1;
#   2. SDES-SRTP mandatory (mediaenc=srtp-mand): RTP/SAVP with a=crypto AES_CM_128_HMAC_SHA1_80 in the INVITE and
#      in the 200 OK, in cleartext SIP (keys exposed); PCMU, SRTP payloads 160 + 10-byte tag, ph1:16010 <-> ph2:20010;
#   3. DTLS-SRTP (mediaenc=dtls_srtp): UDP/TLS/RTP/SAVPF with a=fingerprint, opus/48000/2 (payload type 96), RTCP
#      multiplexed (a=rtcp-mux), DTLS 1.2 handshake on the media 5-tuple ph1:16020 <-> ph2:20020 (the callee is
#      the DTLS client), then SRTP.
#
# How: baresip 1.0.0 takes the media encryption and codecs from the account (a callee without `mediaenc` answers
# an RTP/SAVP offer with 488 "no common codecs"), and several accounts for one user would each register their own
# Contact (kamailio would fork the INVITE to all of them). So each call gets a fresh pair of phones: both baresip
# processes are started with that call's account line (mediaenc, audio_codecs, RTP port pair), register, make the
# call over ctrl_tcp (tests/lab/baresip_ctrl.py), and quit, which de-registers them (REGISTER expires=0, 401, 200).
# Every call thus has its own REGISTER exchanges and its own fixed RTP ports.
#
# Call 3 multiplexes RTCP: with RTP and RTCP on separate ports, baresip runs two DTLS handshakes, and the callee's
# first ClientHello often reaches the caller before the caller has processed the 200 OK (it goes direct, the 200 OK
# through the proxy) and is lost (retransmitted 1 s later). When the RTCP handshake wins that race and the RTP one
# does not, baresip 1.0.0 already sends the RTP for that second in cleartext (no SRTP context yet: identical
# payloads, no tag), so the capture would depend on timing. With rtcp-mux there is one handshake and no media
# before it completes (the call's audio then starts 0 or 1 s after the 200 OK; the script waits for CALL_MENC).
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=baresip-media

# call N MEDIAENC CODEC RTP_PORT_PH1 RTP_PORT_PH2 RTCP_MUX : one call with a fresh pair of baresip phones.
call() {
	local n=$1 menc=$2 codec=$3 p1=$4 p2=$5 mux=$6 enc="" wait_secure=() b1 b2
	if [[ -n $menc ]]; then
		enc=";mediaenc=$menc"
		wait_secure=(wait:CALL_MENC:10)
	fi
	lab_log "call $n: mediaenc=${menc:-none} codec=$codec ph1:$p1 ph2:$p2 rtcp_mux=$mux"
	lab_baresip ph2 10.77.0.12 "<sip:1002@10.77.0.1>;auth_pass=orchid77;answermode=auto;audio_codecs=$codec$enc" \
		"$p2-$((p2 + 1))" "$mux"
	b2=$LAB_LAST_PID
	lab_baresip_registered
	lab_baresip ph1 10.77.0.11 "<sip:1001@10.77.0.1>;auth_pass=tiger42;audio_codecs=$codec$enc" \
		"$p1-$((p1 + 1))" "$mux"
	b1=$LAB_LAST_PID
	lab_baresip_registered
	lab_baresip_ctrl ph1 cmd:dial:sip:1002@10.77.0.1 wait:CALL_ESTABLISHED:10 "${wait_secure[@]}" sleep:3 \
		cmd:hangup wait:CALL_CLOSED:5
	sleep 0.5
	# quit de-registers (expires=0, digest auth again) and exits
	lab_baresip_ctrl ph1 cmd:quit
	lab_wait "$b1" 5
	lab_baresip_ctrl ph2 cmd:quit
	lab_wait "$b2" 5
	sleep 0.5
}

lab_up
lab_kamailio
lab_record_start "$LAB_TMP/cap.pcap"
call 1 "" PCMU/8000/1 16000 20000 no
call 2 srtp-mand PCMU/8000/1 16010 20010 no
call 3 dtls_srtp opus/48000/2 16020 20020 yes
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
