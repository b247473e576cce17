#!/usr/bin/env python3
"""A minimal SIP-over-TLS 1.2 user agent for the lab (sipp has no TLS), with SDES (a=crypto) media keys.

  sip_tls.py uac USER PASSWORD LOCAL_IP CALLEE [SECONDS]   register, call CALLEE@pbx, send media, hang up
  sip_tls.py uas USER PASSWORD LOCAL_IP                    register, answer one call, send media, wait for BYE
  sip_tls.py reg USER PASSWORD LOCAL_IP                    register only

Connects to the PBX 10.77.0.1:5061 with SNI pbx.lab.callguard, TLS 1.2 only, no certificate verification (lab).
REGISTER gets 401 (qop=auth) and is answered with digest credentials. Media: RTP/SAVP on port 16000 (uac) or 20000
(uas), 20 ms packets of pseudo-random payload plus a 10-byte tag (SRTP-looking, not encrypted with the SDP key).
"""
import hashlib
import random
import re
import socket
import ssl
import sys
import time

PBX = ("10.77.0.1", 5061)
SNI = "pbx.lab.callguard"
KEYS = {
    "uac": "inline:Y2FsbGd1YXJkLWxhYi1jYWxsZXIta2V5LTAwMDAw",
    "uas": "inline:Y2FsbGd1YXJkLWxhYi1jYWxsZWUta2V5LTAwMDAw",
}
rng = random.Random(7)


def md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


class Conn:
    def __init__(self, local_ip: str):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        raw = socket.create_connection(PBX, source_address=(local_ip, 0), timeout=10)
        self.s = ctx.wrap_socket(raw, server_hostname=SNI)
        self.ip, self.port = self.s.getsockname()[:2]
        self.buf = b""
        print(f"TLS {self.s.version()} {self.s.cipher()[0]} from {self.ip}:{self.port}", file=sys.stderr)

    def send(self, msg: str) -> None:
        self.s.sendall(msg.encode())
        print(">> " + msg.splitlines()[0], file=sys.stderr)

    def recv(self) -> str:
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                head = self.buf[:i].decode("latin-1")
                m = re.search(r"^(?:Content-Length|l):\s*(\d+)", head, re.M | re.I)
                n = int(m.group(1)) if m else 0
                if len(self.buf) >= i + 4 + n:
                    msg = self.buf[: i + 4 + n].decode("latin-1")
                    self.buf = self.buf[i + 4 + n :]
                    print("<< " + msg.splitlines()[0], file=sys.stderr)
                    return msg
            data = self.s.recv(65536)
            if not data:
                raise SystemExit("connection closed")
            self.buf += data

    def recv_until(self, pred) -> str:
        while True:
            m = self.recv()
            if pred(m):
                return m


def hdr(msg: str, name: str, all_=False):
    v = re.findall(r"^" + name + r":\s*(.*?)\r?$", msg, re.M | re.I)
    return v if all_ else (v[0] if v else None)


def status(msg: str) -> int:
    return int(msg.split()[1]) if msg.startswith("SIP/2.0") else 0


def register(c: Conn, user: str, pw: str) -> None:
    callid = f"reg-{user}-{rng.getrandbits(32):08x}@{c.ip}"
    uri = f"sip:{PBX[0]}"
    auth = ""
    for cseq in (1, 2):
        c.send(
            f"REGISTER {uri};transport=tls SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS {c.ip}:{c.port};branch=z9hG4bK-{rng.getrandbits(40):010x};rport\r\n"
            f"From: <sip:{user}@{PBX[0]}>;tag=r{user}\r\nTo: <sip:{user}@{PBX[0]}>\r\n"
            f"Call-ID: {callid}\r\nCSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:{user}@{c.ip}:{c.port};transport=tls>\r\n{auth}"
            "Expires: 300\r\nMax-Forwards: 70\r\nUser-Agent: callguard-lab-tls-ua\r\nContent-Length: 0\r\n\r\n"
        )
        r = c.recv_until(lambda m: status(m) >= 200)
        if status(r) == 200:
            return
        ch = hdr(r, "WWW-Authenticate")
        realm = re.search(r'realm="([^"]*)"', ch).group(1)
        nonce = re.search(r'nonce="([^"]*)"', ch).group(1)
        cnonce, nc = f"{rng.getrandbits(32):08x}", "00000001"
        ha1, ha2 = md5(f"{user}:{realm}:{pw}"), md5(f"REGISTER:{uri};transport=tls")
        resp = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        auth = (
            f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri};transport=tls", response="{resp}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"\r\n'
        )
    raise SystemExit(f"registration of {user} failed: {r.splitlines()[0]}")


def sdp(ip: str, port: int, key: str) -> str:
    return (
        f"v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 {key}\r\na=sendrecv\r\n"
    )


def media(local_ip: str, lport: int, body: str, secs: float, ssrc: int) -> None:
    ip = re.search(r"c=IN IP4 (\S+)", body).group(1)
    port = int(re.search(r"m=audio (\d+)", body).group(1))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((local_ip, lport))
    u.setblocking(False)
    t0 = time.time()
    for i in range(int(secs * 50)):
        hdr_ = bytes([0x80, 0x80 if i == 0 else 0]) + (1000 + i).to_bytes(2, "big")
        hdr_ += (160 * i).to_bytes(4, "big") + ssrc.to_bytes(4, "big")
        u.sendto(hdr_ + bytes(rng.getrandbits(8) for _ in range(170)), (ip, port))
        try:
            while True:
                u.recv(2048)
        except BlockingIOError:
            pass
        time.sleep(max(0.0, t0 + (i + 1) * 0.02 - time.time()))
    u.close()


def uac(c: Conn, user: str, callee: str, secs: float) -> None:
    callid = f"tls-call-{rng.getrandbits(32):08x}@{c.ip}"
    body = sdp(c.ip, 16000, KEYS["uac"])
    ftag = f"f{rng.getrandbits(32):08x}"
    c.send(
        f"INVITE sip:{callee}@{PBX[0]};transport=tls SIP/2.0\r\n"
        f"Via: SIP/2.0/TLS {c.ip}:{c.port};branch=z9hG4bK-{rng.getrandbits(40):010x};rport\r\n"
        f"From: <sip:{user}@{PBX[0]}>;tag={ftag}\r\nTo: <sip:{callee}@{PBX[0]}>\r\n"
        f"Call-ID: {callid}\r\nCSeq: 1 INVITE\r\nContact: <sip:{user}@{c.ip}:{c.port};transport=tls>\r\n"
        "Max-Forwards: 70\r\nUser-Agent: callguard-lab-tls-ua\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    )
    ok = c.recv_until(lambda m: status(m) >= 200)
    if status(ok) != 200:
        raise SystemExit("call failed: " + ok.splitlines()[0])
    to = hdr(ok, "To")
    target = re.search(r"<([^>]+)>", hdr(ok, "Contact")).group(1)
    routes = "".join(f"Route: {r}\r\n" for r in reversed(hdr(ok, "Record-Route", True)))

    def indialog(method: str, cseq: int) -> str:
        return (
            f"{method} {target} SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS {c.ip}:{c.port};branch=z9hG4bK-{rng.getrandbits(40):010x};rport\r\n"
            f"{routes}From: <sip:{user}@{PBX[0]}>;tag={ftag}\r\nTo: {to}\r\nCall-ID: {callid}\r\n"
            f"CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )

    c.send(indialog("ACK", 1))
    media(c.ip, 16000, ok.split("\r\n\r\n", 1)[1], secs, 0x5EC0FFEE)
    c.send(indialog("BYE", 2))
    c.recv_until(lambda m: status(m) >= 200 and "BYE" in (hdr(m, "CSeq") or ""))


def uas(c: Conn) -> None:
    inv = c.recv_until(lambda m: m.startswith("INVITE "))
    keep = "".join(
        f"{n}: {v}\r\n" for n in ("Via", "Record-Route") for v in hdr(inv, n, True)
    )
    base = (
        f"{keep}From: {hdr(inv, 'From')}\r\nTo: {hdr(inv, 'To')};tag=u{rng.getrandbits(32):08x}\r\n"
        f"Call-ID: {hdr(inv, 'Call-ID')}\r\nCSeq: {hdr(inv, 'CSeq')}\r\n"
        f"Contact: <sip:{c.ip}:{c.port};transport=tls>\r\nUser-Agent: callguard-lab-tls-ua\r\n"
    )
    body = sdp(c.ip, 20000, KEYS["uas"])
    c.send(f"SIP/2.0 200 OK\r\n{base}Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}")
    c.recv_until(lambda m: m.startswith("ACK "))
    media(c.ip, 20000, inv.split("\r\n\r\n", 1)[1], 3, 0x5EC0CAFE)
    bye = c.recv_until(lambda m: m.startswith("BYE "))
    vias = "".join(f"Via: {v}\r\n" for v in hdr(bye, "Via", True))
    c.send(
        f"SIP/2.0 200 OK\r\n{vias}From: {hdr(bye, 'From')}\r\nTo: {hdr(bye, 'To')}\r\n"
        f"Call-ID: {hdr(bye, 'Call-ID')}\r\nCSeq: {hdr(bye, 'CSeq')}\r\nContent-Length: 0\r\n\r\n"
    )
    time.sleep(0.5)


def main() -> None:
    role, user, pw, ip = sys.argv[1:5]
    c = Conn(ip)
    register(c, user, pw)
    if role == "uac":
        uac(c, user, sys.argv[5], float(sys.argv[6]) if len(sys.argv) > 6 else 3)
    elif role == "uas":
        uas(c)
    c.s.close()


if __name__ == "__main__":
    main()
