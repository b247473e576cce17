#!/usr/bin/env python3
"""Re-encapsulate a lab capture as a Cisco ERSPAN session delivers it: each frame, unchanged and at its own time,
inside Ethernet / IPv4 192.0.2.1 -> 192.0.2.2 / GRE (sequence number) / ERSPAN, built with scapy's GRE and ERSPAN
layers (scapy.contrib.erspan: an encoder independent of callguard's decoder). This lab's kernel has no GRE or
ERSPAN tunnel devices (only VXLAN: see scenarios/remote-mirror.sh), so ERSPAN is written this way.

Usage: erspan_wrap.py IN.pcap OUT.pcap 2|3
  2: ERSPAN type II (GRE 0x88be, version 1), session 7, VLAN 77.
  3: ERSPAN type III (GRE 0x22eb, version 2), session 7, VLAN 77, hardware id 3, a timestamp in 100 us units
     from the frame's time, and the optional 8-byte platform-specific subheader (platform 3, port 17).
Afterwards tshark (Wireshark's ERSPAN dissector) must find in OUT as many SIP messages as in IN.
"""
import subprocess
import sys

from scapy.all import GRE, IP, Ether, PcapReader, PcapWriter, Raw
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III, ERSPAN_PlatformSpecific


def sip_count(path: str) -> int:
    out = subprocess.run(["tshark", "-r", path, "-Y", "sip"], capture_output=True, text=True, check=True).stdout
    return len(out.splitlines())


def main() -> None:
    src, dst, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    w = PcapWriter(dst, linktype=1, sync=True)
    for seq, p in enumerate(PcapReader(src)):
        inner = bytes(p)
        if kind == "2":
            hdr = GRE(seqnum_present=1, sequence_number=seq, proto=0x88BE) / ERSPAN_II(
                ver=1, vlan=77, session_id=7, index=0)
        else:
            hdr = GRE(seqnum_present=1, sequence_number=seq, proto=0x22EB) / ERSPAN_III(
                ver=2, vlan=77, session_id=7, p=1, timestamp=int(p.time * 10000) & 0xFFFFFFFF, hw=3, gra=1,
                o=1) / ERSPAN_PlatformSpecific(platf_id=3, info1=17, info2=0)
        frame = Ether(src="02:77:00:00:02:00", dst="02:77:00:00:02:01") / IP(
            src="192.0.2.1", dst="192.0.2.2", id=seq & 0xFFFF, ttl=64) / hdr / Raw(inner)
        frame.time = p.time
        w.write(frame)
    w.close()
    want, got = sip_count(src), sip_count(dst)
    if want != got:
        sys.exit(f"tshark finds {got} SIP messages in {dst}, {want} in {src}")
    print(f"wrote {dst}: ERSPAN type {'II' if kind == '2' else 'III'}, {got} SIP messages as in {src}", file=sys.stderr)


if __name__ == "__main__":
    main()
