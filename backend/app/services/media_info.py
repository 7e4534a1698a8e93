"""Codec strings, resolution and bandwidth for the multivariant playlist, read from the archive.

Shaka needs CODECS, RESOLUTION and BANDWIDTH (MEDIA-NOTES 6). They are read once per encoder run
from its init segments (the `avcC` box and `tkhd` of the video track) and a few segment sizes.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
_VISUAL_SAMPLE_ENTRY_FIELDS = 78  # bytes between a visual sample entry's header and its child boxes


@dataclass(frozen=True)
class MediaInfo:
    video_codec: str
    audio_codec: str
    width: int
    height: int
    bandwidth: int  # bits per second, video + audio, peak of the sampled segments


DEFAULT_MEDIA_INFO = MediaInfo("avc1.64001e", "mp4a.40.2", 640, 360, 1_500_000)


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes in data[start:end]."""
    out = []
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, i)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, i + 8)[0]
            header = 16
        elif size == 0:
            size = end - i
        if size < header or i + size > end:
            break
        out.append((kind, i + header, i + size))
        i += size
    return out


def _find(data: bytes, start: int, end: int, want: bytes) -> tuple[int, int] | None:
    for kind, s, e in _boxes(data, start, end):
        if kind == want:
            return s, e
        if kind in _CONTAINERS:
            found = _find(data, s, e, want)
            if found:
                return found
        if kind == b"stsd":  # full box header + entry count, then sample entries
            for entry_kind, es, ee in _boxes(data, s + 8, e):
                if entry_kind in (b"avc1", b"encv"):
                    found = _find(data, es + _VISUAL_SAMPLE_ENTRY_FIELDS, ee, want)
                    if found:
                        return found
    return None


def read_video_init(path: Path) -> tuple[str, int, int] | None:
    """(codec string, width, height) of an fMP4 video init segment, None if unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    avcc = _find(data, 0, len(data), b"avcC")
    tkhd = _find(data, 0, len(data), b"tkhd")
    if avcc is None or tkhd is None:
        return None
    s, _ = avcc
    codec = f"avc1.{data[s + 1]:02x}{data[s + 2]:02x}{data[s + 3]:02x}"
    _, te = tkhd
    width, height = struct.unpack_from(">II", data, te - 8)
    return codec, width >> 16, height >> 16


def _peak_bitrate(folder: Path, durations: dict[str, float]) -> int:
    rates = []
    for name, dur in durations.items():
        try:
            rates.append(os.stat(folder / name).st_size * 8 / max(dur, 0.1))
        except OSError:
            continue
    return int(max(rates)) if rates else 0


@lru_cache(maxsize=256)
def media_info_for_run(
    run_path: Path, video_samples: tuple[tuple[str, float], ...], audio_samples: tuple[tuple[str, float], ...]
) -> MediaInfo:
    """Media info of one run; cached because a run's init segment never changes."""
    video = read_video_init(run_path / "video" / "init_0.mp4")
    if video is None:
        return DEFAULT_MEDIA_INFO
    codec, width, height = video
    bandwidth = _peak_bitrate(run_path / "video", dict(video_samples)) + _peak_bitrate(
        run_path / "audio", dict(audio_samples)
    )
    return MediaInfo(codec, "mp4a.40.2", width, height, int(bandwidth * 1.1) or DEFAULT_MEDIA_INFO.bandwidth)
