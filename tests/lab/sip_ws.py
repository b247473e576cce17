#!/usr/bin/env python3
"""A minimal SIP-over-WebSocket user agent for the lab (RFC 7118), on the `websockets` library (a real RFC 6455
client: it masks every frame it sends). sipp has no WebSocket transport.

  sip_ws.py uac USER PASSWORD CALLEE [SECONDS]   register, ping, call CALLEE@pbx, hang up after SECONDS (2)
  sip_ws.py uas USER PASSWORD                    register, answer one call (180, then 200), wait for the BYE
  sip_ws.py reg USER PASSWORD                    register only

Connects to ws://10.77.0.1:8080/ with the `sip` subprotocol (no compression, no automatic pings), sends one SIP
message per text message and reads one per message. REGISTER gets 401 (qop=auth) and is answered with digest
credentials. Via sent-by is a random `.invalid` host (RFC 7118 §5.2); Contact carries the client's real
address and port with transport=ws, so the registrar can route to the open connection without nathelper. The
SDP offers RTP/AVP PCMU; no media is sent. The caller sends one WebSocket ping after registering.
"""
import asyncio
import hashlib
import random
import re
import sys

import websockets

URL = "ws://10.77.0.1:8080/"
PBX = "10.77.0.1"
UA = "callguard-lab-ws-ua"
rng = random.Random()  # seeded per user in main(): both clients draw their own branches, tags and Call-IDs


def md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


def hdr(msg: str, name: str, all_=False):
    v = re.findall(r"^" + name + r":\s*(.*?)\r?$", msg, re.M | re.I)
    return v if all_ else (v[0] if v else None)


def status(msg: str) -> int:
    return int(msg.split()[1]) if msg.startswith("SIP/2.0") else 0


def log(s: str) -> None:
    print(s, file=sys.stderr, flush=True)


class Conn:
    def __init__(self, ws):
        self.ws = ws
        self.ip, self.port = ws.local_address[:2]
        self.host = f"{rng.getrandbits(40):010x}.invalid"
        log(f"WebSocket {ws.subprotocol} from {self.ip}:{self.port}")

    @classmethod
    async def open(cls):
        ws = await websockets.connect(URL, subprotocols=["sip"], compression=None, ping_interval=None)
        return cls(ws)

    async def send(self, msg: str) -> None:
        await self.ws.send(msg)
        log(">> " + msg.splitlines()[0])

    async def recv(self) -> str:
        msg = await asyncio.wait_for(self.ws.recv(), 20)
        if isinstance(msg, bytes):
            msg = msg.decode("utf-8")
        log("<< " + msg.splitlines()[0])
        return msg

    async def recv_until(self, pred) -> str:
        while True:
            m = await self.recv()
            if pred(m):
                return m

    def via(self) -> str:
        return f"Via: SIP/2.0/WS {self.host};branch=z9hG4bK-{rng.getrandbits(40):010x}\r\n"

    def contact(self, user: str) -> str:
        return f"Contact: <sip:{user}@{self.ip}:{self.port};transport=ws>\r\n"


async def register(c: Conn, user: str, pw: str) -> None:
    callid = f"reg-{user}-{rng.getrandbits(32):08x}@{c.host}"
    uri = f"sip:{PBX}"
    auth = ""
    for cseq in (1, 2):
        await c.send(
            f"REGISTER {uri} SIP/2.0\r\n{c.via()}"
            f"From: <sip:{user}@{PBX}>;tag=r{user}\r\nTo: <sip:{user}@{PBX}>\r\n"
            f"Call-ID: {callid}\r\nCSeq: {cseq} REGISTER\r\n{c.contact(user)}{auth}"
            f"Expires: 300\r\nMax-Forwards: 70\r\nUser-Agent: {UA}\r\nContent-Length: 0\r\n\r\n"
        )
        r = await c.recv_until(lambda m: status(m) >= 200)
        if status(r) == 200:
            return
        ch = hdr(r, "WWW-Authenticate")
        realm = re.search(r'realm="([^"]*)"', ch).group(1)
        nonce = re.search(r'nonce="([^"]*)"', ch).group(1)
        cnonce, nc = f"{rng.getrandbits(32):08x}", "00000001"
        ha1, ha2 = md5(f"{user}:{realm}:{pw}"), md5(f"REGISTER:{uri}")
        resp = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        auth = (
            f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{resp}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"\r\n'
        )
    raise SystemExit(f"registration of {user} failed: {r.splitlines()[0]}")


def sdp(ip: str, port: int) -> str:
    return (
        f"v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    )


async def uac(c: Conn, user: str, callee: str, secs: float) -> None:
    pong = await c.ws.ping(b"callguard")
    await asyncio.wait_for(pong, 5)
    log("ping answered")
    callid = f"ws-call-{rng.getrandbits(32):08x}@{c.host}"
    body = sdp(c.ip, 16000)
    ftag = f"f{rng.getrandbits(32):08x}"
    await c.send(
        f"INVITE sip:{callee}@{PBX} SIP/2.0\r\n{c.via()}"
        f"From: <sip:{user}@{PBX}>;tag={ftag}\r\nTo: <sip:{callee}@{PBX}>\r\n"
        f"Call-ID: {callid}\r\nCSeq: 1 INVITE\r\n{c.contact(user)}"
        f"Max-Forwards: 70\r\nUser-Agent: {UA}\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    )
    ok = await c.recv_until(lambda m: status(m) >= 200)
    if status(ok) != 200:
        raise SystemExit("call failed: " + ok.splitlines()[0])
    to = hdr(ok, "To")
    target = re.search(r"<([^>]+)>", hdr(ok, "Contact")).group(1)
    routes = "".join(f"Route: {r}\r\n" for r in reversed(hdr(ok, "Record-Route", True)))

    def indialog(method: str, cseq: int) -> str:
        return (
            f"{method} {target} SIP/2.0\r\n{c.via()}"
            f"{routes}From: <sip:{user}@{PBX}>;tag={ftag}\r\nTo: {to}\r\nCall-ID: {callid}\r\n"
            f"CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nUser-Agent: {UA}\r\nContent-Length: 0\r\n\r\n"
        )

    await c.send(indialog("ACK", 1))
    await asyncio.sleep(secs)
    await c.send(indialog("BYE", 2))
    await c.recv_until(lambda m: status(m) >= 200 and "BYE" in (hdr(m, "CSeq") or ""))


async def uas(c: Conn) -> None:
    inv = await c.recv_until(lambda m: m.startswith("INVITE "))
    keep = "".join(f"{n}: {v}\r\n" for n in ("Via", "Record-Route") for v in hdr(inv, n, True))
    base = (
        f"{keep}From: {hdr(inv, 'From')}\r\nTo: {hdr(inv, 'To')};tag=u{rng.getrandbits(32):08x}\r\n"
        f"Call-ID: {hdr(inv, 'Call-ID')}\r\nCSeq: {hdr(inv, 'CSeq')}\r\n"
        f"Contact: <sip:{c.ip}:{c.port};transport=ws>\r\nUser-Agent: {UA}\r\n"
    )
    await c.send(f"SIP/2.0 180 Ringing\r\n{base}Content-Length: 0\r\n\r\n")
    await asyncio.sleep(0.5)
    body = sdp(c.ip, 20000)
    await c.send(f"SIP/2.0 200 OK\r\n{base}Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}")
    await c.recv_until(lambda m: m.startswith("ACK "))
    bye = await c.recv_until(lambda m: m.startswith("BYE "))
    vias = "".join(f"Via: {v}\r\n" for v in hdr(bye, "Via", True))
    await c.send(
        f"SIP/2.0 200 OK\r\n{vias}From: {hdr(bye, 'From')}\r\nTo: {hdr(bye, 'To')}\r\n"
        f"Call-ID: {hdr(bye, 'Call-ID')}\r\nCSeq: {hdr(bye, 'CSeq')}\r\nUser-Agent: {UA}\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    await asyncio.sleep(0.5)


async def main() -> None:
    role, user, pw = sys.argv[1:4]
    rng.seed(f"callguard-lab-ws-{user}")
    c = await Conn.open()
    await register(c, user, pw)
    if role == "uac":
        await uac(c, user, sys.argv[4], float(sys.argv[5]) if len(sys.argv) > 5 else 2)
    elif role == "uas":
        await uas(c)
    await c.ws.close()
    log(f"closed {c.ws.close_code}")


if __name__ == "__main__":
    asyncio.run(main())
