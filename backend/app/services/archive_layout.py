"""Where and how the encrypted archive lives on disk: the one contract between the SimLive
encoders (writers), retention (deleter) and the segment index / playlists (readers).

    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/run.json          metadata of one encoder run
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/video/init_0.mp4  init segment (carries the KID)
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/video/{YYYYmmddTHHMMSS}_{seq:06d}_{duration_us}.m4s
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/audio/init_1.mp4
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/audio/...m4s
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/{rendition}/index.m3u8   FFmpeg's own short live list
    {HLS_SEGMENT_DIR}/_thumbs/{tag}/{k:06d}.jpg               thumbnail sheets of a source (thumbnails)

A run is one FFmpeg process: one key, one pair of init segments, one continuous timeline. A new run
(restart, crash, key rotation) means a discontinuity. The segment name's wall-clock part has 1-second
resolution and jitters; the timeline is `anchor + seq * segment_duration` (every segment of a run but
the last is exactly one segment duration, since the source GOP divides it) and durations come from
the name. FFmpeg renames a segment into place only once it is complete.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

RENDITIONS = ("video", "audio")
INIT_NAMES = {"video": "init_0.mp4", "audio": "init_1.mp4"}
RUN_FILE = "run.json"
PLAYLIST_NAME = "index.m3u8"
# What FFmpeg is given (%v = rendition, strftime fields, then %%06d/%%t filled in per segment).
FFMPEG_SEGMENT_PATTERN = "%Y%m%dT%H%M%S_%%06d_%%t.m4s"

CHANNEL_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")
RUN_ID_RE = re.compile(r"^r\d{13}$")
SEGMENT_RE = re.compile(r"^(\d{8}T\d{6})_(\d{6,})_(\d+)\.m4s$")


def is_channel_key(value: str) -> bool:
    """A plain key (no dots, slashes, or length tricks): safe to join onto a path."""
    return bool(CHANNEL_KEY_RE.match(value))


def run_id_for(started_at: float) -> str:
    return f"r{round(started_at * 1000):013d}"


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    channel_key: str
    anchor: float  # epoch seconds: the programme-date-time of the run's first frame
    segment_duration: int
    kid: str | None  # 32 hex chars; None when DRM is off
    started_at: float  # epoch seconds when the process was spawned
    loop_seconds: int
    loop_offset: float  # where in the source loop the run started
    # The conformed source file it plays (content-addressed name in the source cache): what the
    # thumbnails are made of. None for runs written before runs recorded it.
    source: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunInfo:
        data = json.loads(text)
        optional = {"source"}
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data or k not in optional})


@dataclass(frozen=True)
class SegmentName:
    wallclock: str
    seq: int
    duration_us: int

    @property
    def duration(self) -> float:
        return self.duration_us / 1_000_000


def parse_segment_name(name: str) -> SegmentName | None:
    m = SEGMENT_RE.match(name)
    if m is None:
        return None
    return SegmentName(m.group(1), int(m.group(2)), int(m.group(3)))


def channel_dir(root: Path, channel_key: str) -> Path:
    if not is_channel_key(channel_key):
        raise ValueError(f"not a channel key: {channel_key!r}")
    return root / channel_key


def run_dir(root: Path, channel_key: str, run_id: str) -> Path:
    if not RUN_ID_RE.match(run_id):
        raise ValueError(f"not a run id: {run_id!r}")
    return channel_dir(root, channel_key) / run_id


def write_run_info(root: Path, info: RunInfo) -> Path:
    """Create the run directory and its metadata atomically (readers never see half a file)."""
    d = run_dir(root, info.channel_key, info.run_id)
    for r in RENDITIONS:
        (d / r).mkdir(parents=True, exist_ok=True)
    tmp = d / (RUN_FILE + ".tmp")
    tmp.write_text(info.to_json())
    os.replace(tmp, d / RUN_FILE)
    return d


def read_run_info(path: Path) -> RunInfo | None:
    try:
        return RunInfo.from_json((path / RUN_FILE).read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def segment_url_path(channel_key: str, run_id: str, rendition: str, name: str) -> str:
    """Path of a file relative to the CDN root (`CDN_BASE_URL` + '/' + this)."""
    return f"{channel_key}/{run_id}/{rendition}/{name}"
