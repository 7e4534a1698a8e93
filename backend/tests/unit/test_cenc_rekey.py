"""Re-keying CENC fMP4 segments without processes: segments built here box by box (moof/traf/tfhd/
trun/senc/mdat), encrypted the 'cenc' way, re-keyed and checked byte for byte. The same against
FFmpeg's own segments and decoder: tests/media/test_cenc_rekey_ffmpeg.py."""

from __future__ import annotations

import os
import random
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from app.services.archive.cenc_rekey import PLACEHOLDER_KEY, RekeyError, rekey_file, rekey_segment

KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
Subs = tuple[tuple[int, int], ...]


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags) + payload)


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


def _crypt_sample(key: bytes, iv: bytes, sample: bytes, subs: Subs) -> bytes:
    """CENC 'cenc': one CTR stream over the sample's protected bytes (AES-CTR is its own inverse)."""
    ranges = _protected(len(sample), subs)
    stream = _ctr(key, iv, b"".join(sample[o : o + n] for o, n in ranges))
    out, at = bytearray(sample), 0
    for o, n in ranges:
        out[o : o + n] = stream[at : at + n]
        at += n
    return bytes(out)


def _fragment(key: bytes, samples: list[tuple[bytes, bytes, Subs]], default_size: bool = False) -> bytes:
    """One moof + mdat: default-base-is-moof, a data offset, sizes in trun (or one size in tfhd)."""
    flags_tfhd = 0x20000 | (0x10 if default_size else 0)
    tfhd = _full(
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
    senc = _full(b"senc", 0, subs_flag, senc_body)
    trun_flags = 0x1 | (0 if default_size else 0x200)

    def build(offset: int) -> bytes:
        entries = b"" if default_size else b"".join(struct.pack(">I", len(s)) for s, _, _ in samples)
        trun = _full(b"trun", 0, trun_flags, struct.pack(">Ii", len(samples), offset) + entries)
        traf = _box(b"traf", tfhd + trun + senc)
        return _box(b"moof", _full(b"mfhd", 0, 0, struct.pack(">I", 1)) + traf)

    moof = build(0)
    moof = build(len(moof) + 8)  # the samples start right after the mdat header
    mdat = _box(b"mdat", b"".join(_crypt_sample(key, iv, s, subs) for s, iv, subs in samples))
    return moof + mdat


def _samples(seed: int, subsamples: bool) -> list[tuple[bytes, bytes, Subs]]:
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


def _decrypt_all(key: bytes, segment: bytes, samples: list[tuple[bytes, bytes, Subs]]) -> list[bytes]:
    """The samples of a segment `_fragment` built, decrypted with `key`, read back from the bytes."""
    out: list[bytes] = []
    pos = 0
    while pos < len(segment):
        size, kind = struct.unpack_from(">I4s", segment, pos)
        if kind == b"mdat":
            at = pos + 8
            for plain, iv, subs in samples[len(out) : len(out) + 12]:
                out.append(_crypt_sample(key, iv, segment[at : at + len(plain)], subs))
                at += len(plain)
        pos += size
    return out


@pytest.mark.parametrize(
    "subsamples", [True, False], ids=["video-like subsamples", "audio-like whole samples"]
)
def test_placeholder_segment_rekeyed_decrypts_with_the_real_key(subsamples: bool) -> None:
    first, second = _samples(1, subsamples), _samples(2, subsamples)
    # Two moof/mdat pairs in one file.
    staged = _fragment(PLACEHOLDER_KEY, first) + _fragment(PLACEHOLDER_KEY, second)
    archived = rekey_segment(staged, PLACEHOLDER_KEY, KEY)
    assert len(archived) == len(staged) and archived != staged
    plain = [s for s, _, _ in first + second]
    assert _decrypt_all(KEY, archived, first + second) == plain
    assert _decrypt_all(PLACEHOLDER_KEY, staged, first + second) == plain
    # Only the protected bytes changed: the boxes (and every clear subsample byte) are as written.
    moof_len = struct.unpack_from(">I", staged, 0)[0]
    assert archived[: moof_len + 8] == staged[: moof_len + 8]
    # Real key -> placeholder -> real key is byte-identical.
    assert rekey_segment(rekey_segment(archived, KEY, PLACEHOLDER_KEY), PLACEHOLDER_KEY, KEY) == archived


def test_sizes_from_the_tfhd_default() -> None:
    rnd = random.Random(3)
    samples: list[tuple[bytes, bytes, Subs]] = [(rnd.randbytes(371), os.urandom(8), ()) for _ in range(5)]
    staged = _fragment(PLACEHOLDER_KEY, samples, default_size=True)
    assert _decrypt_all(KEY, rekey_segment(staged, PLACEHOLDER_KEY, KEY), samples) == [
        s for s, _, _ in samples
    ]


@pytest.mark.parametrize(
    "damage",
    [
        lambda seg: seg[: len(seg) - 100],  # truncated: the mdat is short
        lambda seg: seg[:30],  # truncated inside the moof
        lambda seg: os.urandom(len(seg)),  # garbage
        lambda seg: b"",  # empty
        lambda seg: _box(b"mdat", b"x" * 50),  # no moof
    ],
    ids=["short mdat", "short moof", "garbage", "empty", "no moof"],
)
def test_a_broken_file_raises_and_writes_nothing(tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    staged = _fragment(PLACEHOLDER_KEY, _samples(4, True))
    src, dst = tmp_path / "stage.m4s", tmp_path / "out" / "seg.m4s"
    dst.parent.mkdir()
    src.write_bytes(damage(staged))
    with pytest.raises(RekeyError):
        rekey_file(src, dst, PLACEHOLDER_KEY, KEY)
    assert list(dst.parent.iterdir()) == []  # no file, no temp file
    assert src.exists()


def test_rekey_file_replaces_atomically(tmp_path: Path) -> None:
    staged = _fragment(PLACEHOLDER_KEY, _samples(5, False))
    src, dst = tmp_path / "a.m4s", tmp_path / "b.m4s"
    src.write_bytes(staged)
    rekey_file(src, dst, PLACEHOLDER_KEY, KEY)
    assert dst.read_bytes() == rekey_segment(staged, PLACEHOLDER_KEY, KEY)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.m4s", "b.m4s"]
