"""Seek-bar thumbnails: tile sheets of a SimLive source, decoded once per source, never per channel.

A SimLive channel only ever shows its conformed source on a loop, so the picture at an archive
instant is the source's picture at the matching loop position. A run (`run.json`) records the
source it plays (`source`, the conformed file's content-addressed name), its `anchor` and the loop
position at the anchor (`loop_offset`), so a video segment starting at `start` shows

    loop position = (loop_offset + (start - anchor)) mod loop_seconds

Every source is therefore decoded once, in the background after its encoder started, into one
JPEG tile sheet per segment-long slot of the loop (`{k:06d}.jpg` covers loop positions
[k*d, (k+1)*d) for segment duration d), each sheet `tiles` pictures of 160x90 (one every
`tile_seconds`, 2 s for 6-s segments, row-major as FFmpeg's `tile` filter lays them out and as
Shaka reads EXT-X-TILES). Only key frames are decoded (`-skip_frame nokey`): conformed sources
have a key frame every second, so every tile's picture is a key frame and a ten-minute 720p loop
costs a couple of seconds of one core (at `nice` 19, one thread). Sheets live in the archive, in
`{HLS_SEGMENT_DIR}/_thumbs/{tag}/` (`_thumbs` is no channel key, so index, retention and coverage
never look at it), where the CDN serves them as `{CDN_BASE_URL}/_thumbs/{tag}/{k:06d}.jpg`. The
tag hashes the source's name (itself a hash of its content), the segment duration and the sheet
geometry: a name never changes meaning, so the CDN caches sheets for a year, immutable. A set is
built in a temporary directory and renamed into place with its `sheets.json`: a set is complete
or absent. Thumbnails carry no secret (the pictures are what anyone sees on air); the video stays
encrypted, and the image playlists come from the API like the media playlists.

The image playlist (`render_image_playlist` in manifest_generator) lists one sheet per video
segment of the video playlist, with the same EXTINF, PROGRAM-DATE-TIME and discontinuities, so
the picture Shaka picks for time t is the picture of the video at t. A master announces it only
when every run in its range has its sheets (runs written before runs recorded their source have
none: no thumbnails rather than wrong ones); a missing set is built on first demand if its source
is still in the cache.

Exactness needs runs to start on the sheet grid: true when a channel's loop is a whole number of
segments (every built-in channel: 600 s loops, 6 s segments, anchors on the 6-s grid). A loop that
is not (the tests' 20-s and 90-s loops) takes the nearest sheet, so a picture can be up to half a
segment off; sheets per whole second of the loop would remove that at six times the files.

A non-looping source (a real live feed) has no loop position to map to: its encoder would add a
low-rate image output to the same FFmpeg (`fps=1/2,scale=160:90,tile=3x1` on a split of the
decoded picture, written per segment next to the video segments with the same strftime names), or
a sidecar process would take key frames from the segments as they are written (the stills' way,
decrypting with the run's key, one key frame per tile); the image playlist would then name those
per-segment sheets instead of loop positions. Either way the cost is per channel and in real
time, which is what looping sources let us avoid.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings
from app.services.archive.archive_index import Segment
from app.services.archive.archive_layout import FPS, cache_dir
from app.services.archive.child_processes import die_with_parent_niced, ffmpeg_exe
from app.supervision import TaskSupervisor

log = logging.getLogger("tstv.thumbnails")

THUMBS_DIR = "_thumbs"  # inside the archive root; not a channel key (see archive_layout)
URL_PREFIX = THUMBS_DIR  # under CDN_BASE_URL
TILE_WIDTH, TILE_HEIGHT = 160, 90
MAX_COLUMNS = 5
JPEG_QUALITY = 6  # FFmpeg's -q:v for MJPEG
THUMBS_VERSION = "thumbs-v1"
MARKER = "sheets.json"
CODECS = "jpeg"
FFMPEG_TIMEOUT = 300.0
RETRY_AFTER_FAILURE = 300.0  # seconds before a failed source is tried again


def thumbs_root(archive_root: Path) -> Path:
    return Path(archive_root) / THUMBS_DIR


def tiles_per_segment(segment_duration: int) -> int:
    """A picture every 2 s when that divides the segment, else every second (key frames only)."""
    return segment_duration // 2 if segment_duration % 2 == 0 else segment_duration


@dataclass(frozen=True)
class SheetSet:
    """The sheets of one source for one segment duration."""

    source: str  # conformed source file name (content-addressed by encoders/sources.py)
    loop_seconds: int
    segment_duration: int

    @property
    def tiles(self) -> int:
        return tiles_per_segment(self.segment_duration)

    @property
    def tile_seconds(self) -> float:
        return self.segment_duration / self.tiles

    @property
    def columns(self) -> int:
        return min(self.tiles, MAX_COLUMNS)

    @property
    def rows(self) -> int:
        return math.ceil(self.tiles / self.columns)

    @property
    def layout(self) -> str:
        return f"{self.columns}x{self.rows}"

    @property
    def count(self) -> int:
        """Sheets in the loop (the last one partial when the loop is no multiple of d)."""
        return math.ceil(self.loop_seconds / self.segment_duration)

    @property
    def tag(self) -> str:
        key = (
            f"{THUMBS_VERSION}:{self.source}:{self.loop_seconds}:{self.segment_duration}:"
            f"{self.tiles}:{self.layout}:{TILE_WIDTH}x{TILE_HEIGHT}:{JPEG_QUALITY}"
        )
        return hashlib.sha256(key.encode()).hexdigest()[:20]

    def sheet_index(self, loop_position: float) -> int:
        """The sheet whose first tile shows `loop_position` (nearest slot: runs start on the grid)."""
        return round(loop_position / self.segment_duration) % self.count

    def url_path(self, index: int) -> str:
        """Relative to CDN_BASE_URL."""
        return f"{URL_PREFIX}/{self.tag}/{index:06d}.jpg"

    @property
    def bandwidth(self) -> int:
        """Bits per second for the master's BANDWIDTH: ~2.5 KB per tile (measured on the generated
        sources: 100 sheets of 3 tiles, 744 KB for a ten-minute loop)."""
        return math.ceil(self.tiles * 2500 * 8 / self.segment_duration)


def sheet_set_of(segment: Segment) -> SheetSet | None:
    run = segment.run
    if not run.source or not run.loop_seconds:
        return None
    return SheetSet(run.source, run.loop_seconds, run.segment_duration)


def loop_position(segment: Segment) -> float:
    run = segment.run
    return (run.loop_offset + (segment.start - run.anchor)) % run.loop_seconds


def ffmpeg_args(ffmpeg: str, source: Path, sheets: SheetSet, out_dir: Path) -> list[str]:
    """Key frames only, one every `tile_seconds`, scaled and laid out in sheets of `tiles`."""
    step = sheets.tile_seconds
    # Frames within half a frame of a multiple of `step` (key frames fall on whole seconds).
    half = 0.5 / FPS
    select = f"select='lt(mod(t+{half:.4f}\\,{step:g})\\,{2 * half:.4f})'"
    vf = f"{select},scale={TILE_WIDTH}:{TILE_HEIGHT},tile={sheets.layout}"
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-threads", "1"]
    if step == int(step):
        args += ["-skip_frame", "nokey"]
    args += ["-i", str(source), "-an", "-sn", "-vf", vf, "-fps_mode", "passthrough"]
    args += ["-q:v", str(JPEG_QUALITY), "-start_number", "0", "-f", "image2", str(out_dir / "%06d.jpg")]
    return args


class ThumbnailStore:
    """Builds and finds sheet sets: one FFmpeg at a time, never the same set twice at once."""

    def __init__(self, settings: Settings, builds: bool = True, tasks: TaskSupervisor | None = None) -> None:
        self.settings = settings
        self.tasks = tasks or TaskSupervisor()
        # An API replica only finds sets (on the shared archive); the workers build them.
        self.builds = builds
        self.root = thumbs_root(settings.hls_segment_dir)
        self.sources_dir = cache_dir(settings)
        self._ready: set[str] = set()
        self._inflight: dict[str, asyncio.Task[bool]] = {}
        self._failed_until: dict[str, float] = {}
        self._gate = asyncio.Semaphore(1)
        self.built: list[dict[str, float | int | str]] = []  # what each build cost (logs, report)

    def ready(self, sheets: SheetSet) -> bool:
        tag = sheets.tag
        if tag in self._ready:
            return True
        if (self.root / tag / MARKER).is_file():
            self._ready.add(tag)
            return True
        return False

    def request(self, sheets: SheetSet) -> None:
        """Build the set in the background if its source is in the cache (no-op when ready)."""
        if not self.builds or self.ready(sheets) or sheets.tag in self._inflight:
            return
        if self._failed_until.get(sheets.tag, 0.0) > time.monotonic():
            return
        source = self.sources_dir / sheets.source
        if not source.is_file():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.build(source, sheets), name=f"thumbs-{sheets.tag}")
        self.tasks.watch(task, "thumbnails")  # one-shot: the next request retries after the back-off
        self._inflight[sheets.tag] = task
        task.add_done_callback(lambda _t: self._inflight.pop(sheets.tag, None))

    async def close(self) -> None:
        """Cancel builds in progress (their FFmpeg is killed; a half-built set is never renamed in)."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def wait(self, sheets: SheetSet) -> bool:
        """Wait for a build in progress (tests); True when the set is ready."""
        task = self._inflight.get(sheets.tag)
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(task)
        return self.ready(sheets)

    async def build(self, source: Path, sheets: SheetSet) -> bool:
        async with self._gate:
            if self.ready(sheets):
                return True
            t0 = time.monotonic()
            try:
                size = await self._run(source, sheets)
            except Exception as exc:
                self._failed_until[sheets.tag] = time.monotonic() + RETRY_AFTER_FAILURE
                log.warning("thumbnails: not built", extra={"source": sheets.source, "error": str(exc)[:300]})
                return False
            self._ready.add(sheets.tag)
            took = round(time.monotonic() - t0, 2)
            self.built.append(
                {"source": sheets.source, "seconds": took, "bytes": size, "sheets": sheets.count}
            )
            log.info(
                "thumbnails: built",
                extra={"source": sheets.source, "tag": sheets.tag, "seconds": took, "bytes": size},
            )
            return True

    async def _run(self, source: Path, sheets: SheetSet) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{sheets.tag}.{os.getpid()}.tmp"
        await asyncio.to_thread(shutil.rmtree, tmp, True)
        tmp.mkdir()
        try:
            args = ffmpeg_args(ffmpeg_exe(self.settings), source, sheets, tmp)
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                preexec_fn=die_with_parent_niced,
            )
            try:
                _, err = await asyncio.wait_for(proc.communicate(), FFMPEG_TIMEOUT)
            finally:
                if proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
            names = sorted(p.name for p in tmp.iterdir() if p.suffix == ".jpg")
            if proc.returncode != 0 or len(names) < sheets.count:
                tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["too few sheets"]
                raise RuntimeError(f"ffmpeg exited {proc.returncode}, {len(names)} sheets: {tail[0]}")
            for extra in names[sheets.count :]:  # never more than the loop holds
                (tmp / extra).unlink()
            size = sum((tmp / n).stat().st_size for n in names[: sheets.count])
            (tmp / MARKER).write_text(
                json.dumps(
                    {
                        "source": sheets.source,
                        "loop_seconds": sheets.loop_seconds,
                        "segment_duration": sheets.segment_duration,
                        "tiles": sheets.tiles,
                        "layout": sheets.layout,
                        "tile": f"{TILE_WIDTH}x{TILE_HEIGHT}",
                        "sheets": sheets.count,
                    },
                    sort_keys=True,
                )
            )
            final = self.root / sheets.tag
            try:
                os.rename(tmp, final)
            except OSError:
                if not (final / MARKER).is_file():
                    raise
            return size
        finally:
            await asyncio.to_thread(shutil.rmtree, tmp, True)
