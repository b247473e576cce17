#!/usr/bin/env python3
"""List the TLS handshakes in a capture: client, server, version and SHA-256 fingerprint of the server's first
certificate (TLS 1.2 only: the Certificate message is in clear). Usage: tls_certs.py CAPTURE"""
import hashlib
import sys

from scapy.all import IP, TCP, rdpcap  # type: ignore

streams: dict = {}
order = []
for p in rdpcap(sys.argv[1]):
    if TCP in p and p[TCP].sport in (5061,) and bytes(p[TCP].payload):
        k = (p[IP].src, p[TCP].sport, p[IP].dst, p[TCP].dport)
        if k not in streams:
            streams[k] = {}
            order.append((k, float(p.time)))
        streams[k][p[TCP].seq] = bytes(p[TCP].payload)
for k, t in order:
    segs = streams[k]
    data, nxt = b"", None
    for seq in sorted(segs):
        if nxt is None or seq == nxt:
            data += segs[seq]
            nxt = seq + len(segs[seq])
    hs, i = b"", 0
    while i + 5 <= len(data) and data[i] == 22:
        n = int.from_bytes(data[i + 3 : i + 5], "big")
        hs += data[i + 5 : i + 5 + n]
        i += 5 + n
    j = 0
    while j + 4 <= len(hs):
        typ, n = hs[j], int.from_bytes(hs[j + 1 : j + 4], "big")
        if typ == 11:
            body = hs[j + 4 : j + 4 + n]
            clen = int.from_bytes(body[3:6], "big")
            cert = body[6 : 6 + clen]
            print(f"{t:.6f} server {k[0]}:{k[1]} client {k[2]}:{k[3]} cert sha256 {hashlib.sha256(cert).hexdigest()}")
            break
        j += 4 + n
