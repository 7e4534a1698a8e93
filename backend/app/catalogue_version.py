"""The catalogue version pushed to this process, so hot requests need not read it.

The catalogue version (`catalogue_state`, bumped by triggers on every write to `channels` and
`schedule_entries`) tells whether anything derived from those tables is stale. Reading it is one
query per request; on PostgreSQL the triggers also `pg_notify('catalogue_version', <version>)`
(migration 0004), and `CatalogueListener` keeps a dedicated asyncpg connection LISTENing, so the
version arrives the moment a change commits, whoever made it (this process, another replica, SQL).

`CatalogueFeed.current()` says whether the version this process holds can be trusted without a
query. It is false, and requests read the version instead (one cheap query, `read_version`):
  - while the listener is not subscribed: SQLite (triggers cannot notify), never connected yet,
    connection lost or reconnecting; subscribing reads the version after LISTEN, so nothing
    committed while unsubscribed is missed;
  - while this process has a write to those tables in flight, and until a request has read the
    version after it ended: the writer's answer follows its commit, but the notification arrives
    asynchronously, so the process's own next request must not wait for it (an operator's rights
    change is honoured on the next request). Writes are seen on the engines' statements
    (`track_writes`) and end when their connection returns to the pool (after commit/rollback);
Versions only go up (every write bumps it), so what this process holds never steps back: a late
notification of an older write, arriving after a newer version was read, changes nothing (it once
left a request answering from the older version's cache).
A periodic check on the listener's connection (`SELECT version`) also catches a silently lost
notification or a dead connection within `check_every` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

import asyncpg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import DriverQuery
from app.models import CatalogueState
from app.supervision import TaskSupervisor

log = logging.getLogger("tstv.catalogue_feed")

CHANNEL = "catalogue_version"
TABLES = ("channels", "schedule_entries")
_VERSION_SQL = "SELECT version FROM catalogue_state WHERE id = 1"
_VERSION = DriverQuery(select(CatalogueState.version).where(CatalogueState.id == 1))
_WRITE_FLAG = "tstv_catalogue_write"


class CatalogueFeed:
    """What this process knows of the catalogue version, and whether it is current."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.subscriptions = 0  # times the listener subscribed (the first time and every resubscription)
        self.notifications = 0
        self.version_reads = 0  # versions read by requests because the feed was not current
        self._connection: asyncpg.Connection | None = None  # the listener's, while subscribed
        self._observers: list[Callable[[int | None], None]] = []
        self._writes_in_flight = 0
        self._writes_ended = 0  # writes by this process that ended (committed or rolled back)
        self._verified = 0  # ... up to which a version was read after them

    # ---- state --------------------------------------------------------------------------------

    @property
    def subscribed(self) -> bool:
        conn = self._connection
        return conn is not None and not conn.is_closed()

    def current(self) -> bool:
        """Whether `version` is the database's without reading it (see the module docstring)."""
        return self._writes_in_flight == 0 and self._verified == self._writes_ended and self.subscribed

    def add_observer(self, observe: Callable[[int | None], None]) -> None:
        """`observe(version)` is called with every version seen (notified or read)."""
        self._observers.append(observe)

    def _publish(self, version: int | None) -> None:
        if version is not None and self.version is not None and version < self.version:
            return  # an older write's notification, arriving late: the newer one is held
        self.version = version
        for observe in self._observers:
            observe(version)

    # ---- reading the version ------------------------------------------------------------------

    async def read_version(self, conn: AsyncConnection) -> None:
        """Read the version (a request's fallback while the feed is not current)."""
        ended = self._writes_ended
        rows = await _VERSION.rows(conn, {})
        self.version_reads += 1
        self._publish(rows[0][0] if rows else None)  # or keeps a newer one notified meanwhile
        if self._writes_in_flight == 0:
            self._verified = ended

    async def _check(self, conn: asyncpg.Connection, seconds: float) -> None:
        """The listener's own read: after subscribing, and periodically (a lost notification)."""
        notified = self.notifications
        version = await conn.fetchval(_VERSION_SQL, timeout=seconds)
        if self.notifications == notified and version != self.version:
            if self._connection is conn:
                log.warning("catalogue version moved without a notification", extra={"version": version})
            self._publish(version)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.notifications += 1
        try:
            version: int | None = int(payload)
        except ValueError:
            version = None  # not ours to interpret: unknown, so nothing is kept
        self._publish(version)

    # ---- this process's writes ----------------------------------------------------------------

    def track_writes(self, engine: AsyncEngine) -> None:
        """Count this engine's statements that write `channels` or `schedule_entries`."""
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._before_execute)
        event.listen(sync.pool, "checkin", self._checkin)
        event.listen(sync.pool, "invalidate", self._invalidate)

    def _before_execute(
        self, conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        head = statement.lstrip()[:6].upper()
        if head == "SELECT" or not any(t in statement for t in TABLES):
            return
        info = conn.info
        if not info.get(_WRITE_FLAG):
            info[_WRITE_FLAG] = True
            self._writes_in_flight += 1

    def _ended(self, info: dict[Any, Any]) -> None:
        if info.pop(_WRITE_FLAG, False):
            self._writes_in_flight -= 1
            self._writes_ended += 1

    def _checkin(self, _dbapi_conn: Any, record: Any) -> None:
        self._ended(record.info)

    def _invalidate(self, _dbapi_conn: Any, record: Any, _exc: Any) -> None:
        self._ended(record.info)


class CatalogueListener:
    """LISTEN catalogue_version on a dedicated asyncpg connection, reconnecting and resubscribing
    (after `retry_delay` seconds, doubling up to `max_retry_delay`) whenever it is lost."""

    def __init__(
        self,
        dsn: str,
        feed: CatalogueFeed,
        check_every: float = 5.0,
        retry_delay: float = 0.1,
        max_retry_delay: float = 5.0,
        also: dict[str, Callable[[Any, int, str, str], None]] | None = None,
        tasks: TaskSupervisor | None = None,
    ) -> None:
        self.dsn = dsn
        self.tasks = tasks or TaskSupervisor()
        self.feed = feed
        # Other channels delivered on the same connection (account changes: accounts/user_state.py);
        # their listeners trust what they cache only while `feed.subscribed`.
        self.also = dict(also or {})
        self.check_every = check_every
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.server_pid: int | None = None  # the listening backend's pid, while connected
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = self.tasks.spawn("catalogue_listener", self.run)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        delay = self.retry_delay
        while True:
            try:
                await self._listen()
                delay = self.retry_delay  # it was subscribed: start over from the short delay
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("catalogue listener failed", extra={"error": repr(exc)})
            await asyncio.sleep(delay)
            delay = min(max(delay, self.retry_delay) * 2, self.max_retry_delay)

    async def _listen(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self.dsn, timeout=10)
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _c: lost.set())
            await conn.add_listener(CHANNEL, self.feed._notified)
            for channel, callback in self.also.items():
                await conn.add_listener(channel, callback)
            # Read after LISTEN: a change committed before is in the read, any later one notified.
            await self.feed._check(conn, 10)
            self.server_pid = conn.get_server_pid()
            self.feed._connection = conn
            self.feed.subscriptions += 1
            log.info("catalogue listener subscribed", extra={"version": self.feed.version})
            while not conn.is_closed():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), self.check_every)
                if lost.is_set() or conn.is_closed():
                    break
                await self.feed._check(conn, self.check_every)
            log.warning("catalogue listener lost its connection; requests read the version")
        finally:
            if self.feed._connection is conn:
                self.feed._connection = None
            self.server_pid = None
            conn.terminate()


class FeedCollector(Collector):
    """The feed's state for Prometheus, read at scrape time."""

    def __init__(self, feed: CatalogueFeed) -> None:
        self._feed = feed

    def collect(self) -> Iterable[Metric]:
        feed = self._feed
        yield GaugeMetricFamily(
            "tstv_catalogue_subscribed",
            "1 while catalogue version notifications are received (else requests read the version)",
            value=1 if feed.subscribed else 0,
        )
        yield CounterMetricFamily(
            "tstv_catalogue_subscriptions",
            "Times the catalogue listener subscribed",
            value=feed.subscriptions,
        )
        yield CounterMetricFamily(
            "tstv_catalogue_version_reads",
            "Catalogue versions read by requests because no current version was pushed",
            value=feed.version_reads,
        )
