#!/usr/bin/env bash
# Hidden signalling, plain media, from a real UA: baresip 1.0.0 as 1002 (ph2 10.77.0.12) and 1001 (ph1 10.77.0.11)
# register to kamailio over TLS 1.2 (account <sip:100N@10.77.0.1;transport=tls>, outbound proxy
# sip:10.77.0.1:5061;transport=tls; 401 then 200), then 1001 calls 1002 over TLS and the call carries PLAIN RTP
# (no mediaenc): RTP/AVP, PCMU only (160-byte payloads every 20 ms), ph1:16000 <-> ph2:20000, RTCP on +1, ~3 s of
# a 440 Hz tone (ausine) both ways, hung up by the caller; both phones then quit, which de-registers them (over TLS).
# On the wire: TLS to port 5061 only (no cleartext SIP at all), plain PCMU RTP and RTCP between the phones.
#
# TLS connections: each phone connects to 10.77.0.1:5061 (kamailio's self-signed certificate CN=pbx.lab.callguard).
# baresip 1.0.0 (libre 1.1.0) does not verify the server certificate at all (there is no sip_verify_server in
# this version; libre only verifies when told to), so the lab's self-signed certificate needs no setting. baresip
# registers its listening address as Contact (10.77.0.12:5061;transport=tls), not the port of its connection, and
# kamailio (no connection aliases) opens a new TLS 1.2 connection 10.77.0.1 -> 10.77.0.12:5061 to deliver the
# INVITE and the BYE: so each phone also listens on TLS with its own self-signed certificate (sip_certificate,
# CN=ph1/ph2.lab.callguard; kamailio does not verify it). ph1's listener is never contacted (the caller hangs up).
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=baresip-tls-plain
PROXY='outbound="sip:10.77.0.1:5061;transport=tls"'

lab_up
lab_kamailio pbx.lab.callguard
# the phones' TLS server certificates (test material only): certificate and key in one PEM file for baresip
certs="$LAB_TMP/phones"
mkdir -p "$certs"
for p in ph1:11 ph2:12; do
	lab_certs "$certs" "${p%%:*}" "${p%%:*}.lab.callguard" "10.77.0.${p##*:}"
	cat "$certs/${p%%:*}.pem" "$certs/${p%%:*}.key" >"$certs/${p%%:*}-sip.pem"
done
lab_record_start "$LAB_TMP/cap.pcap"
lab_baresip ph2 10.77.0.12 \
	"<sip:1002@10.77.0.1;transport=tls>;auth_pass=orchid77;answermode=auto;audio_codecs=PCMU/8000/1;$PROXY" \
	20000-20001 no "sip_certificate		$certs/ph2-sip.pem"
B2=$LAB_LAST_PID
lab_baresip_registered
lab_baresip ph1 10.77.0.11 \
	"<sip:1001@10.77.0.1;transport=tls>;auth_pass=tiger42;audio_codecs=PCMU/8000/1;$PROXY" \
	16000-16001 no "sip_certificate		$certs/ph1-sip.pem"
B1=$LAB_LAST_PID
lab_baresip_registered
lab_baresip_ctrl ph1 cmd:dial:sip:1002@10.77.0.1 wait:CALL_ESTABLISHED:10 sleep:3 cmd:hangup wait:CALL_CLOSED:5
sleep 0.5
# quit de-registers (expires=0, digest auth again) and exits
lab_baresip_ctrl ph1 cmd:quit
lab_wait "$B1" 5
lab_baresip_ctrl ph2 cmd:quit
lab_wait "$B2" 5
sleep 0.5
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
