"""The encoders as an API replica sees them (TSTV_ROLE=api, docs/SCALING.md): no encoder runs here.

Operator actions write the wanted state (`encoder_wanted`) and `pg_notify('encoder_control')` in
one transaction; the owning worker (see `ownership`) acts on it within a tick. Each action
then polls the status the owner publishes (`encoder_status`) and answers once it took effect: start
once an owner runs (or prepares) the encoder, stop once no owner runs it, restart once the owner has
done the requested restart (503 `encoder_restart_failed` if it could not, the previous run kept on
air, as in a single process). Past `WAIT_SECONDS` the answer is the current status marked pending
(the router turns it into 202 with `Location: /api/v1/admin/simlive/status`).

Implements `Encoders` (app/services/encoders/encoders.py), as `EncoderSupervisor` does, for the
routers and the metrics collector.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import clock
from app.config import Settings
from app.errors import ApiError
from app.models import EncoderStatus, EncoderWanted
from app.services.archive import archive_layout as layout
from app.services.archive import retention
from app.services.encoders import encoder_log
from app.services.encoders.channels import encoder_channels
from app.services.encoders.encoder_status import ChannelEncoderStatus
from app.services.encoders.ownership import CONTROL_CHANNEL, RELEASED, RETENTION_NS, advisory_guard

FRESH_SECONDS = 5.0  # a status row older than this has no live owner
WAIT_SECONDS = 20.0
POLL_EVERY = 0.2


class ClusterEncoders:
    def __init__(
        self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.engine = engine
        self.root = Path(settings.hls_segment_dir)
        self._rows: dict[str, ChannelEncoderStatus] = {}
        self._done: dict[str, int] = {}
        self._failed: dict[str, int] = {}  # the owner's last restart request that failed
        self._listeners: list[retention.Listener] = []

    # ------------------------------------------------------------ status

    async def refresh_channels(self) -> None:
        async with self.sessionmaker() as session:
            channels = await encoder_channels(session)
            wanted = {w.channel_key: w for w in (await session.scalars(select(EncoderWanted))).all()}
            now = await session.scalar(select(func.now()))
            published = {s.channel_key: s for s in (await session.scalars(select(EncoderStatus))).all()}
        rows: dict[str, ChannelEncoderStatus] = {}
        for ch in channels:
            w = wanted.get(ch.key)
            is_wanted = True if w is None else w.wanted
            row = ChannelEncoderStatus(ch.key, ch.name, ch.loop_seconds, is_wanted)
            st = published.get(ch.key)
            if st is not None:
                row = self._seen(row, st, now)
            row = replace(row, wanted=is_wanted)
            if is_wanted and row.worker_id is None:
                row = replace(row, state="starting")  # waiting for a worker to take it
            rows[ch.key] = row
        self._rows = rows

    def _seen(self, row: ChannelEncoderStatus, st: EncoderStatus, now: object) -> ChannelEncoderStatus:
        """`row` with what the owner published: all of it from a live owner, else the archive's."""
        key, seen = row.channel_key, json.loads(st.status)
        fresh = isinstance(now, datetime) and (now - st.published_at).total_seconds() < FRESH_SECONDS
        if fresh and st.worker_id != RELEASED:
            self._done[key] = st.restart_seq_done
            self._failed[key] = int(seen.get("restart_seq_failed", -1))
            return replace(row.with_published(seen), worker_id=st.worker_id)
        self._done.pop(key, None)
        self._failed.pop(key, None)
        # The archive figures stay meaningful without an owner.
        return row.with_published(seen, ("segment_count", "disk_bytes", "run_id", "kid", "last_error"))

    def status(self) -> list[ChannelEncoderStatus]:
        return list(self._rows.values())

    def status_of(self, key: str) -> ChannelEncoderStatus:
        return self._rows[key]

    async def _known(self, key: str) -> ChannelEncoderStatus:
        if not layout.is_channel_key(key):
            raise ApiError(404, "channel_not_found")
        await self.refresh_channels()
        if key not in self._rows:
            raise ApiError(404, "channel_not_found")
        return self._rows[key]

    async def _until(
        self, key: str, took_effect: Callable[[ChannelEncoderStatus], bool]
    ) -> ChannelEncoderStatus:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            await self.refresh_channels()
            row = self._rows.get(key)
            if row is None:
                raise ApiError(404, "channel_not_found")
            if took_effect(row):
                return row
            if time.monotonic() > deadline:
                return replace(row, pending=True)
            await asyncio.sleep(POLL_EVERY)

    # ------------------------------------------------------------ operator actions

    async def _set_wanted(self, key: str, wanted: bool, bump: bool = False) -> int:
        async with self.sessionmaker() as session:
            insert = pg_insert(EncoderWanted).values(
                channel_key=key, wanted=wanted, restart_seq=1 if bump else 0, updated_at=clock.now()
            )
            stmt = insert.on_conflict_do_update(
                index_elements=[EncoderWanted.channel_key],
                set_={
                    "wanted": wanted,
                    "updated_at": clock.now(),
                    "restart_seq": EncoderWanted.restart_seq + (1 if bump else 0),
                },
            ).returning(EncoderWanted.restart_seq)
            seq = int((await session.execute(stmt)).scalar_one())
            await session.execute(text("SELECT pg_notify(:c, :k)"), {"c": CONTROL_CHANNEL, "k": key})
            await session.commit()
        return seq

    async def start(self, key: str) -> ChannelEncoderStatus:
        row = await self._known(key)
        if row.wanted:
            raise ApiError(409, "already_running")
        await self._set_wanted(key, True)
        return await self._until(key, lambda r: r.worker_id is not None and r.state != "stopped")

    async def stop(self, key: str) -> ChannelEncoderStatus:
        row = await self._known(key)
        if not row.wanted:
            raise ApiError(409, "not_running")
        await self._set_wanted(key, False)
        return await self._until(key, lambda r: r.worker_id is None or not r.running)

    async def restart(self, key: str) -> ChannelEncoderStatus:
        row = await self._known(key)
        if not row.wanted:
            raise ApiError(409, "not_running")
        seq = await self._set_wanted(key, True, bump=True)
        done = await self._until(
            key, lambda r: r.worker_id is not None and self._done.get(key, -1) >= seq and r.running
        )
        if not done.pending and self._failed.get(key, -1) >= seq:
            # The owner kept the previous run on air: the same answer as a single process gives.
            raise ApiError(503, "encoder_restart_failed", error=done.last_error)
        return done

    async def restart_if_running(self, key: str) -> bool:
        row = await self._known(key)
        if not row.wanted:
            return False
        await self.restart(key)
        return True

    # ------------------------------------------------------------ shared archive

    async def log_tail(self, key: str, lines: int) -> encoder_log.LogTail:
        await self._known(key)
        path = layout.channel_dir(self.root, key) / "encoder.log"
        return await asyncio.to_thread(encoder_log.read_tail, path, lines)

    def add_retention_listener(self, listener: retention.Listener) -> None:
        self._listeners.append(listener)

    async def cleanup(self, now: datetime | None = None) -> retention.CleanupResult:
        """Operator clean-up from this replica, on the shared archive; never at the same time as the
        jobs leader's (same advisory lock); the live runs are the ones owners publish."""
        await self.refresh_channels()
        live = {k: r.run_id for k, r in self._rows.items() if r.running and r.run_id}
        async with advisory_guard(self.engine, RETENTION_NS):
            return await retention.cleanup(
                self.settings, self.sessionmaker, now, listener=self._notify, live_runs=live
            )

    async def _notify(self, channel_key: str, cutoff: datetime, kept: Sequence[retention.Range] = ()) -> None:
        for fn in self._listeners:
            res = fn(channel_key, cutoff, kept)
            if asyncio.iscoroutine(res):
                await res
