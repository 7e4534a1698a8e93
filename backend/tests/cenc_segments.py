"""CENC 'cenc' media segments built box by box (moof/traf/tfhd/trun/senc/mdat) for tests without
FFmpeg: app/services/archive/cenc_rekey.py and app/services/encoders/staging.py."""

from __future__ import annotations

import os
import random
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

Subs = tuple[tuple[int, int], ...]


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", version << 24 | flags) + payload)


def _ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    return Cipher(algorithms.AES(key), modes.CTR(iv.ljust(16, b"\0"))).encryptor().update(data)


def _protected(size: int, subs: Subs) -> list[tuple[int, int]]:
    """(offset in the sample, length) of its protected ranges."""
    if not subs:
        return [(0, size)]
    out, pos = [], 0
    for clear, prot in subs:
        out.append((pos + clear, prot))
        pos += clear + prot
    return out


def crypt_sample(key: bytes, iv: bytes, sample: bytes, subs: Subs) -> bytes:
    """CENC 'cenc': one CTR stream over the sample's protected bytes (AES-CTR is its own inverse)."""
    ranges = _protected(len(sample), subs)
    stream = _ctr(key, iv, b"".join(sample[o : o + n] for o, n in ranges))
    out, at = bytearray(sample), 0
    for o, n in ranges:
        out[o : o + n] = stream[at : at + n]
        at += n
    return bytes(out)


def fragment(key: bytes, samples: list[tuple[bytes, bytes, Subs]], default_size: bool = False) -> bytes:
    """One moof + mdat: default-base-is-moof, a data offset, sizes in trun (or one size in tfhd)."""
    flags_tfhd = 0x20000 | (0x10 if default_size else 0)
    tfhd = full(
        b"tfhd",
        0,
        flags_tfhd,
        struct.pack(">I", 1) + (struct.pack(">I", len(samples[0][0])) if default_size else b""),
    )
    subs_flag = 0x2 if any(s for _, _, s in samples) else 0
    senc_body = struct.pack(">I", len(samples))
    for _, iv, subs in samples:
        senc_body += iv
        if subs_flag:
            senc_body += struct.pack(">H", len(subs)) + b"".join(struct.pack(">HI", c, p) for c, p in subs)
    senc = full(b"senc", 0, subs_flag, senc_body)
    trun_flags = 0x1 | (0 if default_size else 0x200)

    def build(offset: int) -> bytes:
        entries = b"" if default_size else b"".join(struct.pack(">I", len(s)) for s, _, _ in samples)
        trun = full(b"trun", 0, trun_flags, struct.pack(">Ii", len(samples), offset) + entries)
        traf = box(b"traf", tfhd + trun + senc)
        return box(b"moof", full(b"mfhd", 0, 0, struct.pack(">I", 1)) + traf)

    moof = build(0)
    moof = build(len(moof) + 8)  # the samples start right after the mdat header
    mdat = box(b"mdat", b"".join(crypt_sample(key, iv, s, subs) for s, iv, subs in samples))
    return moof + mdat


def samples(seed: int, subsamples: bool) -> list[tuple[bytes, bytes, Subs]]:
    rnd = random.Random(seed)
    out = []
    for _ in range(12):
        size = rnd.randrange(40, 3000)
        sample = bytes(rnd.randrange(256) for _ in range(size))
        subs: Subs = ()
        if subsamples:  # like H.264: two NAL units, each a clear header and a protected rest
            first = rnd.randrange(10, size - 10)
            subs = ((5, first - 5), (3, size - first - 3))
        out.append((sample, os.urandom(8), subs))
    return out
