"""Which worker runs which channel's encoder, and which worker runs the jobs (docs/SCALING.md).

Mechanism: PostgreSQL **session advisory locks on one dedicated connection per worker**
(`pg_try_advisory_lock(CHANNEL_NS, crc32(key))` per channel, `(JOBS_NS, 0)` for the jobs leader,
`(WORKER_NS, random id)` for the worker itself). Chosen over a lease table with heartbeats because
the server ends the locks the instant the session ends: a worker killed with `kill -9` (or whose
connection breaks) loses every channel at once, so the failover time is one poll tick (1 s) plus
the takeover wait below. Counting
the live workers is exact too: a worker is alive while its worker lock is granted in `pg_locks`.
Workers also register in `cluster_workers` with a heartbeat every tick (who they are, what they run).

Spread: a worker takes at most ceil(wanted channels / live workers) channels; above that, while
another live worker (by its heartbeat row) runs at least two fewer, it hands back one channel every
10 s (`REBALANCE_AFTER`, so an operator's stop and start of one channel moves no other): with N
workers the channels spread.

Fencing, and a database restart (how a dead worker is told from a database outage). Every tick
ends by publishing the status of each channel the worker runs (`encoder_status.published_at`, the
database's clock); a publication is the worker's claim, and a successor may start a channel only
when the previous owner's claim is old and its lock free (`may_take_over`):
  - The owner keeps its encoders while its *lease* runs (`LEASE`, 2.5 s by its own monotonic
    clock, `keeps_encoders`) from its last *evidence*: when its last tick (or reconnection) that
    published all it runs started publishing, or the start of its last connection attempt that
    PostgreSQL refused because it was not running or still starting up (connection refused; `57P03`
    other than "shutting down": `server_down`), since no session, and so no successor, exists on a
    server that is down. A watchdog SIGKILLs every encoder of the worker once the lease ran out; the tick loop
    then gives every channel up and reconnects, even when the tick was only slow (a loaded start-up)
    and the session survived, so no channel stays owned but killed. A lost session by itself stops
    nothing the lease covers: the worker reconnects (every `RETRY`), re-takes the lock of each
    channel it runs, publishes them again and goes on; a channel not yet published as its own or
    being handed back is stopped at once, and one whose lock it cannot re-take too.
  - A successor waits until the previous owner's last publication is `TAKEOVER_AFTER` (4 s) old
    and, when PostgreSQL (re)started after that publication, until its own session is
    `TAKEOVER_AFTER` old too.
Why two encoders of a channel never run at once, and what each fault gives:
  - A worker killed (`kill -9`; its encoders die with it, PR_SET_PDEATHSIG), or cut off from a
    database that is up (its attempts time out, no refusal): its lease started before its last
    publication and ends `TAKEOVER_AFTER - LEASE` (a margin for the watchdog's poll) before a
    successor may start. Failover: one tick plus `TAKEOVER_AFTER`.
  - Only its connection lost (the server up): it re-takes its locks within a `RETRY`, long before
    `TAKEOVER_AFTER`: the encoders run on.
  - PostgreSQL restarted or stopped, however long: the owners' attempts are refused meanwhile and
    each refusal renews their lease; every session ends with the server, so a successor's session
    that is `TAKEOVER_AFTER` old began after the last refusal's lease ended. Meanwhile, one `RETRY`
    after the server accepts connections, the owners reconnect and re-take their locks: no gap in
    any channel, each on the worker it was on.
This rests on a refused connection meaning the server is down for every worker (they share one
`DATABASE_URL`): a firewall that rejects one worker's connections would break it.
The new owner starts at the EPG-aligned offset of the next segment boundary (the manager's anchor
logic): one discontinuity, no overlapping runs. A channel handed back on purpose (stop,
rebalancing) is marked released and taken over without waiting.

Wanted state and control: `encoder_wanted` (absent row: running), written by any API replica,
which also `pg_notify('encoder_control', key)`s; the owner LISTENs on its lock connection (and polls
every tick anyway), starts/stops, and restarts when `restart_seq` is past what it did. Status:
every tick the owner upserts each owned channel's status row (`encoder_status`) with the database's
`now()`; API replicas read it (`cluster_control`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import math
import os
import secrets
import socket
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db import asyncpg_dsn
from app.services.encoders.supervisor import EncoderSupervisor
from app.supervision import TaskSupervisor

log = logging.getLogger("tstv.ownership")

CHANNEL_NS = 7451  # advisory lock key spaces (first int of the two-int form)
WORKER_NS = 7452
JOBS_NS = 7453
RETENTION_NS = 7454
SEED_NS = 7455
MIGRATE_NS = 7456
CONTROL_CHANNEL = "encoder_control"

TICK = 1.0
RETRY = 0.25  # connection attempts while disconnected (each refusal renews the lease)
QUERY_TIMEOUT = 1.5
LEASE = 2.5  # no evidence (a successful tick, a refused connection) for this long: kill every encoder
TAKEOVER_AFTER = 4.0  # a new owner waits until the previous owner's last publication is this old
WATCHDOG_EVERY = 0.25  # so a lease ends within LEASE + 0.25 s, well inside TAKEOVER_AFTER
JOBS_GRACE = 4.0  # a new jobs leader waits this long before the first job
SETTLE_TICKS = 2  # ticks a new worker waits (seeing its peers) before taking channels
REBALANCE_AFTER = 10.0  # an imbalance lasting this long moves one channel
FRESH_WORKER = 5.0  # a worker row with an older heartbeat does not count as a peer
RELEASED = ""  # worker_id of a status row whose channel was handed back on purpose


def lock_key(channel_key: str) -> int:
    """A channel's advisory lock id: its crc32 as a signed int4."""
    c = zlib.crc32(channel_key.encode())
    return c - (1 << 32) if c >= (1 << 31) else c


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


# ---------------------------------------------------------------- the rule (module docstring)


def keeps_encoders(now: float, evidence_at: float) -> bool:
    """Whether a worker may still run its encoders `now`, its last evidence taken at `evidence_at`
    (monotonic seconds: the start of its last successful tick or refused connection attempt)."""
    return now - evidence_at < LEASE


def may_take_over(publication_age: float, restarted_since: bool, session_age: float) -> bool:
    """Whether a worker may start a channel whose lock is free and whose status another worker
    published `publication_age` seconds ago (database clock); `restarted_since`: PostgreSQL started
    after that publication; `session_age`: how long this worker's own session has been up."""
    if publication_age < TAKEOVER_AFTER:
        return False
    return not restarted_since or session_age >= TAKEOVER_AFTER


def server_down(exc: BaseException) -> bool:
    """Whether a failed connection attempt proves that PostgreSQL had no sessions at that moment:
    nothing listening, or the server starting up or recovering (not shutting down: a smart
    shutdown keeps the sessions it has)."""
    if isinstance(exc, ConnectionRefusedError | FileNotFoundError):
        return True
    if isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED:
        return True
    return isinstance(exc, asyncpg.CannotConnectNowError) and "shutting down" not in str(exc)


@contextlib.asynccontextmanager
async def advisory_guard(engine: AsyncEngine, ns: int, key: int = 0) -> AsyncIterator[None]:
    """Hold a session advisory lock (waiting for it) while the block runs; nothing on SQLite."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:a, :b)"), {"a": ns, "b": key})
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), {"a": ns, "b": key})
            await conn.commit()


@dataclass
class Owned:
    seq_done: int
    task: asyncio.Task[None] | None = None
    target_seq: int = 0
    releasing: bool = False
    seq_failed: int = -1  # the last restart request that failed (the previous run was kept)
    published: bool = False  # its status names this worker: the lease covers it from then on


LeaderHook = Callable[[bool], Awaitable[None]]


class WorkerCoordinator:
    def __init__(
        self,
        settings: Settings,
        manager: EncoderSupervisor,
        worker_id: str,
        on_leader: LeaderHook,
        tasks: TaskSupervisor | None = None,
    ) -> None:
        self.dsn = asyncpg_dsn(settings.database_url)
        self.manager = manager
        self.worker_id = worker_id
        self.lock_id = secrets.randbelow(2**31 - 1)
        self.on_leader = on_leader
        self.tasks = tasks or TaskSupervisor()
        self.conn: asyncpg.Connection | None = None
        self.session_since = 0.0  # monotonic: when the current session was established
        self.owned: dict[str, Owned] = {}
        self.pending: dict[str, tuple[float, int]] = {}  # key -> (monotonic start time, seq)
        self.leader = False
        self.leader_since = 0.0
        self.jobs_started = False
        self.overloaded_since = math.inf
        self.evidence_at = time.monotonic()  # the lease runs from here (module docstring)
        self.publishing_since = 0.0  # monotonic: when this tick started publishing
        self.fenced = False  # the watchdog killed this session's encoders: it must be given up
        self.ticks = 0
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._task = self.tasks.spawn("ownership", self._run)
        self._watchdog = self.tasks.spawn("ownership_watchdog", self._watch)

    async def stop(self) -> None:
        for t in (self._task, self._watchdog):
            if t is not None:
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t
        await self._give_up_everything(kill=False)
        conn, self.conn = self.conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                # Stopped before the locks go with the session: others may start at once.
                await conn.execute(
                    "UPDATE encoder_status SET worker_id = $2 WHERE worker_id = $1", self.worker_id, RELEASED
                )
                await conn.execute("DELETE FROM cluster_workers WHERE worker_id = $1", self.worker_id)
                await conn.close(timeout=2)

    # ------------------------------------------------------------ loop

    async def _run(self) -> None:
        while True:
            t0 = time.monotonic()
            try:
                if self.conn is not None and self.conn.is_closed():
                    raise ConnectionError("the lock connection closed")  # its locks are gone
                if self.fenced:
                    # A tick that was only slow still holds the locks of channels the watchdog
                    # killed (and of starts it stopped): give them all up, let any worker retake.
                    raise ConnectionError("fenced: the lease ran out")
                if self.conn is None:
                    await self._connect()
                    # What it kept is published again, and was re-taken within the lease (no
                    # successor can have started it); past the lease the watchdog kills it instead.
                    if keeps_encoders(time.monotonic(), self.evidence_at):
                        self.evidence_at = max(self.evidence_at, self.publishing_since)
                await asyncio.wait_for(self._tick(), 3 * QUERY_TIMEOUT)
                self.evidence_at = max(self.evidence_at, self.publishing_since)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.conn is None and server_down(exc):
                    self.evidence_at = max(self.evidence_at, t0)  # nobody can take over meanwhile
                await self._lost(exc)
            self.wake.clear()
            pause = TICK if self.conn is not None else RETRY
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), max(0.05, pause - (time.monotonic() - t0)))

    async def _watch(self) -> None:
        """Kill every encoder once the lease ran out (module docstring)."""
        while True:
            await asyncio.sleep(WATCHDOG_EVERY)
            if self.fenced or not (self.owned or self.leader):
                continue
            if keeps_encoders(time.monotonic(), self.evidence_at):
                continue
            log.warning("ownership: lease ran out (no database for %.1f s), killing encoders", LEASE)
            self.fenced = True
            for key in list(self.owned):
                self.manager.kill_now(key)
            if self.leader:
                self.leader = False
                await self.on_leader(False)

    async def _connect(self) -> None:
        self.ticks = 0
        conn = await asyncpg.connect(
            self.dsn,
            timeout=QUERY_TIMEOUT * 2,
            server_settings={"application_name": f"tstv-worker-lock {self.worker_id}"[:63]},
        )
        try:
            await conn.fetchval(
                "SELECT pg_advisory_lock($1, $2)", WORKER_NS, self.lock_id, timeout=QUERY_TIMEOUT
            )
            self.publishing_since = time.monotonic()  # before the re-take and publication below
            # Re-take what this worker still runs (a database restart, a lost connection): its
            # lease has not run out, so no other worker can have started these channels.
            lost = [
                key
                for key in list(self.owned)
                if not await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1, $2)", CHANNEL_NS, lock_key(key), timeout=QUERY_TIMEOUT
                )
            ]
            # Published again at once (a first tick after a restart may be slow): the lease runs on.
            await conn.execute(
                "UPDATE encoder_status SET published_at = now() "
                "WHERE worker_id = $1 AND channel_key = ANY($2)",
                self.worker_id,
                [k for k in self.owned if k not in lost],
                timeout=QUERY_TIMEOUT,
            )
            await conn.execute(
                "INSERT INTO cluster_workers "
                "(worker_id, host, pid, lock_id, started_at, heartbeat_at, channels) "
                "VALUES ($1, $2, $3, $4, now(), now(), '') "
                "ON CONFLICT (worker_id) DO UPDATE SET "
                "host = EXCLUDED.host, pid = EXCLUDED.pid, lock_id = EXCLUDED.lock_id, "
                "started_at = now(), heartbeat_at = now()",
                self.worker_id,
                socket.gethostname(),
                os.getpid(),
                self.lock_id,
                timeout=QUERY_TIMEOUT,
            )
            await conn.add_listener(CONTROL_CHANNEL, self._notified)
            conn.add_termination_listener(self._notified)  # a lost session is acted on at once
        except BaseException:
            conn.terminate()
            raise
        self.conn = conn
        self.session_since = time.monotonic()
        log.info(
            "ownership: connected",
            extra={"worker": self.worker_id, "kept": sorted(set(self.owned) - set(lost)), "lost": lost},
        )
        if lost:  # cannot happen while the lease runs (module docstring): stop them at once anyway
            await self._give_up(lost, kill=True)

    def _notified(self, *_args: Any) -> None:
        self.wake.set()

    async def _lost(self, exc: Exception) -> None:
        """The session is gone (or given up): its locks with it. Starts not yet made are dropped and
        the jobs stop; the encoders run on while the lease does (the watchdog ends them after),
        except those the lease does not cover: not yet published as this worker's (another worker
        could take them at once) or being handed back (their publication is not renewed)."""
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.terminate()
            left = max(0.0, LEASE - (time.monotonic() - self.evidence_at))
            log.warning(
                "ownership: database lost, encoders kept while the lease runs",
                extra={"error": repr(exc), "lease_left": round(left, 2), "channels": sorted(self.owned)},
            )
        self.pending.clear()
        if self.leader:
            self.leader = False
            await self.on_leader(False)
        if self.fenced:
            await self._give_up_everything(kill=True)
            self.fenced = False
            return
        uncovered = [k for k, oc in self.owned.items() if oc.releasing or not oc.published]
        if uncovered:
            await self._give_up(uncovered, kill=True)

    async def _give_up(self, keys: list[str], kill: bool) -> None:
        if kill:
            for key in keys:
                self.manager.kill_now(key)
        for key in keys:
            task = self.owned[key].task
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        await asyncio.gather(*(self.manager.disown(k) for k in keys), return_exceptions=True)
        for key in keys:
            del self.owned[key]

    async def _give_up_everything(self, kill: bool) -> None:
        if self.leader:
            self.leader = False
            await self.on_leader(False)
        await self._give_up(list(self.owned), kill)
        self.pending.clear()

    # ------------------------------------------------------------ one tick

    async def _q(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        assert self.conn is not None
        rows: list[asyncpg.Record] = await self.conn.fetch(sql, *args, timeout=QUERY_TIMEOUT)
        return rows

    async def _tick(self) -> None:
        self.ticks += 1
        await self._q(
            "UPDATE cluster_workers SET heartbeat_at = now(), channels = $2 WHERE worker_id = $1",
            self.worker_id,
            ",".join(sorted({*self.owned, *self.pending})),
        )
        live = (
            await self._q(
                "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 "
                "AND objsubid = 2 AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                WORKER_NS,
            )
        )[0]["n"]
        await asyncio.wait_for(self.manager.refresh_channels(), QUERY_TIMEOUT)
        wanted = {
            r["channel_key"]: (bool(r["wanted"]), int(r["restart_seq"]))
            for r in await self._q("SELECT channel_key, wanted, restart_seq FROM encoder_wanted")
        }
        keys = sorted(self.manager.channels)
        want = [k for k in keys if wanted.get(k, (True, 0))[0]]
        quota = math.ceil(len(want) / max(1, int(live)))

        await self._finish_actions()
        for key, oc in self.owned.items():
            if oc.task is not None or oc.releasing:
                continue
            if key not in want:
                self._release(key, oc)
                continue
            seq = wanted.get(key, (True, 0))[1]
            if seq > oc.seq_done:
                oc.target_seq = seq
                oc.task = asyncio.create_task(self._restart(key), name=f"ownership-restart-{key}")
        for key in [k for k in self.pending if k not in want]:
            del self.pending[key]
            await self._q("SELECT pg_advisory_unlock($1, $2)", CHANNEL_NS, lock_key(key))
        holding = [k for k, oc in self.owned.items() if not oc.releasing] + list(self.pending)
        if await self._overloaded(len(holding), quota):
            # Another worker joined (or has far fewer channels): hand back one channel (the last in
            # order) once that has lasted REBALANCE_AFTER, so an operator's stop and start of one
            # channel moves no other.
            if time.monotonic() - self.overloaded_since >= REBALANCE_AFTER and not any(
                oc.releasing for oc in self.owned.values()
            ):
                spare = max(k for k in holding if k in self.owned)
                self._release(spare, self.owned[spare])
                self.overloaded_since = time.monotonic()
        elif self.ticks > SETTLE_TICKS:
            await self._acquire(want, wanted, quota - len(holding))
        await self._start_pending()
        await self._publish()
        await self._lead()

    async def _overloaded(self, holding: int, quota: int) -> bool:
        """More than the quota while another live worker runs at least two fewer channels."""
        if holding <= quota:
            self.overloaded_since = math.inf
            return False
        rows = await self._q(
            "SELECT channels FROM cluster_workers WHERE worker_id <> $1 "
            "AND heartbeat_at > now() - make_interval(secs => $2)",
            self.worker_id,
            FRESH_WORKER,
        )
        loads = [len([c for c in r["channels"].split(",") if c]) for r in rows]
        if not loads or min(loads) > holding - 2:
            self.overloaded_since = math.inf
            return False
        if self.overloaded_since == math.inf:
            self.overloaded_since = time.monotonic()
        return True

    async def _acquire(self, want: list[str], wanted: dict[str, tuple[bool, int]], room: int) -> None:
        if room <= 0:
            return
        last = {
            r["channel_key"]: (r["worker_id"], float(r["age"]), bool(r["restarted_since"]))
            for r in await self._q(
                "SELECT channel_key, worker_id, EXTRACT(EPOCH FROM now() - published_at) AS age, "
                "published_at < pg_postmaster_start_time() AS restarted_since FROM encoder_status"
            )
        }
        session_age = time.monotonic() - self.session_since
        for key in want:
            if room <= 0:
                break
            if key in self.owned or key in self.pending:
                continue
            prev = last.get(key)
            if prev is not None and prev[0] not in (RELEASED, self.worker_id):
                # Another worker's channel: it may still be running it (module docstring).
                if not may_take_over(prev[1], prev[2], session_age):
                    continue
            got = (await self._q("SELECT pg_try_advisory_lock($1, $2) AS got", CHANNEL_NS, lock_key(key)))[0]
            if not got["got"]:
                continue
            room -= 1
            self.pending[key] = (time.monotonic(), wanted.get(key, (True, 0))[1])
            log.info("ownership: channel taken", extra={"channel": key, "from": prev[0] if prev else None})

    async def _start_pending(self) -> None:
        for key, (at, seq) in list(self.pending.items()):
            if time.monotonic() < at:
                continue
            del self.pending[key]
            oc = Owned(seq_done=seq, target_seq=seq)
            oc.task = asyncio.create_task(self.manager.own(key), name=f"ownership-own-{key}")
            self.owned[key] = oc

    def _release(self, key: str, oc: Owned) -> None:
        oc.releasing = True
        oc.task = asyncio.create_task(self.manager.disown(key), name=f"ownership-release-{key}")
        log.info("ownership: channel released", extra={"channel": key})

    async def _restart(self, key: str) -> None:
        await self.manager.restart(key)

    async def _finish_actions(self) -> None:
        for key, oc in list(self.owned.items()):
            if oc.task is None or not oc.task.done():
                continue
            task, oc.task = oc.task, None
            if not task.cancelled() and task.exception() is not None:
                log.warning(
                    "ownership: encoder action failed",
                    extra={"channel": key, "error": repr(task.exception())},
                )
                oc.seq_failed = oc.target_seq
            oc.seq_done = max(oc.seq_done, oc.target_seq)
            if oc.releasing:
                await self._publish_one(key, oc, RELEASED)
                await self._q("SELECT pg_advisory_unlock($1, $2)", CHANNEL_NS, lock_key(key))
                del self.owned[key]

    async def _publish_one(self, key: str, oc: Owned, worker_id: str) -> None:
        if key not in self.manager.channels:
            return
        # restart_seq_failed: so the replica that asked can answer 503 like a single process does.
        published = {**self.manager.status_of(key).published(), "restart_seq_failed": oc.seq_failed}
        status = json.dumps(published, default=str)
        await self._q(
            "INSERT INTO encoder_status (channel_key, worker_id, status, restart_seq_done, published_at) "
            "VALUES ($1, $2, $3, $4, now()) ON CONFLICT (channel_key) DO UPDATE SET "
            "worker_id = EXCLUDED.worker_id, status = EXCLUDED.status, "
            "restart_seq_done = EXCLUDED.restart_seq_done, published_at = now()",
            key,
            worker_id,
            status,
            oc.seq_done,
        )
        oc.published = worker_id == self.worker_id

    async def _publish(self) -> None:
        # The lease's evidence once the tick succeeds: every publication below is later.
        self.publishing_since = time.monotonic()
        for key, oc in self.owned.items():
            if not oc.releasing:
                await self._publish_one(key, oc, self.worker_id)

    async def _lead(self) -> None:
        if not self.leader:
            got = (await self._q("SELECT pg_try_advisory_lock($1, 0) AS got", JOBS_NS))[0]["got"]
            if got:
                self.leader = True
                self.jobs_started = False
                self.leader_since = time.monotonic()
                log.info("ownership: jobs leader", extra={"worker": self.worker_id})
        # The jobs start JOBS_GRACE after the lock was taken: a previous leader that lost its
        # connection has cancelled its jobs by then.
        if self.leader and not self.jobs_started and time.monotonic() - self.leader_since >= JOBS_GRACE:
            self.jobs_started = True
            await self.on_leader(True)
