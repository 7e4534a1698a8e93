"""Real encrypted archive runs for tests that decode media (archive_factory's segments are empty).

A run is what a SimLive encoder writes, made by the encoder's own FFmpeg arguments and generated
source, under the channel's key from the KMS, but without `-re`: a minute of programme is encoded
in about a second instead of a minute, and its timeline (run.json's anchor) can start in the past.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from app.ladder import Rung
from app.models import Channel
from app.services.archive import archive_layout as layout
from app.services.archive import content_keys
from app.services.encoders.run_plan import ffmpeg_args, playout_list
from app.services.encoders.staging import StagedRun, make_staging

# One generated source for every run (its content is the test pattern with the frame-number marker).
SOURCE_KEY, SOURCE_NAME = "stillsrc", "Stills"
_run_ids = itertools.count()


def real_ffmpeg() -> str:
    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


async def prepare_sources(app: Any, loop_seconds: int, rungs: tuple[Rung, ...] | None = None) -> list[Path]:
    """The generated source of `loop_seconds` at every rung (default the settings' ladder), encoded
    once and cached: call it before reading the clock for a run's times, since on a loaded machine
    it takes the longest."""
    ladder = app.state.settings.ladder if rungs is None else rungs
    return [await app.state.simlive.sources.prepare(SOURCE_KEY, SOURCE_NAME, loop_seconds, r) for r in ladder]


async def write_encoded_run(
    app: Any,
    channel: Channel,
    start: datetime,
    seconds: int,
    loop_seconds: int,
    keep: int | None = None,
    rungs: tuple[Rung, ...] | None = None,
    keep_upper: int | None = None,
) -> layout.RunInfo:
    """Encode `seconds` (a multiple of `loop_seconds`) of the looped source as a run of
    `channel` whose first frame is at `start` and is frame 0 of the loop; index it. With `keep`,
    only the first `keep` segments of each rendition stay (an encoder that stopped early); with
    `keep_upper`, only the first `keep_upper` of the rungs above the base (indexed late). Every
    rung of the ladder (`rungs`, default the settings') is written; one rung makes a run like those
    from before the ladder."""
    assert channel.cdn_channel_key and seconds % loop_seconds == 0
    settings = app.state.settings
    ladder = settings.ladder if rungs is None else rungs
    sources = await prepare_sources(app, loop_seconds, ladder)
    async with app.state.db.sessionmaker() as session:
        row = await session.get(Channel, channel.id)
        assert row is not None
        key = await content_keys.get_or_create_active_key(session, row)
    started = time.time() + next(_run_ids)  # distinct run ids however fast runs are written
    info = layout.RunInfo(
        run_id=layout.run_id_for(started),
        channel_key=channel.cdn_channel_key,
        anchor=start.timestamp(),
        segment_duration=settings.hls_segment_duration,
        kid=key.key_id.hex,
        started_at=started,
        loop_seconds=loop_seconds,
        loop_offset=0.0,
        source=Path(sources[0]).name,
        # A single rung is written as a run from before the ladder (no `rungs` in run.json).
        rungs=layout.run_rungs([(r.name, r.width, r.height, r.bitrate) for r in ladder])
        if len(ladder) > 1
        else (),
    )
    root = Path(settings.hls_segment_dir)
    # Encoded out of the archive's sight (not a channel key: the index's poller skips it) and moved
    # in when complete, so the poller never indexes a segment that is trimmed away below.
    staging = root / ".staging"
    rdir = layout.write_run_info(staging, info)
    playlists = []
    for rendition, source in zip(info.video_renditions, sources, strict=True):
        playlist = rdir / f"playout-{rendition}.ffconcat"
        playlist.write_text(playout_list(Path(source), loop_seconds, 0, horizon_seconds=seconds - 1))
        playlists.append(playlist)
    # As the encoders do: the placeholder key into a private staging folder, then re-keyed.
    out_dir = make_staging(rdir, info.renditions)
    args = ffmpeg_args(
        real_ffmpeg(),
        settings.hls_segment_duration,
        playlists,
        out_dir,
        key.key_id.hex,
        renditions=info.video_renditions,
        realtime=False,
    )
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "TZ": "UTC"},
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-800:]
    assert await asyncio.to_thread(StagedRun(rdir, info.renditions, key.key_value).finish)
    for rendition in info.renditions:
        upper = rendition not in (layout.BASE_VIDEO, layout.AUDIO)
        kept = keep_upper if upper and keep_upper is not None else keep
        if kept is None:
            continue
        for path in (rdir / rendition).iterdir():
            name = layout.parse_segment_name(path.name)
            if name is not None and name.seq >= kept:
                path.unlink()
        # FFmpeg's own playlist must not list them either: the index's poller tails it.
        _drop_from_playlist(rdir / rendition / "index.m3u8", kept)
    final = root / channel.cdn_channel_key / info.run_id
    final.parent.mkdir(parents=True, exist_ok=True)
    rdir.rename(final)
    app.state.archive.rescan_channel(channel.cdn_channel_key)
    return info


def _drop_from_playlist(playlist: Path, keep: int) -> None:
    """Remove the segments numbered `keep` and above (and their EXTINF) from FFmpeg's playlist."""
    if not playlist.exists():
        return
    out: list[str] = []
    for line in playlist.read_text().splitlines():
        name = layout.parse_segment_name(line.strip()) if not line.startswith("#") else None
        if name is not None and name.seq >= keep:
            if out and out[-1].startswith("#EXTINF"):
                out.pop()
            continue
        out.append(line)
    playlist.write_text("\n".join(out) + "\n")
