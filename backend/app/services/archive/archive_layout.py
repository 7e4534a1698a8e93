"""Where and how the encrypted archive lives on disk: the one contract between the SimLive
encoders (writers), retention (deleter) and the segment index / playlists (readers).

    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/run.json          metadata of one encoder run
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/video/init_0.mp4  init segment (carries the KID)
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/video/{YYYYmmddTHHMMSS}_{seq:06d}_{duration_us}.m4s
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/audio/init_1.mp4
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/audio/...m4s
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/video_{rung}/init_{2+i}.mp4  upper ladder rungs (i = 0..)
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/video_{rung}/...m4s
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/{rendition}/index.m3u8   FFmpeg's own short live list
    {HLS_SEGMENT_DIR}/{channel_key}/{run_id}/.staging/{rendition}/... what FFmpeg writes, private
                                            (0700) until re-keyed into the folders above (staging)
    {HLS_SEGMENT_DIR}/{channel_key}/evicted.json               the disk budget's last cut-off (disk_budget)
    {HLS_SEGMENT_DIR}/_thumbs/{tag}/{k:06d}.jpg               thumbnail sheets of a source (thumbnails)

Video renditions: `video` holds the base (lowest) rung of the bitrate ladder, `video_{name}` each
upper rung; `run.json` lists them (`rungs`). A run written before the ladder has no `rungs` and one
video rendition, `video`: it reads as a run with a single rung. Every video rendition of a run has
the same segment boundaries and numbers (the rungs' sources have aligned key frames and FFmpeg
stream-copies them side by side).

A run is one FFmpeg process: one key, one pair of init segments, one continuous timeline. A new run
(restart, crash, key rotation) means a discontinuity. The segment name's wall-clock part has 1-second
resolution and jitters; the timeline is `anchor + seq * segment_duration` (every segment of a run but
the last is exactly one segment duration, since the source GOP divides it) and durations come from
the name. A segment file appears only once it is complete and encrypted with the run's key (renamed
into place by FFmpeg, or by the re-keying of app/services/encoders/staging.py, which also copies
FFmpeg's playlist only after every segment it lists).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.config import Settings

RENDITIONS = ("video", "audio")
FPS = 25  # the frame rate of every rendition the encoders write
INIT_NAMES = {"video": "init_0.mp4", "audio": "init_1.mp4"}
RUN_FILE = "run.json"
PLAYLIST_NAME = "index.m3u8"
# What FFmpeg is given (%v = rendition, strftime fields, then %%06d/%%t filled in per segment).
FFMPEG_SEGMENT_PATTERN = "%Y%m%dT%H%M%S_%%06d_%%t.m4s"

CHANNEL_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")
RUN_ID_RE = re.compile(r"^r\d{13}$")
SEGMENT_RE = re.compile(r"^(\d{8}T\d{6})_(\d{6,})_(\d+)\.m4s$")
# `video` (base rung, and the only video of a run before the ladder), `video_{rung}`, `audio`.
RENDITION_RE = re.compile(r"^(?:video|audio|video_[a-z0-9]{1,12})$")
BASE_VIDEO = "video"
AUDIO = "audio"


def is_rendition(value: str) -> bool:
    return bool(RENDITION_RE.match(value))


@dataclass(frozen=True)
class RunRung:
    """One video rendition of a run: its folder, init segment, and the ladder rung it was made for."""

    rendition: str
    init: str
    name: str
    width: int
    height: int
    bitrate: int  # the rung's cap; the playlists measure what was written


LEGACY_RUNGS = (RunRung(BASE_VIDEO, INIT_NAMES[BASE_VIDEO], "video", 0, 0, 0),)


def run_rungs(rungs: list[tuple[str, int, int, int]]) -> tuple[RunRung, ...]:
    """The video renditions of a run encoding these (name, width, height, bitrate) rungs, lowest
    first: the base goes to `video` (init_0), audio is the second stream (init_1), then the upper
    rungs (init_2, init_3, ...), the order `-var_stream_map` numbers FFmpeg's init segments in."""
    out = []
    for i, (name, w, h, rate) in enumerate(rungs):
        if i == 0:
            out.append(RunRung(BASE_VIDEO, INIT_NAMES[BASE_VIDEO], name, w, h, rate))
        else:
            out.append(RunRung(f"{BASE_VIDEO}_{name}", f"init_{i + 1}.mp4", name, w, h, rate))
    return tuple(out)


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
    # Its video renditions, lowest rung first; () for a run written before the ladder (`video` only).
    rungs: tuple[RunRung, ...] = ()
    # Written after the fact, faster than real time, by `backfill` (not by a live encoder): the
    # only thing that tells such a run apart (coverage shows it). Absent from a live run's file.
    backfilled: bool = False

    @property
    def video_rungs(self) -> tuple[RunRung, ...]:
        return self.rungs or LEGACY_RUNGS

    @property
    def video_renditions(self) -> tuple[str, ...]:
        return tuple(r.rendition for r in self.video_rungs)

    @property
    def renditions(self) -> tuple[str, ...]:
        """Every folder the run writes: its video renditions and audio."""
        return (*self.video_renditions, AUDIO)

    def init_name(self, rendition: str) -> str:
        for r in self.video_rungs:
            if r.rendition == rendition:
                return r.init
        return INIT_NAMES.get(rendition, INIT_NAMES[BASE_VIDEO])

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        if not self.rungs:
            del data["rungs"]  # a single-rendition run reads exactly like one from before the ladder
        if not self.backfilled:
            del data["backfilled"]
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunInfo:
        data = json.loads(text)
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k not in ("rungs", "source", "backfilled")}
        rungs = tuple(
            RunRung(**{k: r[k] for k in RunRung.__dataclass_fields__}) for r in data.get("rungs") or ()
        )
        return cls(**fields, rungs=rungs, source=data.get("source"), backfilled=bool(data.get("backfilled")))


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
    for r in info.renditions:
        (d / r).mkdir(parents=True, exist_ok=True)
    tmp = d / (RUN_FILE + ".tmp")
    tmp.write_text(info.to_json())
    os.replace(tmp, d / RUN_FILE)
    return d


EVICTED_FILE = "evicted.json"


def write_evicted_before(root: Path, channel_key: str, cutoff: float) -> None:
    """Record that the disk budget deleted every segment of the channel that ended before `cutoff`
    (but those recordings hold), for the API replicas' indexes; atomic."""
    d = channel_dir(root, channel_key)
    tmp = d / (EVICTED_FILE + ".tmp")
    tmp.write_text(json.dumps({"before": cutoff}))
    os.replace(tmp, d / EVICTED_FILE)


def read_evicted_before(root: Path, channel_key: str) -> float | None:
    try:
        return float(json.loads((channel_dir(root, channel_key) / EVICTED_FILE).read_text())["before"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_run_info(path: Path) -> RunInfo | None:
    try:
        return RunInfo.from_json((path / RUN_FILE).read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def segment_url_path(channel_key: str, run_id: str, rendition: str, name: str) -> str:
    """Path of a file relative to the CDN root (`CDN_BASE_URL` + '/' + this)."""
    return f"{channel_key}/{run_id}/{rendition}/{name}"


def cache_dir(settings: Settings) -> Path:
    """The prepared sources: next to (never inside) the archive, so the CDN cannot serve them."""
    return settings.hls_segment_dir.parent / "sources-cache"
