"""How one encoder run starts: its sources (the ladder rungs that are ready), its content key, its
plan (`app/services/encoders/run_plan.py`), its run directory and FFmpeg; and how upper rungs
prepared later join a channel on air (`_join_rungs`, a make-before-break replacement).

`RunStarter` is the part of `EncoderSupervisor` (app/services/encoders/supervisor.py) that starts
runs; `RunLoop` (app/services/encoders/run_loop.py) calls `_start_run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import ApiError
from app.ladder import Rung
from app.services.archive import archive_layout as layout
from app.services.archive import content_keys
from app.services.archive.child_processes import die_with_parent, ffmpeg_exe
from app.services.archive.thumbnails import SheetSet, ThumbnailStore
from app.services.encoders import run_plan, staging
from app.services.encoders.channel_runtime import ChannelRuntime
from app.services.encoders.rekey_watcher import RekeyWatcher
from app.services.encoders.run_loop import RunLoop
from app.services.encoders.sources import SourceCache, SourceError

log = logging.getLogger("tstv.simlive")

LOG_ROTATE_BYTES = 2 * 1024 * 1024
# How long a channel waits for its upper ladder rungs before going on air without them (see
# `_sources_for_run`).
RUNG_WAIT_SECONDS = 20.0


class RunStarter(RunLoop):
    sessionmaker: async_sessionmaker[AsyncSession]
    sources: SourceCache
    thumbnails: ThumbnailStore

    async def _start_run(self, rt: ChannelRuntime) -> asyncio.subprocess.Process | None:
        """Prepare the sources, plan the run, write its run.json and playout lists, spawn FFmpeg;
        None when a stop came first."""
        sources = await self._sources_for_run(rt)
        if sources is None:
            return None
        kid_hex, key = await self._content_key(rt)
        await self._recover_staged(rt)
        d = self.settings.hls_segment_duration
        plan = run_plan.plan_run(time.time(), d, rt.loop_seconds)
        if await self._sleep_or_stop(rt, plan.spawn_at - run_plan.SPAWN_LEAD - time.time()):
            return None
        now = time.time()
        info = layout.RunInfo(
            run_id=layout.run_id_for(now),
            channel_key=rt.key,
            anchor=float(plan.anchor),
            segment_duration=d,
            kid=kid_hex,
            started_at=now,
            loop_seconds=rt.loop_seconds,
            loop_offset=float(plan.loop_offset),
            source=sources[0][1].name,  # the base rung's file: what the thumbnails are made of
            rungs=layout.run_rungs([(r.name, r.width, r.height, r.bitrate) for r, _ in sources]),
        )
        rdir = layout.write_run_info(self.root, info)
        playlists = run_plan.write_playouts(
            rdir, info, [p for _, p in sources], rt.loop_seconds, plan.playout_start
        )
        exe, renditions = ffmpeg_exe(self.settings), info.video_renditions
        # Encrypting: FFmpeg writes to the private staging folder, a watcher re-keys into `rdir`.
        out_dir = staging.make_staging(rdir, info.renditions) if key is not None else rdir
        args = run_plan.ffmpeg_args(exe, d, playlists, out_dir, kid_hex, plan.preroll, renditions)
        proc = await self._spawn(
            rt, args, f"run {info.run_id} anchor {plan.anchor} offset {plan.loop_offset}", kid_hex
        )
        if key is not None:
            staged = staging.StagedRun(rdir, info.renditions, key)
            rt.rekeyers[info.run_id] = RekeyWatcher(staged, lambda: proc.returncode is not None).start()
        rt.proc = proc
        rt.run = info
        rt.started_mono = time.monotonic()
        rt.started_at = now
        rt.last_segment_mono = None
        rt.state = "running"
        self._write_pids()
        self._resolve_replacement(rt)
        # The seek-bar thumbnails of this source, in the background once the encoder is on air.
        self.thumbnails.request(SheetSet(info.source or "", rt.loop_seconds, d))
        log.info(
            "encoder: started",
            extra={
                "channel": rt.key,
                "pid": proc.pid,
                "run": info.run_id,
                "anchor": plan.anchor,
                "offset": plan.loop_offset,
                "kid": kid_hex,
                "replacing": [r.proc.pid for r in rt.retiring],
            },
        )
        return proc

    async def _sources_for_run(self, rt: ChannelRuntime) -> list[tuple[Rung, Path]] | None:
        """The prepared source of every rung the run encodes (the base rung at least); None when a
        stop came first.

        The base rung is what a channel needs to go on air. Upper rungs not prepared yet are given
        RUNG_WAIT_SECONDS more (short loops take seconds) unless this run replaces one on air; any
        still missing then are prepared in the background and join at a make-before-break
        handover (`_join_rungs`), so a fresh machine has every channel on air after one encode each.
        """
        source = self.sources.user_source(rt.key)
        rt.source = str(source) if source else "generated"

        def progress(frac: float) -> None:
            rt.source_progress = round(frac, 3)

        ladder = self.settings.ladder
        done, path = await self._until_stop(
            rt, self.sources.prepare(rt.key, rt.name, rt.loop_seconds, ladder[0], progress)
        )
        if not done:
            return None
        rt.source_progress = 1.0
        missing = [
            r for r in ladder[1:] if await self.sources.ready(rt.key, rt.name, rt.loop_seconds, r) is None
        ]
        # While other channels' sources are being prepared (a first start), waiting would only keep
        # this one off air: base rungs go before anyone's upper rungs, which queue behind them.
        if missing and not rt.retiring and not self.sources.others_preparing(rt.key):
            builds = [self.sources.prepare(rt.key, rt.name, rt.loop_seconds, r) for r in missing]
            await self._until_stop(rt, asyncio.gather(*builds, return_exceptions=True), RUNG_WAIT_SECONDS)
            if rt.stop_event.is_set():
                return None
        sources: list[tuple[Rung, Path]] = [(ladder[0], Path(path))]
        for rung in ladder[1:]:
            ready = await self.sources.ready(rt.key, rt.name, rt.loop_seconds, rung)
            if ready is not None:
                sources.append((rung, ready))
        if len(sources) < len(ladder) and (rt.join_task is None or rt.join_task.done()):
            rt.join_task = asyncio.create_task(self._join_rungs(rt), name=f"simlive-rungs-{rt.key}")
        return sources

    async def _content_key(self, rt: ChannelRuntime) -> tuple[str | None, bytes | None]:
        """The channel's active content key (kid in hex, key), created if it has none; no DRM: None."""
        if not self.settings.drm_enabled:
            return None, None
        async with self.sessionmaker() as session:
            ch = await content_keys.channel_by_key(session, rt.key)
            if ch is None:
                raise RuntimeError("channel no longer exists")
            key = await content_keys.get_or_create_active_key(session, ch)
            return key.key_id.hex, key.key_value

    async def _recover_staged(self, rt: ChannelRuntime) -> None:
        """Finish the staged segments of the channel's runs whose FFmpeg is gone (a crash, a kill -9,
        a worker that lost the channel): re-keyed into the archive with their run's key, or deleted
        (app/services/encoders/staging.py). Runs this process still watches are left alone."""
        cdir = self.root / rt.key
        run_ids = [r for r in await asyncio.to_thread(staging.staged_runs, cdir) if r not in rt.rekeyers]
        if not run_ids:
            return
        infos = {r: layout.read_run_info(cdir / r) for r in run_ids}
        kids = [uuid.UUID(i.kid) for i in infos.values() if i is not None and i.kid]
        async with self.sessionmaker() as session:
            keys = await content_keys.keys_by_kid(session, kids)
        for run_id, info in infos.items():
            found = keys.get(uuid.UUID(info.kid)) if info is not None and info.kid else None
            await asyncio.to_thread(staging.recover_run, cdir / run_id, found.key_value if found else None)

    async def _spawn(
        self, rt: ChannelRuntime, args: list[str], what: str, kid_hex: str | None
    ) -> asyncio.subprocess.Process:
        """FFmpeg, its stderr appended to the channel's encoder log under a line naming the run."""
        logpath = self.log_path(rt.key)
        self._rotate_log(logpath)
        with logpath.open("ab") as logf:
            logf.write(f"--- {datetime.now(UTC).isoformat()} {what} kid {kid_hex}\n".encode())
            logf.flush()
            return await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=logf,
                env={**os.environ, "TZ": "UTC"},
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    async def _join_rungs(self, rt: ChannelRuntime) -> None:
        """Prepare the upper rungs a running channel lacks, then replace its encoder make-before-break
        (like an operator restart: no gap, a discontinuity) so they join; on failure it stays on the
        rungs it has. Runs once per channel at a time; a channel stopped meanwhile just has them
        ready for its next start."""
        ladder = self.settings.ladder
        for rung in ladder[1:]:
            try:
                await self.sources.prepare(rt.key, rt.name, rt.loop_seconds, rung)
            except SourceError as exc:
                log.warning(
                    "source: upper rung failed",
                    extra={"channel": rt.key, "rung": rung.name, "error": str(exc)},
                )
                return
        async with rt.lock:
            if not rt.wanted or rt.run is None:
                return
            have = {r.name for r in rt.run.video_rungs}
            if all(r.name in have for r in ladder):
                return
            await self._handovers_done(rt)
            if not self._replaceable(rt):
                return  # starting or in a backoff: its next run picks every rung up
            log.info(
                "encoder: upper rungs ready, joining",
                extra={"channel": rt.key, "rungs": [r.name for r in ladder]},
            )
            try:
                await self._request_replacement(rt)
            except ApiError:
                log.warning(
                    "encoder: rung join failed, staying on the rungs it has", extra={"channel": rt.key}
                )

    @staticmethod
    def _rotate_log(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size > LOG_ROTATE_BYTES:
                os.replace(path, path.with_name(path.name + ".1"))
