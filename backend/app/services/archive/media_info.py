"""Codec strings, resolution, frame rate and bandwidth for the multivariant playlist, read from the
archive (what was written, not what the ladder asked for).

Shaka needs CODECS, RESOLUTION and BANDWIDTH (docs/MEDIA.md, M6). They are read once per encoder run and
video rendition (ladder rung) from its init segment (the `avcC` box and `tkhd` of the video track),
a few segments' sizes (peak and average bitrate) and their `trun` sample counts (frame rate).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"moof", b"traf"}
_VISUAL_SAMPLE_ENTRY_FIELDS = 78  # bytes between a visual sample entry's header and its child boxes
_HEAD_BYTES = 256 * 1024  # a segment's `moof` comes first and is a few kB


@dataclass(frozen=True)
class MediaInfo:
    video_codec: str
    audio_codec: str
    width: int
    height: int
    bandwidth: int  # bits per second, video + audio, peak of the sampled segments (+10 %)
    average_bandwidth: int = 0  # bits per second, video + audio, mean of the sampled segments
    frame_rate: float = 25.0
    rendition: str = "video"
    # bits per second, the audio's part of `bandwidth` (a DASH audio Representation's own)
    audio_bandwidth: int = 128_000


DEFAULT_MEDIA_INFO = MediaInfo("avc1.64001e", "mp4a.40.2", 640, 360, 1_500_000, 1_000_000)


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


def segment_sample_count(path: Path) -> int | None:
    """Samples (frames) in a media segment, from its `trun` (the `moof` is in the clear under CENC)."""
    try:
        with path.open("rb") as f:
            data = f.read(_HEAD_BYTES)
    except OSError:
        return None
    moof = _find(data, 0, len(data), b"moof")
    if moof is None:
        return None
    trun = _find(data, moof[0], moof[1], b"trun")
    if trun is None or trun[1] - trun[0] < 8:
        return None
    count: int = struct.unpack_from(">I", data, trun[0] + 4)[0]
    return count


def _bitrates(folder: Path, durations: dict[str, float]) -> list[float]:
    rates = []
    for name, dur in durations.items():
        try:
            rates.append(os.stat(folder / name).st_size * 8 / max(dur, 0.1))
        except OSError:
            continue
    return rates


def _frame_rate(folder: Path, durations: dict[str, float]) -> float | None:
    frames = seconds = 0.0
    for name, dur in durations.items():
        n = segment_sample_count(folder / name)
        if n:
            frames, seconds = frames + n, seconds + dur
    return round(frames / seconds, 3) if seconds > 0 else None


@lru_cache(maxsize=512)
def media_info_for_run(
    run_path: Path,
    video_samples: tuple[tuple[str, float], ...],
    audio_samples: tuple[tuple[str, float], ...],
    rendition: str = "video",
    init_name: str = "init_0.mp4",
) -> MediaInfo:
    """Media info of one run's video rendition (+ its audio); cached: an init segment never changes."""
    folder = run_path / rendition
    video = read_video_init(folder / init_name)
    if video is None:
        return replace(DEFAULT_MEDIA_INFO, rendition=rendition)
    codec, width, height = video
    v_rates = _bitrates(folder, dict(video_samples))
    a_rates = _bitrates(run_path / "audio", dict(audio_samples))
    peak = (max(v_rates) if v_rates else 0) + (max(a_rates) if a_rates else 0)
    mean = (sum(v_rates) / len(v_rates) if v_rates else 0) + (sum(a_rates) / len(a_rates) if a_rates else 0)
    fps = _frame_rate(folder, dict(video_samples)) or DEFAULT_MEDIA_INFO.frame_rate
    return MediaInfo(
        codec,
        "mp4a.40.2",
        width,
        height,
        int(peak * 1.1) or DEFAULT_MEDIA_INFO.bandwidth,
        int(mean) or DEFAULT_MEDIA_INFO.average_bandwidth,
        fps,
        rendition,
        int(max(a_rates) * 1.1) if a_rates else DEFAULT_MEDIA_INFO.audio_bandwidth,
    )
