#!/usr/bin/env python3
"""Sends UDP datagrams at a steady rate from one socket (plain sockets: several thousand a second, where scapy's
sendp manages a few hundred).

usage: flood_udp.py SRC_IP SRC_PORT DST_IP DST_PORT PPS SECONDS [rtp|zero]

rtp (default): RTP version 2, payload type 0 (PCMU), SSRC 0x0badc0de, sequence numbers and timestamps counting
up by 1 and 160, 160 bytes of u-law silence (0xff): RTP-looking packets that no SDP negotiated.
zero: 172 zero bytes (not RTP).
The pacing is by 10 ms slots (PPS/100 datagrams each), so each second of packet time carries PPS datagrams.
"""
import socket
import struct
import sys
import time


def main():
    src, sport, dst, dport, pps, secs = sys.argv[1:7]
    kind = sys.argv[7] if len(sys.argv) > 7 else "rtp"
    sport, dport, pps, secs = int(sport), int(dport), int(pps), float(secs)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, sport))
    per_slot = max(1, pps // 100)
    slots = int(secs * 100)
    seq, ts = 1000, 160000
    start = time.perf_counter()
    sent = 0
    for slot in range(slots):
        for _ in range(per_slot):
            if kind == "rtp":
                pkt = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, ts & 0xFFFFFFFF, 0x0BADC0DE) + b"\xff" * 160
                seq += 1
                ts += 160
            else:
                pkt = bytes(172)
            try:
                s.sendto(pkt, (dst, dport))
                sent += 1
            except OSError:
                # ICMP port unreachable from an earlier datagram surfaces here on Linux: keep sending.
                pass
        delay = start + (slot + 1) / 100 - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    print(f"sent {sent} datagrams to {dst}:{dport} in {time.perf_counter() - start:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
