#!/usr/bin/env python3
"""Write a G.711 u-law (PCMU, PT 0) RTP stream as a pcap for sipp's play_pcap_audio.

Usage: rtp_pcap.py OUT.pcap [SECONDS] [srtp] [ssrc=HEX]. 20 ms packets (160 samples), a 440 Hz tone, fixed SSRC
(0x0ca11ab5 unless ssrc= gives another), deterministic. With "srtp" the payload is replaced by seeded pseudo-random bytes plus a 10-byte tag: it looks like
AES_CM_128_HMAC_SHA1_80 SRTP on the wire (it is not really encrypted with the SDP key).
sipp rewrites the addresses and ports; only payload, timing and RTP header matter.
"""
import math
import random
import struct
import sys


def ulaw(sample: int) -> int:
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), clip) + bias
    exp = 7
    for e in range(7, -1, -1):
        if sample & (0x4000 >> (7 - e)):
            exp = e
            break
    else:
        exp = 0
    mant = (sample >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


def main() -> None:
    out = sys.argv[1]
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    n = int(secs * 50)
    srtp = "srtp" in sys.argv[3:]
    ssrc = 0x0CA11AB5
    for a in sys.argv[3:]:
        if a.startswith("ssrc="):
            ssrc = int(a[5:], 16)
    rng = random.Random(1)
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            pcm = bytes(
                ulaw(int(8000 * math.sin(2 * math.pi * 440 * (i * 160 + k) / 8000))) for k in range(160)
            )
            if srtp:
                pcm = bytes(rng.getrandbits(8) for _ in range(170))
            rtp = struct.pack("!BBHII", 0x80, 0x80 if i == 0 else 0x00, 1000 + i, 160 * i, ssrc) + pcm
            udp = struct.pack("!HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp
            iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                              bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
            s = sum(struct.unpack("!10H", iph))
            s = (s & 0xFFFF) + (s >> 16)
            s = (s & 0xFFFF) + (s >> 16)
            iph = iph[:10] + struct.pack("!H", ~s & 0xFFFF) + iph[12:]
            eth = bytes.fromhex("020000000002" "020000000001" "0800") + iph + udp
            ts = i * 20000
            f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(eth), len(eth)) + eth)


if __name__ == "__main__":
    main()
