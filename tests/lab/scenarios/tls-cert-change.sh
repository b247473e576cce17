#!/usr/bin/env bash
# TLS certificate change: 1001 (ph1 10.77.0.11) registers over TLS 1.2 to kamailio 10.77.0.1:5061 (SNI
# pbx.lab.callguard) and gets certificate A; kamailio is restarted with a new key and self-signed certificate B
# (same subject CN=pbx.lab.callguard, same SAN, different fingerprint); ~3 s later 1001 and then 1002
# (ph2 10.77.0.12) register again over TLS and get certificate B. Both certificates are made at run time.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=tls-cert-change

lab_up
lab_kamailio pbx.lab.callguard cert-a
lab_certs "$LAB_TMP/kam" cert-b pbx.lab.callguard
lab_record_start "$LAB_TMP/cap.pcap"
in_ns ph1 /usr/bin/python3 "$LAB_DIR/sip_tls.py" reg 1001 tiger42 10.77.0.11
sleep 1
lab_stop "$LAB_KAM_PID"
lab_kamailio pbx.lab.callguard cert-b
sleep 1
in_ns ph1 /usr/bin/python3 "$LAB_DIR/sip_tls.py" reg 1001 tiger42 10.77.0.11
in_ns ph2 /usr/bin/python3 "$LAB_DIR/sip_tls.py" reg 1002 orchid77 10.77.0.12
lab_record_stop
for c in cert-a cert-b; do
	lab_log "$c: $(openssl x509 -in "$LAB_TMP/kam/$c.pem" -noout -fingerprint -sha256)"
done
lab_save "$LAB_TMP/cap.pcap" "$NAME"
