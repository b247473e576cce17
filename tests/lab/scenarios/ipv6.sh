#!/usr/bin/env bash
# The lab over IPv6 only (fd77::/64 on the same bridge and mirror; every SIP and RTP packet is IPv6):
# 1. 1002 registers from ph2 [fd77::12]:5060 and 1001 from ph1 [fd77::11]:5060 to kamailio [fd77::1]:5060 (digest
#    auth: 401, then 200), and refresh.
# 2. A call 1001 -> 1002 through the record-routing kamailio with ~3 s of PCMU RTP both ways (c=IN IP6): cleartext
#    signalling and media.
# 3. The attacker [fd77::66]:5070 fails three times for 1001 (403), then registers 1001 with the right password
#    and a Contact on itself: registration-hijack after failures.
# 4. svwar -6 enumerates extensions 990-1010 with REGISTER from [fd77::66]: extension-enumeration and
#    scanner-user-agent.
# 5. 35 s after 1002's first registration (registration-hijack's learning period), the attacker registers 1002
#    with its right password and no failure from [fd79::66], a /64 that 1002 never registered from (kamailio
#    reaches it on-link): registration-hijack from an unseen network.
set -euo pipefail
# shellcheck source=../lab.sh
. "$(dirname "$0")/../lab.sh"
# svwar 0.3.3 reads an IPv6 literal target as a URL scheme ("Invalid protocol scheme: fd77"): it gets a host name,
# from the namespace's own hosts file (ip netns exec bind-mounts /etc/netns/NAME/hosts over /etc/hosts), and the
# literal as its SIP domain.
cleanup() {
	rm -rf /etc/netns/cg-att
	lab_down
}
trap cleanup EXIT
NAME=ipv6

lab_up
# IPv6 on the hosts' interfaces only (the bridge and the mirror stay layer 2); no duplicate address detection, so
# the addresses are usable at once.
for h in pbx:1 ph1:11 ph2:12 att:66; do
	ns=${h%%:*}
	in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
		net.ipv6.conf.cgeth0.disable_ipv6=0 net.ipv6.conf.cgeth0.accept_dad=0 net.ipv6.conf.lo.disable_ipv6=0
	in_ns "$ns" ip -6 addr add "fd77::${h##*:}/64" dev cgeth0 nodad
done
in_ns att ip -6 addr add fd79::66/128 dev cgeth0 nodad
in_ns pbx ip -6 route add fd79::/64 dev cgeth0
sed -e 's/^listen=udp:10.77.0.1:5060$/&\nlisten=udp:[fd77::1]:5060/' -e 's/^alias="10.77.0.1"$/&\nalias="[fd77::1]"/' \
	"$LAB_DIR/kamailio.cfg" >"$LAB_TMP/kamailio-v6.cfg"
grep -q 'fd77::1' "$LAB_TMP/kamailio-v6.cfg"
lab_kamailio pbx.lab.callguard cert-a "" "$LAB_TMP/kamailio-v6.cfg"
for _ in $(seq 50); do
	in_ns pbx ss -lun | grep -q '\[fd77::1\]:5060' && break
	sleep 0.1
done
lab_rtp_pcap "$LAB_TMP/pcmu.pcap" 3
S="$LAB_DIR/sipp"
PBX='[fd77::1]:5060'
reg() { # NS IP PORT USER PASSWORD [sipp args]
	local ns=$1 ip=$2 port=$3 user=$4 pw=$5
	shift 5
	lab_sipp "$ns" -sf "$S/register.xml" "$PBX" -i "$ip" -p "$port" -s "$user" -au "$user" -ap "$pw" "$@"
}
lab_record_start "$LAB_TMP/cap.pcap"
reg ph2 fd77::12 5060 1002 orchid77 -m 1
START=$(date +%s)
reg ph1 fd77::11 5060 1001 tiger42 -m 1
sleep 1
reg ph2 fd77::12 5060 1002 orchid77 -m 1
reg ph1 fd77::11 5060 1001 tiger42 -m 1
lab_sipp_bg ph2 -sf "$S/uas-call.xml" -i fd77::12 -p 5060 -mi fd77::12 -mp 20000 -rtp_echo \
	-key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -m 1
UAS=$LAB_LAST_PID
sleep 0.5
lab_sipp ph1 -sf "$S/uac-call.xml" "$PBX" -i fd77::11 -p 5060 -mi fd77::11 -mp 16000 \
	-s 1002 -key caller 1001 -key sdp_proto RTP/AVP -key sdp_extra a=sendrecv -key rtp_pcap "$LAB_TMP/pcmu.pcap" \
	-d 3500 -m 1
lab_wait "$UAS" 10
sleep 1
# three wrong passwords for 1001 (each answered 403; sipp counts the calls as failed)
reg att fd77::66 5070 1001 wrongpass -m 3 -r 2 || true
sleep 0.5
reg att fd77::66 5070 1001 tiger42 -m 1
sleep 1
mkdir -p /etc/netns/cg-att
printf 'fd77::1 pbx6.lab\n' >/etc/netns/cg-att/hosts
in_ns att env HOME="$LAB_TMP" svwar -6 -p 5060 -P 5062 -e 990-1010 -m REGISTER --domain fd77::1 pbx6.lab \
	>"$LAB_TMP/svwar.out" 2>&1 || true
cat "$LAB_TMP/svwar.out" >&2
while (($(date +%s) - START < 35)); do sleep 1; done
reg att fd79::66 5070 1002 orchid77 -m 1
lab_record_stop
lab_save "$LAB_TMP/cap.pcap" "$NAME"
