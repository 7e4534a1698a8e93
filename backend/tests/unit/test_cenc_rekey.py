"""Re-keying CENC fMP4 segments without processes: segments built box by box
(tests/cenc_segments.py), re-keyed and checked byte for byte. The same against FFmpeg's own
segments and decoder: tests/media/test_cenc_rekey_ffmpeg.py."""

from __future__ import annotations

import os
import random
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from app.services.archive.cenc_rekey import PLACEHOLDER_KEY, RekeyError, rekey_file, rekey_segment
from tests.cenc_segments import Subs, box, crypt_sample, fragment, samples

KEY = bytes.fromhex("00112233445566778899aabbccddeeff")


def _decrypt_all(key: bytes, segment: bytes, samples: list[tuple[bytes, bytes, Subs]]) -> list[bytes]:
    """The samples of a segment `fragment` built, decrypted with `key`, read back from the bytes."""
    out: list[bytes] = []
    pos = 0
    while pos < len(segment):
        size, kind = struct.unpack_from(">I4s", segment, pos)
        if kind == b"mdat":
            at = pos + 8
            for plain, iv, subs in samples[len(out) : len(out) + 12]:
                out.append(crypt_sample(key, iv, segment[at : at + len(plain)], subs))
                at += len(plain)
        pos += size
    return out


@pytest.mark.parametrize(
    "subsamples", [True, False], ids=["video-like subsamples", "audio-like whole samples"]
)
def test_placeholder_segment_rekeyed_decrypts_with_the_real_key(subsamples: bool) -> None:
    first, second = samples(1, subsamples), samples(2, subsamples)
    # Two moof/mdat pairs in one file.
    staged = fragment(PLACEHOLDER_KEY, first) + fragment(PLACEHOLDER_KEY, second)
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
    same_size: list[tuple[bytes, bytes, Subs]] = [(rnd.randbytes(371), os.urandom(8), ()) for _ in range(5)]
    staged = fragment(PLACEHOLDER_KEY, same_size, default_size=True)
    assert _decrypt_all(KEY, rekey_segment(staged, PLACEHOLDER_KEY, KEY), same_size) == [
        s for s, _, _ in same_size
    ]


@pytest.mark.parametrize(
    "damage",
    [
        lambda seg: seg[: len(seg) - 100],  # truncated: the mdat is short
        lambda seg: seg[:30],  # truncated inside the moof
        lambda seg: os.urandom(len(seg)),  # garbage
        lambda seg: b"",  # empty
        lambda seg: box(b"mdat", b"x" * 50),  # no moof
    ],
    ids=["short mdat", "short moof", "garbage", "empty", "no moof"],
)
def test_a_broken_file_raises_and_writes_nothing(tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    staged = fragment(PLACEHOLDER_KEY, samples(4, True))
    src, dst = tmp_path / "stage.m4s", tmp_path / "out" / "seg.m4s"
    dst.parent.mkdir()
    src.write_bytes(damage(staged))
    with pytest.raises(RekeyError):
        rekey_file(src, dst, PLACEHOLDER_KEY, KEY)
    assert list(dst.parent.iterdir()) == []  # no file, no temp file
    assert src.exists()


def test_rekey_file_replaces_atomically(tmp_path: Path) -> None:
    staged = fragment(PLACEHOLDER_KEY, samples(5, False))
    src, dst = tmp_path / "a.m4s", tmp_path / "b.m4s"
    src.write_bytes(staged)
    rekey_file(src, dst, PLACEHOLDER_KEY, KEY)
    assert dst.read_bytes() == rekey_segment(staged, PLACEHOLDER_KEY, KEY)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.m4s", "b.m4s"]
