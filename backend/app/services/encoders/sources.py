"""SimLive sources: generate or conform a channel's loop once per ladder rung, cache it by content,
reuse it.

A conformed source is H.264 (no B-frames, a key frame every second at 25 fps, so the GOP divides any
integer segment duration) + AAC 48 kHz, exactly `loop_seconds` long (audio a hair shorter, so a loop
wrap never overlaps). Real-time playout is then a cheap stream copy (docs/MEDIA.md, M5).

There is one file per rung of the bitrate ladder (`ABR_LADDER`), at the rung's size, its bitrate as
the cap (`-maxrate`, capped CRF: a test pattern needs far less). Every rung has the same frame count,
frame rate and fixed GOP, so their key frames (and thus segment boundaries) are at the same instants;
each also carries the same audio, so any rung can play alone. The cache key includes the rung.

Generated sources carry, besides the channel name and the programme clock (mm:ss, when a font is
available), a machine-readable marker: the frame number inside the loop as 16 white/black boxes along
the bottom left (bit i at x = MARKER_X0 + i * MARKER_STEP). `decode_marker` reads it back from a
decoded grey frame; tests use it to check that what is on air matches the EPG.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import logging
import os
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import Settings
from app.ladder import Rung
from app.services.archive.archive_layout import FPS, cache_dir
from app.services.archive.child_processes import (
    die_with_parent,
    die_with_parent_niced,
    ffmpeg_exe,
    follow_progress,
)

log = logging.getLogger("tstv.sources")

GOP_FRAMES = 25  # one second: divides every integer HLS_SEGMENT_DURATION
AUDIO_RATE = 48000
AAC_FRAME = 1024
GEN_WIDTH, GEN_HEIGHT = 640, 360
GENERATOR_VERSION = "gen-v2"  # v2: one file per ladder rung
CONFORM_VERSION = "conform-v2"
CRF = 28
# Source preparation runs at nice 19 with a bounded number of encoder threads, so the server and
# the encoders already on air never wait for it (a first start prepares every channel at once).
PREPARE_THREADS = 2

MARKER_BITS = 16
MARKER_X0 = 10
MARKER_STEP = 20
MARKER_SIZE = 16
MARKER_Y = GEN_HEIGHT - 30

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
)

_DURATION_RE = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_HAS_AUDIO_RE = re.compile(r"Stream #\d+:\d+.*: Audio:")
_HAS_VIDEO_RE = re.compile(r"Stream #\d+:\d+.*: Video:")

ProgressFn = Callable[[float], None]


def find_font() -> str | None:
    for f in FONT_CANDIDATES:
        if os.path.isfile(f):
            return f
    return None


def audio_samples(loop_seconds: int) -> int:
    """Audio length in samples: whole AAC frames, one frame short of the loop (no overlap at a wrap)."""
    return (loop_seconds * AUDIO_RATE // AAC_FRAME - 1) * AAC_FRAME


class SourceError(RuntimeError):
    pass


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    has_video: bool
    has_audio: bool


async def probe(ffmpeg: str, path: Path) -> MediaInfo:
    """`ffmpeg -i` prints the container facts on stderr (there is no ffprobe here)."""
    proc = await asyncio.create_subprocess_exec(
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-i",
        str(path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=die_with_parent,
    )
    _, err = await proc.communicate()
    text = err.decode("utf-8", "replace")
    m = _DURATION_RE.search(text)
    if m is None:
        raise SourceError(f"cannot read {path.name}: {text.strip().splitlines()[-1:] or 'no output'}")
    duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return MediaInfo(duration, bool(_HAS_VIDEO_RE.search(text)), bool(_HAS_AUDIO_RE.search(text)))


def _escape_filter_value(value: str) -> str:
    """Escape a value for use inside a filtergraph option (quotes, colons, backslashes)."""
    return value.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\:").replace(",", "\\,")


def marker_filters() -> str:
    parts = [
        f"drawbox=x=0:y={MARKER_Y - 10}:w={MARKER_X0 + MARKER_BITS * MARKER_STEP}:h=40:color=black:t=fill"
    ]
    for i in range(MARKER_BITS):
        x = MARKER_X0 + i * MARKER_STEP
        parts.append(
            f"drawbox=x={x}:y={MARKER_Y}:w={MARKER_SIZE}:h={MARKER_SIZE}:color=white:t=fill:"
            f"enable='gte(mod(n\\,{2 ** (i + 1)})\\,{2**i})'"
        )
    return ",".join(parts)


def decode_marker(frame: bytes, width: int = GEN_WIDTH) -> int:
    """Frame number (within the loop, modulo 2**16) from a decoded 8-bit grey frame."""
    value = 0
    y = MARKER_Y + MARKER_SIZE // 2
    for i in range(MARKER_BITS):
        x = MARKER_X0 + i * MARKER_STEP + MARKER_SIZE // 2
        if frame[y * width + x] > 128:
            value |= 1 << i
    return value


def _x264_args(rung: Rung) -> list[str]:
    return [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        str(CRF),
        "-maxrate",
        str(rung.bitrate),
        "-bufsize",
        str(2 * rung.bitrate),
        "-bf",
        "0",
        "-g",
        str(GOP_FRAMES),
        "-keyint_min",
        str(GOP_FRAMES),
        "-sc_threshold",
        "0",
        "-pix_fmt",
        "yuv420p",
        "-r",
        str(FPS),
        "-threads",
        str(PREPARE_THREADS),
    ]


def generate_args(
    ffmpeg: str, name: str, loop_seconds: int, text_file: Path | None, out: Path, rung: Rung
) -> list[str]:
    """The test pattern is drawn at 640x360 (the marker's pixel positions) and scaled to the rung."""
    vf = [f"drawbox=x=0:y={GEN_HEIGHT - 60}:w=iw*t/{loop_seconds}:h=12:color=yellow:t=fill", marker_filters()]
    font = find_font()
    if font is not None and text_file is not None:
        vf.append(
            f"drawtext=fontfile='{_escape_filter_value(font)}':textfile='{_escape_filter_value(str(text_file))}'"
            ":fontsize=40:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=8:x=24:y=40"
        )
    if (rung.width, rung.height) != (GEN_WIDTH, GEN_HEIGHT):
        vf.append(f"scale={rung.width}:{rung.height},setsar=1")
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "warning",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"smptebars=size={GEN_WIDTH}x{GEN_HEIGHT}:rate={FPS}:duration={loop_seconds}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:beep_factor=2:sample_rate={AUDIO_RATE}:duration={loop_seconds}",
        "-vf",
        ",".join(vf),
        "-af",
        f"atrim=end_sample={audio_samples(loop_seconds)}",
        *_x264_args(rung),
        "-c:a",
        "aac",
        "-b:a",
        "48k",
        "-ac",
        "1",
        "-metadata",
        f"title={name}",
        "-movflags",
        "+faststart",
        "-progress",
        "pipe:1",
        "-f",
        "mp4",
        str(out),
    ]


def conform_args(
    ffmpeg: str, src: Path, info: MediaInfo, loop_seconds: int, out: Path, rung: Rung
) -> list[str]:
    """Transcode once per rung: loop the input if it is shorter than the programme, cut it if longer;
    fit it into the rung's size (letter- or pillar-boxed), so every rung has its exact resolution."""
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning", "-y"]
    args += ["-stream_loop", "-1", "-i", str(src)]
    if not info.has_audio:
        args += ["-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE}:cl=stereo"]
    args += ["-map", "0:v:0", "-map", "0:a:0" if info.has_audio else "1:a:0"]
    w, h = rung.width, rung.height
    fit = f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1"
    args += ["-vf", f"fps={FPS},{fit}", "-frames:v", str(loop_seconds * FPS)]
    args += ["-af", f"aresample={AUDIO_RATE},atrim=end_sample={audio_samples(loop_seconds)}"]
    args += _x264_args(rung)
    args += ["-c:a", "aac", "-b:a", "96k", "-ac", "2", "-movflags", "+faststart"]
    args += ["-progress", "pipe:1", "-f", "mp4", str(out)]
    return args


def _file_digest(path: Path) -> str:
    """sha256 of the file's content (the caller memoises it by path, size and mtime)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _PriorityGate:
    """At most `slots` holders; a slot goes to the lowest priority number waiting (then the longest
    waiting), never to a later priority while an earlier one holds one: on a first start the last
    base rung encodes alone, not beside an upper rung (its channel is on air and backfilled sooner)."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = 0
        self._holding: Counter[int] = Counter()  # slots held, per priority

    def _may_enter(self, priority: int) -> bool:
        return not any(n for p, n in self._holding.items() if p < priority)

    @contextlib.asynccontextmanager
    async def hold(self, priority: int) -> AsyncIterator[None]:
        if self._free > 0 and not self._waiters and self._may_enter(priority):
            self._free, self._holding[priority] = self._free - 1, self._holding[priority] + 1
        else:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._seq += 1
            heapq.heappush(self._waiters, (priority, self._seq, fut))
            self._dispatch()  # a slot kept free from a later priority may be this one's
            try:
                await fut  # `_dispatch` took the slot for this holder
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._release(priority)  # handed a slot while being cancelled: pass it on
                raise
        try:
            yield
        finally:
            self._release(priority)

    def _release(self, priority: int) -> None:
        self._holding[priority] -= 1
        self._free += 1
        self._dispatch()

    def _dispatch(self) -> None:
        while self._free > 0 and self._waiters:
            priority, _, fut = self._waiters[0]
            if fut.done():  # cancelled while waiting
                heapq.heappop(self._waiters)
                continue
            if not self._may_enter(priority):
                return
            heapq.heappop(self._waiters)
            self._free, self._holding[priority] = self._free - 1, self._holding[priority] + 1
            fut.set_result(None)


class SourceCache:
    """Prepares sources, at most `concurrency` encodes at a time, never the same one twice at once.
    Base rungs go first: on a first start every channel's base rung (what it needs to go on air)
    is encoded before any channel's upper rungs."""

    def __init__(self, settings: Settings, concurrency: int = 2) -> None:
        self.settings = settings
        self.dir = cache_dir(settings)
        self._gate = _PriorityGate(concurrency)
        self._inflight: dict[Path, asyncio.Task[Path]] = {}
        self.build_seconds: dict[str, float] = {}  # target file name -> seconds its build took
        self._digests: dict[tuple[str, int, int], str] = {}

    def user_source(self, channel_key: str) -> Path | None:
        p = self.settings.hls_sources_dir / f"{channel_key}.mp4"
        return p if p.is_file() else None

    async def _digest(self, path: Path) -> str:
        st = path.stat()  # noqa: ASYNC240 - one stat, not worth a thread
        memo_key = (str(path), st.st_size, st.st_mtime_ns)
        if memo_key not in self._digests:
            self._digests[memo_key] = await asyncio.to_thread(_file_digest, path)
        return self._digests[memo_key]

    async def target_for(
        self, channel_key: str, name: str, loop_seconds: int, rung: Rung
    ) -> tuple[Path, Path | None]:
        """Cache path of the rung's conformed source and the user file it comes from (None = generated).
        The key is the content (the user file's digest, or what the generator draws) and the rung."""
        src = self.user_source(channel_key)
        enc = _encoding(rung)
        if src is not None:
            digest = await self._digest(src)
            tag = hashlib.sha256(f"{CONFORM_VERSION}:{digest}:{loop_seconds}:{enc}".encode())
            return self.dir / f"{channel_key}-conformed-{rung.name}-{tag.hexdigest()[:20]}.mp4", src
        font = find_font() or "-"
        tag = hashlib.sha256(f"{GENERATOR_VERSION}:{name}:{loop_seconds}:{enc}:{font}".encode())
        return self.dir / f"{channel_key}-generated-{rung.name}-{tag.hexdigest()[:20]}.mp4", None

    async def prepare_file(
        self, channel_key: str, src: Path, seconds: int, rung: Rung, progress: ProgressFn | None = None
    ) -> Path:
        """Conform any file (a backup recording) for one rung, `seconds` long, as channel sources
        are conformed; cached by content like them."""
        digest = await self._digest(src)
        tag = hashlib.sha256(f"{CONFORM_VERSION}:{digest}:{seconds}:{_encoding(rung)}".encode())
        target = self.dir / f"{channel_key}-file-{rung.name}-{tag.hexdigest()[:20]}.mp4"
        return await self._once(
            target, lambda: self._build(target, src, channel_key, src.name, seconds, rung, progress)
        )

    async def ready(self, channel_key: str, name: str, loop_seconds: int, rung: Rung) -> Path | None:
        """The rung's source if it is already prepared (never starts a build)."""
        target, _ = await self.target_for(channel_key, name, loop_seconds, rung)
        return target if target.is_file() else None

    async def prepare(
        self,
        channel_key: str,
        name: str,
        loop_seconds: int,
        rung: Rung,
        progress: ProgressFn | None = None,
    ) -> Path:
        target, src = await self.target_for(channel_key, name, loop_seconds, rung)
        return await self._once(
            target, lambda: self._build(target, src, channel_key, name, loop_seconds, rung, progress)
        )

    async def _once(self, target: Path, build: Callable[[], Coroutine[Any, Any, Path]]) -> Path:
        """`target`, built by `build` unless it exists; one build however many callers wait for it."""
        if target.is_file():  # noqa: ASYNC240 - one stat of a local file, as every caller did
            return target
        task = self._inflight.get(target)
        if task is None or task.done():
            task = asyncio.create_task(build())
            self._inflight[target] = task
        # shield: a caller giving up (encoder stopped) does not abort a build others may wait for.
        return await asyncio.shield(task)

    def others_preparing(self, channel_key: str) -> bool:
        """Are other channels' sources being prepared (their builds go before this channel's)?"""
        return any(
            not task.done() and not target.name.startswith(f"{channel_key}-")
            for target, task in self._inflight.items()
        )

    async def _build(
        self,
        target: Path,
        src: Path | None,
        channel_key: str,
        name: str,
        loop_seconds: int,
        rung: Rung,
        progress: ProgressFn | None,
    ) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        base = rung == self.settings.ladder[0]
        ffmpeg = ffmpeg_exe(self.settings)
        tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp.mp4")
        logfile = self.dir / f"{channel_key}.prepare.log"
        async with self._gate.hold(0 if base else 1):
            if target.is_file():  # noqa: ASYNC240 - built by another waiter meanwhile
                return target
            t0 = time.monotonic()
            if src is None:
                text_file = self.dir / f"{channel_key}.{rung.name}.clock.txt"
                text_file.write_text(f"{name}  %{{eif:floor(t/60):d:2}}:%{{eif:mod(floor(t),60):d:2}}")
                args = generate_args(ffmpeg, name, loop_seconds, text_file, tmp, rung)
                what = "generating"
            else:
                info = await probe(ffmpeg, src)
                if not info.has_video:
                    raise SourceError(f"{src.name} has no video stream")
                args = conform_args(ffmpeg, src, info, loop_seconds, tmp, rung)
                what = "conforming"
            log.info(
                "source: %s",
                what,
                extra={
                    "channel": channel_key,
                    "rung": rung.name,
                    "loop_seconds": loop_seconds,
                    "to": target.name,
                },
            )
            with logfile.open("ab") as err:
                proc = await asyncio.create_subprocess_exec(
                    *args,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=err,
                    stdin=asyncio.subprocess.DEVNULL,
                    preexec_fn=die_with_parent_niced,
                )
                try:
                    await follow_progress(
                        proc,
                        loop_seconds,
                        progress,
                        log,
                        "source: progress",
                        {"channel": channel_key, "rung": rung.name},
                    )
                    rc = await proc.wait()
                finally:
                    if proc.returncode is None:
                        proc.kill()
                        await proc.wait()
            if rc != 0 or not tmp.is_file():
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                raise SourceError(f"ffmpeg exited {rc} preparing {channel_key}: {tail(logfile)}")
            os.replace(tmp, target)
            if progress:
                progress(1.0)
            self.build_seconds[target.name] = time.monotonic() - t0
            log.info(
                "source: ready",
                extra={
                    "channel": channel_key,
                    "rung": rung.name,
                    "seconds": round(time.monotonic() - t0, 1),
                    "file": target.name,
                },
            )
            return target


def _encoding(rung: Rung) -> str:
    """What the conformed file of a rung is encoded with (part of its cache key)."""
    return f"{FPS}:{GOP_FRAMES}:{CRF}:{rung.width}x{rung.height}:{rung.bitrate}"


def tail(path: Path, max_bytes: int = 1500) -> str:
    """The last lines of a log file (for `last_error`)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [ln for ln in data.splitlines() if ln.strip()]
    return "\n".join(lines[-5:])
