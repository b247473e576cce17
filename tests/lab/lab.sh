# shellcheck shell=bash
# shellcheck disable=SC2034  # LAB_KEY_*, LAB_KAM_PID, LAB_LAST_PID are used by the scenario scripts
# callguard lab: a small switched LAN of network namespaces with a SPAN-like mirror for the sensor.
# Source this file from a scenario script (as root):
#
#   . "$(dirname "$0")/../lab.sh"
#   trap lab_down EXIT
#   lab_up [gw]
#   lab_record_start /tmp/x.pcap ; ... ; lab_record_stop
#
# Namespaces: cg-sw (bridge cgbr0), cg-pbx 10.77.0.1, cg-ph1 10.77.0.11, cg-ph2 10.77.0.12, cg-att 10.77.0.66,
# optionally cg-gw 10.77.0.254 (router to 10.78.0.0/24, which is blackholed), cg-sensor (cgmir1, capture only).
# Every host has MAC 02:77:00:00:00:NN (NN = last octet in hex) on its interface cgeth0, IPv6 off.
# Each bridge port's ingress is mirrored (tc u32 + mirred) to cgmir0 -> cgmir1, so a capture on cgmir1 sees
# every frame sent by any host exactly once. Traffic never leaves these namespaces.

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB_ROOT="$(cd "$LAB_DIR/../.." && pwd)"
LAB_NET=10.77.0
LAB_HOSTS=(pbx:1 ph1:11 ph2:12 att:66)
LAB_NSS=()
LAB_PIDS=()
LAB_TCPDUMP_PID=""
LAB_TMP=""
# SDES test keys (test material only, published here on purpose)
LAB_KEY_CALLER="inline:Y2FsbGd1YXJkLWxhYi1jYWxsZXIta2V5LTAwMDAw"
LAB_KEY_CALLEE="inline:Y2FsbGd1YXJkLWxhYi1jYWxsZWUta2V5LTAwMDAw"

lab_log() { printf '[lab %s] %s\n' "$(date +%T)" "$*" >&2; }

# in_ns NS CMD... : run CMD inside namespace NS (cg- prefix optional).
in_ns() {
	local ns=$1
	shift
	[[ $ns == cg-* ]] || ns="cg-$ns"
	ip netns exec "$ns" "$@"
}

# lab_bg NS CMD... : start CMD in the background inside NS, remember its PID (printed and in LAB_LAST_PID).
# Output goes to $LAB_TMP/<ns>-<n>.log.
lab_bg() {
	local ns=$1
	shift
	[[ $ns == cg-* ]] || ns="cg-$ns"
	local log
	log="$LAB_TMP/$ns-${#LAB_PIDS[@]}.log"
	ip netns exec "$ns" "$@" >"$log" 2>&1 9>&- &
	LAB_LAST_PID=$!
	LAB_PIDS+=("$LAB_LAST_PID")
	lab_log "started pid $LAB_LAST_PID in $ns: $* (log $log)"
}

# lab_stop PID : stop one process this library started (TERM, then KILL after 3 s).
lab_stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

lab_mac() { printf '02:77:00:00:00:%02x' "$1"; }

lab_ns_add() {
	local ns=$1
	ip netns add "$ns"
	LAB_NSS+=("$ns")
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
}

# lab_host NAME OCTET : namespace cg-NAME with cgeth0 = 10.77.0.OCTET, attached to the bridge as port cgpOCTET.
lab_host() {
	local n=$2 ns="cg-$1" port="cgp$2"
	lab_ns_add "$ns"
	ip -n cg-sw link add "$port" address "$(printf '02:77:00:00:01:%02x' "$n")" type veth \
		peer name cgeth0 address "$(lab_mac "$n")" netns "$ns"
	in_ns "$ns" sysctl -qw net.ipv6.conf.cgeth0.disable_ipv6=1
	in_ns cg-sw sysctl -qw "net.ipv6.conf.$port.disable_ipv6=1"
	ip -n cg-sw link set "$port" master cgbr0
	ip -n cg-sw link set "$port" up
	# SPAN: copy every frame the host sends (the port's ingress) to the mirror port.
	in_ns cg-sw tc qdisc add dev "$port" clsact
	in_ns cg-sw tc filter add dev "$port" ingress protocol all u32 match u32 0 0 \
		action mirred egress mirror dev "$LAB_MIRROR_DEV"
	ip -n "$ns" addr add "$LAB_NET.$n/24" dev cgeth0
	ip -n "$ns" link set cgeth0 up
}

# lab_up [gw] : build the network (and cg-gw when asked). Idempotent: tears down leftovers first.
lab_up() {
	# One lab at a time on a machine (the namespace names are fixed): wait for whoever holds the lab lock.
	# The lock is fd 9, released when this script exits; processes started with lab_bg do not inherit it.
	if [[ -z ${LAB_LOCKED:-} ]]; then
		exec 9>/tmp/callguard-lab.lock
		if ! flock -n 9; then
			lab_log "waiting for the lab lock (/tmp/callguard-lab.lock)"
			flock -w "${LAB_LOCK_WAIT:-1800}" 9 || { lab_log "lab lock not free after ${LAB_LOCK_WAIT:-1800} s"; exit 1; }
		fi
		LAB_LOCKED=1
	fi
	[[ -n ${LAB_NSS[*]} || -n $LAB_TMP ]] && lab_down
	lab_down_quiet
	LAB_TMP="$(mktemp -d /tmp/cglab.XXXXXX)"
	chmod 755 "$LAB_TMP"
	lab_ns_add cg-sw
	in_ns cg-sw sysctl -qw net.ipv4.ip_forward=0
	ip -n cg-sw link add cgbr0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	in_ns cg-sw sysctl -qw net.ipv6.conf.cgbr0.disable_ipv6=1
	ip -n cg-sw link set cgbr0 up
	lab_ns_add cg-sensor
	ip -n cg-sw link add cgmir0 address 02:77:00:00:02:00 type veth peer name cgmir1 address 02:77:00:00:02:01 netns cg-sensor
	in_ns cg-sw sysctl -qw net.ipv6.conf.cgmir0.disable_ipv6=1
	in_ns cg-sensor sysctl -qw net.ipv6.conf.cgmir1.disable_ipv6=1
	ip -n cg-sw link set cgmir0 arp off up
	ip -n cg-sensor link set cgmir1 arp off up
	lab_remote_mirror "${LAB_MIRROR:-}"
	local h
	for h in "${LAB_HOSTS[@]}"; do
		lab_host "${h%%:*}" "${h##*:}"
	done
	if [[ ${1:-} == gw ]]; then
		lab_host gw 254
		in_ns cg-gw sysctl -qw net.ipv4.ip_forward=1
		ip -n cg-gw route add blackhole 10.78.0.0/24
		ip -n cg-att route add 10.78.0.0/24 via "$LAB_NET.254"
	fi
	lab_log "lab up (tmp $LAB_TMP)"
}

# lab_remote_mirror [KIND] : with KIND empty, the bridge ports mirror straight to cgmir0 (a local SPAN). Otherwise
# the switch sends the mirrored frames to the sensor in a tunnel, as remote mirroring does: cgmir0 gets
# 192.0.2.1/30, the sensor's cgmir1 is 192.0.2.2 (no address in its namespace: the sensor only listens), and the
# ports mirror into the Linux tunnel device cgtun in cg-sw. KIND: erspan2 (ERSPAN type II, session 7, VLAN 0),
# erspan3 (type III), gretap (GRE with transparent Ethernet bridging, key 7), vxlan (VNI 7, UDP 4789: what
# cloud traffic mirroring sends). Jumbo MTU on the mirror link, so that no mirrored frame is fragmented.
LAB_MIRROR_DEV=cgmir0
lab_remote_mirror() {
	local kind=$1
	LAB_MIRROR_DEV=cgmir0
	[[ -n $kind ]] || return 0
	ip -n cg-sw link set cgmir0 mtu 9000
	ip -n cg-sensor link set cgmir1 mtu 9000
	ip -n cg-sw addr add 192.0.2.1/30 dev cgmir0
	ip -n cg-sw neigh replace 192.0.2.2 lladdr 02:77:00:00:02:01 dev cgmir0 nud permanent
	case $kind in
	erspan2) ip -n cg-sw link add cgtun type erspan seq key 7 local 192.0.2.1 remote 192.0.2.2 erspan_ver 1 erspan 7 ;;
	erspan3) ip -n cg-sw link add cgtun type erspan seq key 7 local 192.0.2.1 remote 192.0.2.2 erspan_ver 2 erspan_dir ingress erspan_hwid 3 ;;
	gretap) ip -n cg-sw link add cgtun type gretap key 7 local 192.0.2.1 remote 192.0.2.2 ;;
	vxlan) ip -n cg-sw link add cgtun type vxlan id 7 local 192.0.2.1 remote 192.0.2.2 dstport 4789 ;;
	*)
		lab_log "unknown LAB_MIRROR $kind"
		return 1
		;;
	esac
	ip -n cg-sw link set cgtun mtu 8000 up
	in_ns cg-sw sysctl -qw net.ipv6.conf.cgtun.disable_ipv6=1
	LAB_MIRROR_DEV=cgtun
	lab_log "remote mirror: $kind from 192.0.2.1 to the sensor's 192.0.2.2"
}

lab_down_quiet() {
	local pid ns
	[[ -n $LAB_TCPDUMP_PID ]] && lab_stop "$LAB_TCPDUMP_PID"
	LAB_TCPDUMP_PID=""
	[[ -n ${LAB_SENSOR_PID:-} ]] && lab_stop "$LAB_SENSOR_PID"
	LAB_SENSOR_PID=""
	for pid in "${LAB_PIDS[@]}"; do lab_stop "$pid"; done
	LAB_PIDS=()
	for ns in cg-sensor cg-gw cg-att cg-ph2 cg-ph1 cg-pbx cg-sw; do
		if ip netns list | grep -qw -- "$ns"; then
			# children of what we started (kamailio workers, ...): only processes inside our own namespaces
			for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
			ip netns del "$ns"
		fi
	done
	LAB_NSS=()
}

# lab_down : stop everything started here and delete every namespace (safe to call twice).
lab_down() {
	lab_down_quiet
	if [[ -n $LAB_TMP && -d $LAB_TMP && -z ${LAB_KEEP_TMP:-} ]]; then
		rm -rf "$LAB_TMP"
	fi
	LAB_TMP=""
	lab_log "lab down"
}

# lab_record_start FILE : capture every mirrored frame into FILE (pcap, full frames).
# With CALLGUARD_LIVE=/path/to/callguard set, lab_record_start also starts `callguard live` on the mirror port
# (writing EVE lines to CALLGUARD_LIVE_OUT), and lab_record_stop stops it with SIGINT and checks it exited 0:
# the live tests record and watch the same traffic, to compare live and offline findings. LAB_OUT_DIR redirects
# lab_save away from pcaps/.
LAB_SENSOR_PID=""
lab_record_start() {
	local file=$1 i
	if [[ -n ${CALLGUARD_LIVE:-} ]]; then
		# Not --quiet: the sensor says "capturing on" once its socket is open, which is what to wait for (a
		# fixed sleep is too short on a loaded machine); its summary goes to the same log at the end.
		ip netns exec cg-sensor "$CALLGUARD_LIVE" live -i cgmir1 --output "${CALLGUARD_LIVE_OUT:?}" \
			>"$LAB_TMP/sensor.log" 2>&1 &
		LAB_SENSOR_PID=$!
		for i in $(seq 100); do
			grep -q 'capturing on' "$LAB_TMP/sensor.log" && break
			kill -0 "$LAB_SENSOR_PID" 2>/dev/null || break
			sleep 0.1
		done
		grep -q 'capturing on' "$LAB_TMP/sensor.log" || {
			lab_log "callguard live did not start: $(tr '\n' ' ' <"$LAB_TMP/sensor.log")"
			return 1
		}
		lab_log "callguard live on cgmir1 (pid $LAB_SENSOR_PID) writing $CALLGUARD_LIVE_OUT"
	fi
	: >"$LAB_TMP/tcpdump.log"
	ip netns exec cg-sensor tcpdump -i cgmir1 -s 0 -B 16384 -U -n -Z root -w "$file" >"$LAB_TMP/tcpdump.log" 2>&1 &
	LAB_TCPDUMP_PID=$!
	for i in $(seq 50); do
		grep -q 'listening on' "$LAB_TMP/tcpdump.log" && break
		sleep 0.1
	done
	sleep 0.3
	lab_log "recording to $file (pid $LAB_TCPDUMP_PID)"
}

lab_record_stop() {
	sleep 1
	if [[ -n $LAB_TCPDUMP_PID ]]; then
		kill -INT "$LAB_TCPDUMP_PID" 2>/dev/null || true
		wait "$LAB_TCPDUMP_PID" 2>/dev/null || true
		LAB_TCPDUMP_PID=""
	fi
	lab_log "$(tr '\n' ' ' <"$LAB_TMP/tcpdump.log")"
	if [[ -n $LAB_SENSOR_PID ]]; then
		local st=0
		kill -INT "$LAB_SENSOR_PID" 2>/dev/null || true
		wait "$LAB_SENSOR_PID" || st=$?
		LAB_SENSOR_PID=""
		lab_log "callguard live exited $st: $(tr '\n' ' ' <"$LAB_TMP/sensor.log")"
		[[ $st -eq 0 ]] || return 1
	fi
}

# lab_save TMPFILE NAME : copy the capture to pcaps/lab-NAME.pcap and print its size and packet count.
lab_save() {
	local src=$1 dst="${LAB_OUT_DIR:-$LAB_ROOT/pcaps}/lab-$2.pcap"
	cp "$src" "$dst"
	chmod 644 "$dst"
	lab_log "wrote $dst: $(stat -c %s "$dst") bytes, $(tcpdump -r "$dst" -n 2>/dev/null | grep -c "^[0-9][0-9]:") frames"
}

# ---------------------------------------------------------------- servers

# lab_certs DIR TAG CN [IP] : self-signed RSA-2048 test certificate DIR/TAG.pem + DIR/TAG.key (test material only),
# subjectAltName DNS:CN and IP (default 10.77.0.1).
lab_certs() {
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -subj "/CN=$3/O=callguard lab" \
		-addext "subjectAltName=DNS:$3,IP:${4:-10.77.0.1}" -keyout "$1/$2.key" -out "$1/$2.pem" >/dev/null 2>&1
}

# lab_kamailio [CERT_CN] [CERT_TAG] [EXTRA] [CFG] : start kamailio in cg-pbx on UDP 10.77.0.1:5060 and TLS 1.2 :5061, with
# the certificate $LAB_TMP/kam/CERT_TAG.pem (self-signed, CN=CERT_CN; made on first use; another TAG = another
# key/cert). The connections kamailio opens itself (to a TLS Contact it has no connection to) are TLS 1.2 too and do
# not verify the phone's certificate. EXTRA: more configuration appended to the copy of kamailio.cfg (a route the
# scenario adds, e.g. an onreply_route that rewrites bodies). CFG: another configuration file to start from instead
# of kamailio.cfg (a scenario's variant of it, e.g. with a trunk route inserted); LAB_KAM_CFG does the same from the
# environment (CFG wins).
lab_kamailio() {
	local cn=${1:-pbx.lab.callguard} tag=${2:-cert-a} extra=${3:-} cfg=${4:-${LAB_KAM_CFG:-$LAB_DIR/kamailio.cfg}} dir="$LAB_TMP/kam"
	mkdir -p "$dir"
	cp "$cfg" "$dir/kamailio.cfg"
	[[ -z $extra ]] || printf '\n%s\n' "$extra" >>"$dir/kamailio.cfg"
	[[ -f $dir/$tag.pem ]] || lab_certs "$dir" "$tag" "$cn"
	cat >"$dir/tls.cfg" <<EOF2
[server:default]
method = TLSv1.2
verify_certificate = no
require_certificate = no
private_key = $dir/$tag.key
certificate = $dir/$tag.pem

[client:default]
method = TLSv1.2
verify_certificate = no
EOF2
	lab_bg pbx kamailio -DD -E -f "$dir/kamailio.cfg" -Y "$dir" -P "$dir/kamailio.pid" -m 64 -M 8
	LAB_KAM_PID=$LAB_LAST_PID
	local i
	for i in $(seq 50); do
		in_ns pbx ss -ltn | grep -q '10.77.0.1:5061' && break
		sleep 0.1
	done
	sleep 0.5
}

# lab_kamailio_ws : start kamailio in cg-pbx with kamailio-ws.cfg: SIP over plain WebSocket (ws://) on
# 10.77.0.1:8080 (RFC 7118), the same registrar users and record-routing as lab_kamailio. Needs the websocket
# module (package kamailio-websocket-modules).
lab_kamailio_ws() {
	local dir="$LAB_TMP/kam-ws" i
	mkdir -p "$dir"
	cp "$LAB_DIR/kamailio-ws.cfg" "$dir/kamailio.cfg"
	lab_bg pbx kamailio -DD -E -f "$dir/kamailio.cfg" -Y "$dir" -P "$dir/kamailio.pid" -m 64 -M 8
	LAB_KAM_PID=$LAB_LAST_PID
	for i in $(seq 50); do
		in_ns pbx ss -ltn | grep -q '10.77.0.1:8080' && break
		sleep 0.1
	done
	sleep 0.5
}

# lab_rtp_pcap FILE [SECONDS] [srtp] [ssrc=HEX] : a G.711 u-law RTP stream (20 ms packets) for sipp's
# play_pcap_audio (srtp: SRTP-looking payload, random bytes + 10-byte tag; ssrc=: another SSRC than 0x0ca11ab5).
lab_rtp_pcap() {
	/usr/bin/python3 "$LAB_DIR/rtp_pcap.py" "$1" "${2:-3}" "${@:3}"
}

# lab_sipp NS ARGS... : run sipp in the foreground inside NS (scenario files are in tests/lab/sipp/).
# -nostdin/-bg are not used; -trace_err only. Returns sipp's exit status.
lab_sipp() {
	local ns=$1
	shift
	in_ns "$ns" sipp -nostdin -trace_err -error_file "$LAB_TMP/sipp-$ns-err.log" "$@" >>"$LAB_TMP/sipp-$ns.out" 2>&1
}

# lab_sipp_bg NS ARGS... : the same in the background (PID in LAB_LAST_PID).
lab_sipp_bg() {
	local ns=$1
	shift
	lab_bg "$ns" sipp -nostdin -trace_err -error_file "$LAB_TMP/sipp-$ns-bg-err.log" "$@"
}

# lab_wait PID [SECONDS] : wait for a process started with lab_bg to end by itself (default 60 s), else stop it.
lab_wait() {
	local pid=$1 secs=${2:-60} _i
	for _i in $(seq $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	lab_stop "$pid"
}

# ---------------------------------------------------------------- baresip

# lab_baresip NS IP ACCOUNT [RTP_PORTS] [RTCP_MUX] [EXTRA] : start a headless baresip 1.0.0 in NS with a config
# generated in a new directory under $LAB_TMP (PID in LAB_LAST_PID, directory in LAB_BARESIP_DIR, stdout in
# LAB_BARESIP_LOG): SIP on UDP and TCP IP:5060 (and TLS IP:5061), one account line ACCOUNT (e.g.
# "<sip:1001@10.77.0.1>;auth_pass=...;audio_codecs=PCMU;mediaenc=srtp-mand"), RTP ports in RTP_PORTS (default
# 16000-16099; "N-N+1" pins RTP to N and RTCP to N+1), RTCP_MUX yes|no (default no), EXTRA more config lines
# (e.g. "sip_certificate FILE": the PEM, certificate then key, its TLS listener on IP:5061 presents). Audio: the
# `ausine` tone source (440 Hz; it needs 48 kHz stereo) and `aubridge` as the speaker (there is no null player).
# Control: `ctrl_tcp` on 127.0.0.1:4444 inside NS (each namespace has its own loopback), driven with
# lab_baresip_ctrl (`menu` provides dial/hangup/quit). Modules: g711, opus, srtp, dtls_srtp. baresip 1.0.0 picks
# the media encryption from the account only (a callee without `mediaenc` answers an RTP/SAVP offer with 488), so
# both ends need the call's setting.
lab_baresip() {
	local ns=$1 ip=$2 account=$3 ports=${4:-16000-16099} mux=${5:-no} extra=${6:-} dir
	dir="$(mktemp -d "$LAB_TMP/baresip-$ns.XXXX")"
	chmod 755 "$dir"
	cat >"$dir/config" <<EOF2
poll_method		epoll
sip_listen		$ip:5060
call_local_timeout	120
call_max_calls		4
audio_player		aubridge,nil
audio_source		ausine,440
audio_alert		aubridge,nil
ausrc_srate		48000
ausrc_channels		2
auplay_srate		48000
auplay_channels		2
audio_level		no
ausrc_format		s16
auplay_format		s16
auenc_format		s16
audec_format		s16
rtp_tos			184
rtp_ports		$ports
rtcp_mux		$mux
jitter_buffer_delay	5-10
rtp_stats		no
module_path		/usr/lib/baresip/modules
module			opus.so
module			g711.so
module			ausine.so
module			aubridge.so
module			srtp.so
module			dtls_srtp.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:4444
opus_bitrate		28000
EOF2
	[[ -z $extra ]] || printf '%s\n' "$extra" >>"$dir/config"
	printf '%s\n' "$account" >"$dir/accounts"
	: >"$dir/contacts"
	LAB_BARESIP_DIR=$dir
	[[ $ns == cg-* ]] || ns="cg-$ns"
	LAB_BARESIP_LOG="$LAB_TMP/$ns-${#LAB_PIDS[@]}.log"
	lab_bg "$ns" baresip -f "$dir"
}

# lab_baresip_registered [SECONDS] : wait (default 15 s) until the baresip started last logs its "200 OK" to the
# REGISTER (baresip prints it on stdout), fail otherwise. Loading dtls_srtp (certificate generation) takes a while.
lab_baresip_registered() {
	local secs=${1:-15} _i
	for _i in $(seq $((secs * 10))); do
		grep -q ' 200 OK ' "$LAB_BARESIP_LOG" 2>/dev/null && return 0
		sleep 0.1
	done
	lab_log "baresip did not register: $(tr '\n' ' ' <"$LAB_BARESIP_LOG")"
	return 1
}

# lab_baresip_ctrl NS STEP... : talk to the baresip in NS over ctrl_tcp (steps: cmd:COMMAND[:PARAMS],
# wait:EVENT[:SECONDS], sleep:SECONDS; see baresip_ctrl.py). The messages go to $LAB_TMP/baresip-ctrl.log.
lab_baresip_ctrl() {
	local ns=$1
	shift
	in_ns "$ns" /usr/bin/python3 "$LAB_DIR/baresip_ctrl.py" 4444 "$@" >>"$LAB_TMP/baresip-ctrl.log" 2>&1
}
