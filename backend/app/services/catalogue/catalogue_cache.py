"""What the catch-up listings share between viewers, kept between requests.

A listing page is the same for every viewer but for the bookmarks, and it changes only when
(a) `channels` or `schedule_entries` change, (b) the archive's recorded ranges change, or (c) time
crosses a programme's end (it appears) or a window's end (it leaves). So a page is kept under
  - the catalogue version (a counter that database triggers bump on every write to those tables,
    in the writer's transaction, so writes by other processes or plain SQL count too): entries
    are tagged with the version read *before* their data, and every request reads the version in
    the same statement as its profile's bookmarks, so it never serves a page older than the
    database it just read;
  - a key holding the recorded ranges it was computed from, but for the live edge (the end of
    the last range, which grows with every segment): a page is reused while each channel's edge
    has not grown past the next programme start (before that, no more programmes are recorded);
  - the time span in which no programme of its channels ends and no window closes.
Only the profile's bookmarks are read per request. Concurrent misses of one page compute it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class Miss(Exception):
    """Raised by a cache-only lookup that would need the database."""


@dataclass(frozen=True, slots=True)
class Timed:
    """A value valid while `since <= now < until` (the span in which time alone cannot change it)."""

    value: Any
    since: datetime
    until: datetime
    weight: int = 1  # what it counts against the cache's size (a page: its items)


class ListingCache:
    """Values derived from `channels`/`schedule_entries`, for one catalogue version at a time.

    Bounded: at most `max_entries` plain values, and timed values weighing at most `max_weight`
    in all (pages weigh their items, so walking every offset with limit=200 cannot fill memory);
    the oldest go first."""

    def __init__(self, max_entries: int = 1024, max_weight: int = 50_000) -> None:
        self.version: int | None = None
        self.max_entries = max_entries
        self.max_weight = max_weight
        self._values: dict[Hashable, Any] = {}
        self._timed: dict[Hashable, Timed] = {}
        self._weight = 0
        self._inflight: dict[tuple[int, Hashable], asyncio.Future[Timed]] = {}

    def observe(self, version: int | None) -> None:
        """The database is at `version`: drop everything read at another one. Versions are
        compared for equality, not order, so a restored (older) database also clears the cache."""
        if version != self.version:
            self.version = version
            self._values.clear()
            self._timed.clear()
            self._weight = 0

    async def value(self, key: Hashable, read: Callable[[], Awaitable[Any]] | None) -> Any:
        """The value under `key` at this version, read with `read()` if missing (`read=None`: raise
        `Miss` instead). Nothing is kept while the version is unknown."""
        if key in self._values:
            return self._values[key]
        if read is None:
            raise Miss
        version = self.version
        value = await read()
        if version is not None and version == self.version:
            self._store(self._values, key, value)
        return value

    async def timed(
        self,
        key: Hashable,
        now: datetime,
        compute: Callable[[], Awaitable[Timed]] | None,
        fits: Callable[[Any], bool] = lambda _: True,
    ) -> Any:
        """The value under `key` if it is valid at `now` and `fits(value)`, else computed once by
        `compute()` for all concurrent callers (`compute=None`: raise `Miss` instead)."""

        def usable(timed: Timed) -> bool:
            return timed.since <= now < timed.until and fits(timed.value)

        found = self._timed.get(key)
        if found is not None and usable(found):
            return found.value
        if compute is None:
            raise Miss
        version = self.version
        if version is None:
            return (await compute()).value
        flight = (version, key)
        pending = self._inflight.get(flight)
        if pending is not None:
            try:
                shared = await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise
                return (await compute()).value  # the request computing it went away
            if usable(shared):
                return shared.value
            return (await compute()).value  # computed for a moment on the other side of a boundary
        future: asyncio.Future[Timed] = asyncio.get_running_loop().create_future()
        self._inflight[flight] = future
        try:
            result = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited failure is not logged as lost
            raise
        else:
            future.set_result(result)
        finally:
            del self._inflight[flight]
        if version == self.version and usable(result) and result.weight <= self.max_weight:
            old = self._timed.pop(key, None)
            self._weight += result.weight - (old.weight if old is not None else 0)
            while self._weight > self.max_weight or len(self._timed) >= self.max_entries:
                self._weight -= self._timed.pop(next(iter(self._timed))).weight  # the oldest
            self._timed[key] = result
        return result.value

    def _store(self, table: dict[Hashable, Any], key: Hashable, value: Any) -> None:
        if len(table) >= self.max_entries:
            del table[next(iter(table))]  # the oldest entry
        table[key] = value
