#!/usr/bin/env bash
# Weak TLS on the SIP-TLS port: an `openssl s_server` on the PBX (10.77.0.1:5061) with a weak certificate chain,
# RSA-1024 leaf CN=pbx.lab.callguard (SAN DNS:pbx.lab.callguard, IP:10.77.0.1) signed with SHA-1 by a lab CA
# (RSA-2048, SHA-256, sent in the chain), that accepts TLS 1.0 to 1.2 and also offers the NULL-encryption and
# anonymous suites (security level 0; no TLS 1.3, so the certificates stay visible). Four `openssl s_client`
# handshakes from the phones, each sending nothing and closing:
#   1. ph1 10.77.0.11, SNI pbx.lab.callguard, TLS 1.0 only: TLS 1.0, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA (0xc014);
#   2. ph2 10.77.0.12, SNI pbx.lab.callguard, only ECDHE-RSA-NULL-SHA: TLS 1.2, TLS_ECDHE_RSA_WITH_NULL_SHA
#      (0xc010): authenticated, not encrypted (the SIP would cross in cleartext);
#   3. ph1 again, SNI voip.example.net (a name the certificate does not carry), TLS 1.2 defaults:
#      TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (0xc030);
#   4. ph2 again, SNI pbx.lab.callguard, only AECDH-AES256-SHA: TLS 1.2, TLS_ECDH_anon_WITH_AES_256_CBC_SHA
#      (0xc019): encrypted, but no certificate and no server authentication at all.
# 3DES and RC4 cannot be offered: this OpenSSL 3.0.22 build has no 3DES suites for TLS at any security level
# (`openssl ciphers -V 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'` lists none) and keeps RC4 in the legacy provider. Both
# certificates are made at run time.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=weak-tls

# weak_certs DIR : the lab CA (RSA-2048, SHA-256) and the PBX leaf it signs with SHA-1 (RSA-1024), test material.
weak_certs() {
	local d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -subj "/CN=callguard lab CA/O=callguard lab" \
		-keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1
	openssl req -newkey rsa:1024 -nodes -subj "/CN=pbx.lab.callguard/O=callguard lab" \
		-keyout "$d/leaf.key" -out "$d/leaf.csr" >/dev/null 2>&1
	printf 'subjectAltName=DNS:pbx.lab.callguard,IP:10.77.0.1\n' >"$d/leaf.ext"
	openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -sha1 -days 30 \
		-extfile "$d/leaf.ext" -out "$d/leaf.pem" >/dev/null 2>&1
}

# client NS SNI ARGS... : one handshake to the PBX that sends nothing and closes (close_notify, FIN).
client() {
	local ns=$1 sni=$2
	shift 2
	in_ns "$ns" openssl s_client -connect 10.77.0.1:5061 -servername "$sni" "$@" </dev/null \
		>>"$LAB_TMP/s_client.log" 2>&1
	sleep 0.5
}

lab_up
d="$LAB_TMP/weak"
mkdir -p "$d"
weak_certs "$d"
# -www: answers HTTP only if asked, never reads stdin; exits after four connections.
lab_bg pbx openssl s_server -accept 10.77.0.1:5061 -naccept 4 -www -cert "$d/leaf.pem" -key "$d/leaf.key" \
	-cert_chain "$d/ca.pem" -no_tls1_3 -min_protocol TLSv1 -cipher 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'
server=$LAB_LAST_PID
for _ in $(seq 50); do
	in_ns pbx ss -ltn | grep -q '10.77.0.1:5061' && break
	sleep 0.1
done
lab_record_start "$LAB_TMP/cap.pcap"
client ph1 pbx.lab.callguard -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
client ph2 pbx.lab.callguard -tls1_2 -cipher 'ECDHE-RSA-NULL-SHA:@SECLEVEL=0'
client ph1 voip.example.net -tls1_2 -cipher 'DEFAULT:@SECLEVEL=0'
client ph2 pbx.lab.callguard -tls1_2 -cipher 'AECDH-AES256-SHA:@SECLEVEL=0'
lab_record_stop
lab_wait "$server" 2
for c in ca leaf; do
	lab_log "$c: $(openssl x509 -in "$d/$c.pem" -noout -subject -fingerprint -sha256)"
done
grep -E '^(New|    Protocol|    Cipher)' "$LAB_TMP/s_client.log" | while read -r l; do lab_log "s_client: $l"; done
lab_save "$LAB_TMP/cap.pcap" "$NAME"
