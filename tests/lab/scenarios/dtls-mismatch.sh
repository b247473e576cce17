#!/usr/bin/env bash
# DTLS-SRTP fingerprint mismatch: the SDP answer's a=fingerprint is swapped on its way, as a man in the middle on
# the signalling path would swap it. baresip 1.0.0 on both phones (as call 3 of baresip-media: mediaenc=dtls_srtp,
# opus/48000/2, rtcp-mux, ph1 10.77.0.11:16020 <-> ph2 10.77.0.12:20020), 1001 calls 1002 through kamailio
# (10.77.0.1:5060, plain UDP). kamailio's onreply_route rewrites every `a=fingerprint:SHA-256 ...` line of a 2xx
# with SDP to a fixed fingerprint (the SHA-256 of the text "callguard lab attacker", the certificate of no one):
# the 200 OK leaves ph2 with ph2's real fingerprint and reaches ph1 with the swapped one. The offer is not touched.
# On the media 5-tuple the DTLS handshake runs as usual (ph2, a=setup:active, is the DTLS client); each side sends
# its own self-signed certificate, and ph2's no longer matches what ph1 was told. The caller hangs up after 3 s
# (what baresip does with the failed verification is in the log; the capture is the point).
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=dtls-mismatch

FAKE_FP=$(printf 'callguard lab attacker' | sha256sum | cut -c1-64 | tr 'a-f' 'A-F' | sed 's/../&:/g; s/:$//')
SWAP_FINGERPRINT="onreply_route {
	if (status =~ \"^2[0-9][0-9]\$\" && has_body(\"application/sdp\")) {
		subst_body('/a=fingerprint:SHA-256 [0-9A-Fa-f:]+/a=fingerprint:SHA-256 $FAKE_FP/g');
	}
}"

lab_up
lab_kamailio pbx.lab.callguard cert-a "$SWAP_FINGERPRINT"
lab_record_start "$LAB_TMP/cap.pcap"
enc=";mediaenc=dtls_srtp;audio_codecs=opus/48000/2"
lab_baresip ph2 10.77.0.12 "<sip:1002@10.77.0.1>;auth_pass=orchid77;answermode=auto$enc" 20020-20021 yes
b2=$LAB_LAST_PID
lab_baresip_registered
lab_baresip ph1 10.77.0.11 "<sip:1001@10.77.0.1>;auth_pass=tiger42$enc" 16020-16021 yes
b1=$LAB_LAST_PID
ph1_log=$LAB_BARESIP_LOG
lab_baresip_registered
# The call may end by itself when the caller rejects the certificate: a failed hangup is not a failed scenario.
lab_baresip_ctrl ph1 cmd:dial:sip:1002@10.77.0.1 wait:CALL_ESTABLISHED:10 sleep:3 cmd:hangup wait:CALL_CLOSED:5 ||
	lab_log "the call ended before the hangup (see $LAB_TMP/baresip-ctrl.log)"
sleep 0.5
lab_baresip_ctrl ph1 cmd:quit || true
lab_wait "$b1" 5
lab_baresip_ctrl ph2 cmd:quit || true
lab_wait "$b2" 5
sleep 0.5
lab_record_stop
lab_log "swapped-in fingerprint: $FAKE_FP"
grep -ihE 'dtls|fingerprint|verif|menc' "$ph1_log" | head -20 | while read -r l; do lab_log "ph1: $l"; done
lab_save "$LAB_TMP/cap.pcap" "$NAME"
