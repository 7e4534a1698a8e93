"""Re-keying CENC ('cenc', AES-CTR) fMP4 media segments from one content key to another.

Why: FFmpeg can only be given a CENC key on its command line (docs/MEDIA.md, M18), where any
local user reads it in /proc. The encoders therefore give FFmpeg a fixed, public placeholder key
(`PLACEHOLDER_KEY`) and the channel's real KID (not secret: every manifest and init segment
carries it), let it write into a private staging folder, and this module turns each finished
segment into the real archive file: every sample's protected bytes are decrypted with the
placeholder keystream and encrypted with the real one. Init segments need no change (`tenc`
holds only the KID), nor do `senc` IVs or any box: only sample data bytes change, so sizes and
offsets stay the same. Stills do the reverse (real key to placeholder) so their FFmpeg is given
only the public key too (app/services/archive/stills.py).

The 'cenc' scheme (ISO/IEC 23001-7): a sample's counter block is its IV from `senc` (8 bytes,
padded with 8 zero bytes; a 16-byte IV as is); with subsamples (senc flag 0x2) only the protected
ranges are encrypted, and the protected bytes of one sample are ONE continuous CTR stream across
its subsamples. Where a sample lies comes from `tfhd`/`trun` (base data offset, default-base-is-
moof, data offset, sample sizes or the tfhd default size); a file may hold several moof/mdat pairs.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# Public by design: whatever FFmpeg encrypts with it is only ever written to a private staging
# folder, and nothing secret is on a command line.
PLACEHOLDER_KEY = bytes(16)
PLACEHOLDER_KEY_HEX = PLACEHOLDER_KEY.hex()

_TFHD_BASE_OFFSET = 0x1
_TFHD_DEFAULT_SIZE = 0x10
_SENC_OVERRIDE = 0x1
_SENC_SUBSAMPLES = 0x2


class RekeyError(ValueError):
    """The file is not a complete CENC fMP4 media segment this module can re-key."""


@dataclass(frozen=True)
class _Box:
    type: bytes
    start: int  # offset of the box header in the buffer
    body: int  # offset of the payload
    end: int


def _boxes(data: bytes | bytearray, start: int, end: int) -> Iterator[_Box]:
    pos = start
    while pos < end:
        if end - pos < 8:
            raise RekeyError(f"truncated box header at {pos}")
        size, kind = struct.unpack_from(">I4s", data, pos)
        body = pos + 8
        if size == 1:
            if end - pos < 16:
                raise RekeyError(f"truncated large box header at {pos}")
            (size,) = struct.unpack_from(">Q", data, body)
            body += 8
        elif size == 0:
            size = end - pos
        if size < body - pos or pos + size > end:
            raise RekeyError(f"box {kind!r} at {pos} runs past its parent ({size} bytes)")
        yield _Box(kind, pos, body, pos + size)
        pos += size


def _child(data: bytes | bytearray, parent: _Box, kind: bytes) -> _Box | None:
    return next((b for b in _boxes(data, parent.body, parent.end) if b.type == kind), None)


def _full_box(data: bytes | bytearray, box: _Box) -> tuple[int, int]:
    """(version, flags) of a full box."""
    if box.end - box.body < 4:
        raise RekeyError(f"box {box.type!r} too short")
    word: int = struct.unpack_from(">I", data, box.body)[0]
    return word >> 24, word & 0xFFFFFF


@dataclass(frozen=True)
class _Sample:
    offset: int  # absolute, in the file
    size: int
    iv: bytes
    subsamples: tuple[tuple[int, int], ...]  # (clear, protected); () = the whole sample is protected


def _tfhd(data: bytes | bytearray, tfhd: _Box, moof_start: int) -> tuple[int, int | None]:
    """(base data offset, default sample size) of a track fragment."""
    _, flags = _full_box(data, tfhd)
    pos = tfhd.body + 8  # version/flags, track_ID
    # default-base-is-moof (what FFmpeg writes), and the implicit base of a moof's first traf alike
    base = moof_start
    if flags & _TFHD_BASE_OFFSET:
        (base,) = struct.unpack_from(">Q", data, pos)
        pos += 8
    for bit in (0x2, 0x8):  # sample description index, default duration
        pos += 4 if flags & bit else 0
    default_size = struct.unpack_from(">I", data, pos)[0] if flags & _TFHD_DEFAULT_SIZE else None
    if pos + (4 if default_size is not None else 0) > tfhd.end:
        raise RekeyError("truncated tfhd")
    return base, default_size


def _trun(data: bytes | bytearray, trun: _Box, base: int, default_size: int | None) -> list[tuple[int, int]]:
    """(absolute offset, size) of each sample a trun lists."""
    _, flags = _full_box(data, trun)
    (count,) = struct.unpack_from(">I", data, trun.body + 4)
    pos = trun.body + 8
    offset = base
    if flags & 0x1:
        (rel,) = struct.unpack_from(">i", data, pos)
        offset, pos = base + rel, pos + 4
    pos += 4 if flags & 0x4 else 0  # first sample flags
    fields = [bit for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit]
    if pos + 4 * len(fields) * count > trun.end:
        raise RekeyError("truncated trun")
    out = []
    for _ in range(count):
        size = default_size
        for bit in fields:
            if bit == 0x200:
                (size,) = struct.unpack_from(">I", data, pos)
            pos += 4
        if size is None:
            raise RekeyError("no sample size in trun or tfhd")
        out.append((offset, size))
        offset += size
    return out


def _senc(data: bytes | bytearray, senc: _Box, count: int) -> list[tuple[bytes, tuple[tuple[int, int], ...]]]:
    """Each sample's (IV, subsamples). The IV size is not in senc (it is in the init's tenc):
    the size, 8 or 16, that accounts for the box exactly is the one."""
    _, flags = _full_box(data, senc)
    pos = senc.body + 4
    if flags & _SENC_OVERRIDE:
        pos += 20  # AlgorithmID (3), IV size (1), KID (16)
    (listed,) = struct.unpack_from(">I", data, pos)
    if listed != count:
        raise RekeyError(f"senc lists {listed} samples, trun {count}")
    for iv_size in (8, 16):
        parsed = _senc_entries(data, pos + 4, senc.end, count, iv_size, bool(flags & _SENC_SUBSAMPLES))
        if parsed is not None:
            return parsed
    raise RekeyError("senc entries do not match 8- or 16-byte IVs")


def _senc_entries(
    data: bytes | bytearray, pos: int, end: int, count: int, iv_size: int, subs: bool
) -> list[tuple[bytes, tuple[tuple[int, int], ...]]] | None:
    out = []
    for _ in range(count):
        if pos + iv_size + (2 if subs else 0) > end:
            return None
        iv = bytes(data[pos : pos + iv_size])
        pos += iv_size
        pairs: tuple[tuple[int, int], ...] = ()
        if subs:
            (n,) = struct.unpack_from(">H", data, pos)
            pos += 2
            if pos + 6 * n > end:
                return None
            pairs = tuple(struct.unpack_from(">HI", data, pos + 6 * i) for i in range(n))
            pos += 6 * n
        out.append((iv, pairs))
    return out if pos == end else None


def _samples(data: bytes | bytearray) -> Iterator[_Sample]:
    """Every encrypted sample of every moof of a media segment."""
    moofs = 0
    for moof in (b for b in _boxes(data, 0, len(data)) if b.type == b"moof"):
        moofs += 1
        for traf in (b for b in _boxes(data, moof.body, moof.end) if b.type == b"traf"):
            tfhd, senc = _child(data, traf, b"tfhd"), _child(data, traf, b"senc")
            if tfhd is None:
                raise RekeyError("traf without tfhd")
            base, default_size = _tfhd(data, tfhd, moof.start)
            placed: list[tuple[int, int]] = []
            for trun in (b for b in _boxes(data, traf.body, traf.end) if b.type == b"trun"):
                placed += _trun(data, trun, placed[-1][0] + placed[-1][1] if placed else base, default_size)
            if senc is None:
                if placed:
                    raise RekeyError("samples without senc: not a CENC segment")
                continue
            for (offset, size), (iv, subs) in zip(placed, _senc(data, senc, len(placed)), strict=True):
                if offset < moof.end or offset + size > len(data):
                    raise RekeyError(f"sample at {offset} (+{size}) lies outside the file")
                if subs and sum(c + p for c, p in subs) != size:
                    raise RekeyError(f"subsamples of the sample at {offset} do not add up to {size}")
                yield _Sample(offset, size, iv, subs)
    if moofs == 0:
        raise RekeyError("no moof: not an fMP4 media segment")


def _ctr(key: bytes, iv: bytes) -> Cipher[modes.CTR]:
    return Cipher(algorithms.AES(key), modes.CTR(iv.ljust(16, b"\0")))


def rekey_segment(data: bytes, from_key: bytes, to_key: bytes) -> bytes:
    """The segment `data` (encrypted with `from_key`) encrypted with `to_key` instead; same size,
    same boxes. Raises RekeyError for anything that is not a complete CENC media segment."""
    out = bytearray(data)
    try:
        samples = list(_samples(data))
    except struct.error as exc:
        raise RekeyError(f"truncated box: {exc}") from None
    for s in samples:
        ranges = [(s.offset, s.size)] if not s.subsamples else []
        pos = s.offset
        for clear, protected in s.subsamples:
            ranges.append((pos + clear, protected))
            pos += clear + protected
        protected_bytes = b"".join(data[o : o + n] for o, n in ranges)
        plain = _ctr(from_key, s.iv).decryptor().update(protected_bytes)
        again = _ctr(to_key, s.iv).encryptor().update(plain)
        at = 0
        for o, n in ranges:
            out[o : o + n] = again[at : at + n]
            at += n
    return bytes(out)


def rekey_file(src: Path, dst: Path, from_key: bytes, to_key: bytes) -> None:
    """Write `src` re-keyed to `dst` atomically: a hidden temp file in `dst`'s folder (no reader
    matches its name) renamed into place, so `dst` is complete or absent. On any error nothing is
    left at `dst` and `src` is untouched."""
    result = rekey_segment(src.read_bytes(), from_key, to_key)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.rekey.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(result)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
