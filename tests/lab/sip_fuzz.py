#!/usr/bin/env python3
"""Malformed SIP for the lab, on plain sockets (deterministic: no randomness, every case sent once).

  sip_fuzz.py udp SRC DST RATE    a PROTOS c07-sip style run over UDP: an INVITE template, one field mutated
                                  per test case, RATE cases a second, from SRC:5080 to DST:5060
  sip_fuzz.py tcp SRC DST         four TCP connections from SRC to DST:5060 carrying broken SIP
  sip_fuzz.py ws SRC DST          one WebSocket connection from SRC to ws://DST:8080/ (subprotocol sip) carrying
                                  broken SIP (needs python3-websockets: run it with /usr/bin/python3)

udp: like the PROTOS c07-sip test suite (University of Oulu, 2002), each test case is the INVITE template with one
field replaced by a mutation: overflows of 'A' (256, 1024, 2048 bytes), format strings, invalid UTF-8 sequences
(an overlong encoding, a lone continuation byte, a UTF-16 surrogate, a 5-byte form, 0xFE 0xFF, a cut
sequence), NUL bytes, an ANSI escape, a CRLF injection, integers (-1, 2^32). The fields: the Request-URI's user,
host and a parameter, the SIP-Version, Via, From, To, Call-ID, CSeq, Contact, Max-Forwards, Content-Type,
Content-Length. The parser is tolerant: most cases parse (header mutations are anomalies, not failures); the
ones that do not are those whose request line is not UTF-8 (invalid UTF-8 in the Request-URI) or runs past the
probe window without a SIP-Version it can read (SIP-Version overflows of 1024 and 2048 bytes). Case numbers go
in the Call-ID and branch, so a case can be found in the capture.

tcp: connection 1 sends a valid OPTIONS, eight INVITEs whose Request-URI is not UTF-8 (framed by their
Content-Length, they do not parse), an OPTIONS with Content-Length: -1 (the framing breaks: the stream is not
framed any further) and a valid OPTIONS that is therefore not read; connection 2 an INVITE with Content-Length:
99999999 (over the 64 KiB message bound); connection 3 a REGISTER whose header section never ends (66 000
bytes of headers, no empty line); connection 4 an OPTIONS with two Content-Length fields that differ. Each
connection's bytes go in one sendall right after the handshake, then the socket is closed after 0.3 s.

ws: after the upgrade, one binary WebSocket message each (RFC 7118 §5 allows binary): a valid OPTIONS, ten
INVITEs whose Request-URI is not UTF-8 and two request lines of 700 bytes with no SIP-Version: twelve messages
that do not parse, sent back to back; then a close frame.
"""
import socket
import sys
import time

TEMPLATE = (
    "INVITE sip:{user}@{host}{param} {version}\r\n"
    "Via: SIP/2.0/UDP {src}:5080;branch=z9hG4bK-protos-{n}{via}\r\n"
    "From: {from_}<sip:protos@{src}:5080>;tag=protos{n}\r\n"
    "To: {to}<sip:{user}@{host}>\r\n"
    "Call-ID: {callid}protos-{n}@{src}\r\n"
    "CSeq: {cseq} INVITE\r\n"
    "Contact: <sip:protos@{src}:5080{contact}>\r\n"
    "Max-Forwards: {maxfwd}\r\n"
    "Content-Type: {ctype}\r\n"
    "Content-Length: {clen}\r\n"
    "\r\n"
)

MUTATIONS = [
    ("overflow-256", b"A" * 256),
    ("overflow-1024", b"A" * 1024),
    ("overflow-2048", b"A" * 2048),
    ("format-string", b"%s%s%s%n%n%n%x%x"),
    ("utf8-overlong", b"\xc0\xaf\xc0\xae"),
    ("utf8-continuation", b"\x80\x81\x82"),
    ("utf8-surrogate", b"\xed\xa0\x80"),
    ("utf8-5-byte", b"\xf8\x88\x80\x80\x80"),
    ("utf8-fe-ff", b"\xfe\xff\xfe\xff"),
    ("utf8-cut", b"\xe2\x82"),
    ("nul", b"\x00" * 8),
    ("ansi-escape", b"\x1b[2J\x1b[0m"),
    ("crlf-injection", b"\r\n\r\n"),
    ("integer-minus-one", b"-1"),
    ("integer-2-32", b"4294967296"),
]

# Field name -> the template slot it replaces (appended to for parameters).
FIELDS = [
    "user", "host", "param", "version", "via", "from_", "to", "callid", "cseq", "contact", "maxfwd", "ctype",
    "clen",
]


def case(n: int, field: str, mutation: bytes, src: str, dst: str) -> bytes:
    marker = "\x00MUT\x00"
    slots = {
        "user": "100", "host": dst, "param": "", "version": "SIP/2.0", "via": "", "from_": "", "to": "",
        "callid": "", "cseq": "1", "contact": "", "maxfwd": "70", "ctype": "application/sdp", "clen": "0",
    }
    if field == "param":
        slots["param"] = ";x=" + marker
    elif field in ("via", "contact"):
        slots[field] = ";x=" + marker
    else:
        slots[field] = marker
    text = TEMPLATE.format(n=n, src=src, **slots).encode("latin-1")
    return text.replace(marker.encode("latin-1"), mutation)


def cases(src: str, dst: str):
    n = 0
    for field in FIELDS:
        for _name, mutation in MUTATIONS:
            n += 1
            yield case(n, field, mutation, src, dst)


def udp(src: str, dst: str, rate: int) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 5080))
    start = time.perf_counter()
    sent = 0
    for i, msg in enumerate(cases(src, dst)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        s.sendto(msg, (dst, 5060))
        sent += 1
    # Answers (kamailio's 400s and 404s) are not read: a fuzzer does not wait.
    time.sleep(0.5)
    s.close()
    print(f"udp: {sent} test cases sent")


def options(src: str, dst: str, sport: int, n: int, clen: str = "0", extra: str = "") -> bytes:
    return (
        f"OPTIONS sip:{dst} SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP {src}:{sport};branch=z9hG4bK-tcp-{n}\r\n"
        f"From: <sip:fuzz@{src}>;tag=tcp{n}\r\n"
        f"To: <sip:{dst}>\r\n"
        f"Call-ID: tcp-{n}@{src}\r\n"
        f"CSeq: {n} OPTIONS\r\n"
        f"Max-Forwards: 70\r\n"
        f"{extra}"
        f"Content-Length: {clen}\r\n"
        "\r\n"
    ).encode()


def invite_non_utf8(src: str, dst: str, sport: int, n: int) -> bytes:
    return (
        b"INVITE sip:100\xc0\xaf\xff@" + dst.encode() + b" SIP/2.0\r\n"
        + f"Via: SIP/2.0/TCP {src}:{sport};branch=z9hG4bK-tcp-{n}\r\n"
        f"From: <sip:fuzz@{src}>;tag=tcp{n}\r\n"
        f"To: <sip:100@{dst}>\r\n"
        f"Call-ID: tcp-{n}@{src}\r\n"
        f"CSeq: {n} INVITE\r\n"
        "Content-Length: 0\r\n"
        "\r\n".encode()
    )


def tcp(src: str, dst: str) -> None:
    def connection(sport: int, data: bytes) -> None:
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c.bind((src, sport))
        c.connect((dst, 5060))
        try:
            c.sendall(data)
            time.sleep(0.3)
        except OSError as e:  # the server may reset a connection whose framing broke
            print(f"tcp {sport}: {e}")
        c.close()
        time.sleep(0.2)

    first = options(src, dst, 41001, 1)
    first += b"".join(invite_non_utf8(src, dst, 41001, n) for n in range(2, 10))
    first += options(src, dst, 41001, 10, clen="-1")
    first += options(src, dst, 41001, 11)
    connection(41001, first)
    connection(41002, options(src, dst, 41002, 12, clen="99999999"))
    head = f"REGISTER sip:{dst} SIP/2.0\r\nVia: SIP/2.0/TCP {src}:41003;branch=z9hG4bK-tcp-13\r\n".encode()
    pad = b"X-Pad: " + b"a" * 91 + b"\r\n"
    connection(41003, head + pad * (66000 // len(pad)))
    connection(41004, options(src, dst, 41004, 14, clen="3", extra="Content-Length: 5\r\n") + b"abc")
    print("tcp: 4 connections")


def ws(src: str, dst: str) -> None:
    import asyncio

    import websockets

    async def run() -> None:
        sport = 41100
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((src, sport))
        sock.connect((dst, 8080))
        msgs = [options(src, dst, sport, 20).replace(b"/TCP", b"/WS")]
        msgs += [invite_non_utf8(src, dst, sport, n).replace(b"/TCP", b"/WS") for n in range(21, 31)]
        msgs += [b"INVITE sip:100@" + dst.encode() + b";x=" + b"B" * 700 + b"\r\nContent-Length: 0\r\n\r\n"] * 2
        async with websockets.connect(
            f"ws://{dst}:8080/", sock=sock, subprotocols=["sip"], compression=None, ping_interval=None
        ) as c:
            try:
                for m in msgs:
                    await c.send(m)
                await asyncio.sleep(0.3)
            except websockets.ConnectionClosed as e:  # the server may close on what it cannot read
                print(f"ws: {e}")
        print(f"ws: {len(msgs)} messages")

    asyncio.run(run())


def main() -> None:
    mode = sys.argv[1]
    if mode == "udp":
        udp(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "tcp":
        tcp(sys.argv[2], sys.argv[3])
    elif mode == "ws":
        ws(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
