#!/usr/bin/env python3
"""Writes tls-cipher-suites.csv from a list of (value, IANA name) pairs on stdin, tab-separated.

The names are those of the IANA "TLS Cipher Suites" registry (as Wireshark lists them:
`tshark -G values | awk -F'\t' '$2=="tls.handshake.ciphersuite" && $3<65536 {print $3"\t"$4}'`).
Every property is derived from the name, which the registry builds from its parts:
TLS_<key exchange>_<authentication>_WITH_<cipher>_<MAC> (TLS 1.3: TLS_<AEAD>_<hash>).
Values that are not IANA names (GREASE, SSL_FORTEZZA, SSL_RSA_FIPS, the GM/T suites) are left out.
"""
import sys

KX = {  # name part -> (key exchange, authentication, export)
    "NULL": ("NULL", "NULL", False),
    "RSA": ("RSA", "RSA", False),
    "RSA_EXPORT": ("RSA", "RSA", True),
    "RSA_EXPORT1024": ("RSA", "RSA", True),
    "DH_DSS": ("DH", "DSS", False),
    "DH_DSS_EXPORT": ("DH", "DSS", True),
    "DH_RSA": ("DH", "RSA", False),
    "DH_RSA_EXPORT": ("DH", "RSA", True),
    "DHE_DSS": ("DHE", "DSS", False),
    "DHE_DSS_EXPORT": ("DHE", "DSS", True),
    "DHE_DSS_EXPORT1024": ("DHE", "DSS", True),
    "DHE_RSA": ("DHE", "RSA", False),
    "DHE_RSA_EXPORT": ("DHE", "RSA", True),
    "DH_anon": ("DH", "anon", False),
    "DH_anon_EXPORT": ("DH", "anon", True),
    "KRB5": ("KRB5", "KRB5", False),
    "KRB5_EXPORT": ("KRB5", "KRB5", True),
    "PSK": ("PSK", "PSK", False),
    "DHE_PSK": ("DHE_PSK", "PSK", False),
    "RSA_PSK": ("RSA_PSK", "PSK", False),
    "ECDH_ECDSA": ("ECDH", "ECDSA", False),
    "ECDH_RSA": ("ECDH", "RSA", False),
    "ECDHE_ECDSA": ("ECDHE", "ECDSA", False),
    "ECDHE_RSA": ("ECDHE", "RSA", False),
    "ECDH_anon": ("ECDH", "anon", False),
    "ECDHE_PSK": ("ECDHE_PSK", "PSK", False),
    "PSK_DHE": ("DHE_PSK", "PSK", False),
    "ECJPAKE": ("ECJPAKE", "ECJPAKE", False),
    "SRP_SHA": ("SRP", "SRP", False),
    "SRP_SHA_RSA": ("SRP", "RSA", False),
    "SRP_SHA_DSS": ("SRP", "DSS", False),
    "ECCPWD": ("ECCPWD", "ECCPWD", False),
    "GOSTR341112_256": ("GOST", "GOST", False),
    "GOSTR341001": ("GOST", "GOST", False),
    "GOSTR341094": ("GOST", "GOST", False),
}

# cipher part -> (cipher, mode, bits, mac implied by the cipher, or None)
def cipher(part):
    aead_macs = {"GCM": "AEAD", "CCM": "AEAD", "CCM_8": "AEAD", "POLY1305": "AEAD", "MGM": "AEAD"}
    table = {
        "NULL": ("NULL", "", 0),
        "RC4_40": ("RC4", "stream", 40), "RC4_56": ("RC4", "stream", 56), "RC4_128": ("RC4", "stream", 128),
        "RC2_CBC_40": ("RC2", "CBC", 40), "RC2_CBC_56": ("RC2", "CBC", 56),
        "DES40_CBC": ("DES", "CBC", 40), "DES_CBC_40": ("DES", "CBC", 40), "DES_CBC": ("DES", "CBC", 56),
        "3DES_EDE_CBC": ("3DES", "CBC", 112),
        "IDEA_CBC": ("IDEA", "CBC", 128),
        "SEED_CBC": ("SEED", "CBC", 128),
        "CHACHA20_POLY1305": ("CHACHA20_POLY1305", "AEAD", 256),
        "SM4_GCM": ("SM4", "GCM", 128), "SM4_CCM": ("SM4", "CCM", 128),
        "AEGIS_256": ("AEGIS", "AEAD", 256), "AEGIS_128L": ("AEGIS", "AEAD", 128),
        "28147_CNT": ("GOST28147", "CNT", 256),
        "KUZNYECHIK_CTR": ("KUZNYECHIK", "CTR", 256), "MAGMA_CTR": ("MAGMA", "CTR", 256),
        "KUZNYECHIK_MGM_L": ("KUZNYECHIK", "MGM", 256), "KUZNYECHIK_MGM_S": ("KUZNYECHIK", "MGM", 256),
        "MAGMA_MGM_L": ("MAGMA", "MGM", 256), "MAGMA_MGM_S": ("MAGMA", "MGM", 256),
    }
    if part in table:
        return table[part]
    for fam in ("AES", "CAMELLIA", "ARIA"):
        for bits in ("128", "256"):
            for mode in ("CBC", "GCM", "CCM_8", "CCM"):
                if part == f"{fam}_{bits}_{mode}":
                    return (fam, mode, int(bits))
            if part == f"{fam}_{bits}":  # TLS 1.3 style names carry the mode elsewhere
                return (fam, "", int(bits))
    raise SystemExit(f"unknown cipher part {part}")

MACS = ["NULL", "SHA", "SHA256", "SHA384", "MD5", "SM3", "IMIT", "OMAC", "SHA512", "GOSTR3411"]

def parse(name):
    body = name[len("TLS_"):]
    if body in ("EMPTY_RENEGOTIATION_INFO_SCSV", "FALLBACK_SCSV"):
        return ("SCSV", "SCSV", "", "", 0, "", False)
    if "_WITH_" not in body:
        # TLS 1.3 (RFC 8446 B.4) and its relatives: TLS_<AEAD>_<hash>, any key exchange and authentication.
        aead, _, h = body.rpartition("_")
        if aead in ("AES_128_GCM", "AES_256_GCM", "AES_128_CCM", "AES_128_CCM_8", "SM4_GCM", "SM4_CCM",
                    "CHACHA20_POLY1305", "AEGIS_256", "AEGIS_128L"):
            c, mode, bits = cipher(aead)
            return ("ANY", "ANY", c, "AEAD" if mode in ("", "AEAD") else mode, bits, "AEAD", False)
        if body.startswith("SHA256_SHA256") or body.startswith("SHA384_SHA384"):
            # RFC 9150: integrity only, no encryption
            return ("ANY", "ANY", "NULL", "", 0, body.split("_")[0], False)
        raise SystemExit(f"unknown TLS 1.3 name {name}")
    kx_part, c_part = body.split("_WITH_", 1)
    if kx_part not in KX:
        raise SystemExit(f"unknown key exchange {kx_part} in {name}")
    kx, au, export = KX[kx_part]
    mac = ""
    for m in MACS:
        if c_part.endswith("_" + m):
            c_part, mac = c_part[: -len(m) - 1], m
            break
    c, mode, bits = cipher(c_part)
    if mode in ("GCM", "CCM", "CCM_8", "AEAD", "MGM"):
        mac = "AEAD"
    if "EXPORT" in c_part:
        export = True
    return (kx, au, c, mode, bits, mac, export)

def strength(kx, au, c, mode, bits, mac, export):
    if kx == "SCSV":
        return "none"
    if c == "NULL" or export or au in ("anon", "NULL") or c in ("RC4", "RC2", "DES") or bits < 112 or mac == "MD5":
        return "insecure"
    forward = kx in ("DHE", "ECDHE", "DHE_PSK", "ECDHE_PSK", "ANY", "ECCPWD")
    aead = mac == "AEAD"
    if c in ("3DES", "IDEA", "GOST28147") or not forward or not aead or kx in ("KRB5", "SRP"):
        return "weak"
    return "secure"

print("# TLS cipher suites: value, IANA name, key exchange, authentication, cipher, mode, cipher key bits, MAC, export, strength.")
print("# Written by cipher-suites.py from the IANA registry's names; see that script for how each column is derived.")
print("# strength: insecure (no encryption, anonymous, export-grade, RC4/RC2/DES, under 112-bit keys, MD5 MAC), weak (3DES/IDEA,")
print("# no forward secrecy, or not AEAD), secure (forward secrecy and AEAD), none (signalling values, not suites).")
seen = set()
for line in sys.stdin:
    v, name = line.rstrip("\n").split("\t")
    v = int(v)
    if not name.startswith("TLS_") or v in seen:
        continue
    seen.add(v)
    try:
        kx, au, c, mode, bits, mac, export = parse(name)
    except SystemExit as e:
        print(f"left out {v:04x} {name}: {e}", file=sys.stderr)
        continue
    s = strength(kx, au, c, mode, bits, mac, export)
    print(f"{v:04x},{name},{kx},{au},{c},{mode},{bits},{mac},{int(export)},{s}")
