"""The listing cache on its own: versions, time spans, the fit check and shared computation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from app.services.catalogue.catalogue_cache import ListingCache, Miss, Timed

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def test_values_live_for_one_version() -> None:
    cache = ListingCache()
    reads: list[str] = []

    async def read() -> str:
        reads.append("read")
        return "channel"

    assert await cache.value("k", read) == "channel"  # version unknown: nothing is kept
    cache.observe(7)
    assert await cache.value("k", read) == "channel"
    assert await cache.value("k", None) == "channel"
    assert len(reads) == 2
    cache.observe(6)  # any other version, older included, empties the cache
    with pytest.raises(Miss):
        await cache.value("k", None)


async def test_timed_values_hold_for_their_span_and_fit() -> None:
    cache = ListingCache()
    cache.observe(1)
    computed: list[datetime] = []

    def computing(now: datetime) -> Timed:
        computed.append(now)
        return Timed(len(computed), now, T0 + timedelta(minutes=10))

    async def at(now: datetime, fits: bool = True) -> int:
        async def compute() -> Timed:
            return computing(now)

        value: int = await cache.timed("page", now, compute, lambda _: fits)
        return value

    assert await at(T0) == 1
    assert await at(T0 + timedelta(minutes=9, seconds=59)) == 1
    assert await at(T0 - timedelta(seconds=1)) == 2, "before the span it was computed for"
    assert await at(T0) == 2, "the new value's span covers it"
    assert await at(T0 + timedelta(minutes=10)) == 3, "at the end of its span"
    assert await at(T0, fits=False) == 4
    with pytest.raises(Miss):
        await cache.timed("other", T0, None)


async def test_concurrent_misses_compute_once() -> None:
    cache = ListingCache()
    cache.observe(1)
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def compute() -> Timed:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return Timed("page", T0, T0 + timedelta(hours=1))

    waiters = [asyncio.create_task(cache.timed("k", T0, compute)) for _ in range(20)]
    await started.wait()  # the other 19 were queued before this wakes up
    release.set()
    assert await asyncio.gather(*waiters) == ["page"] * 20
    assert calls == 1


async def test_a_failed_computation_fails_its_waiters_and_is_not_kept() -> None:
    cache = ListingCache()
    cache.observe(1)
    release = asyncio.Event()

    async def failing() -> Timed:
        await release.wait()
        raise RuntimeError("database went away")

    first = asyncio.create_task(cache.timed("k", T0, failing))
    await asyncio.sleep(0)
    second = asyncio.create_task(cache.timed("k", T0, failing))
    await asyncio.sleep(0)
    release.set()
    for task in (first, second):
        with pytest.raises(RuntimeError):
            await task
    with pytest.raises(Miss):
        await cache.timed("k", T0, None)


async def test_a_page_computed_at_an_old_version_is_not_kept() -> None:
    cache = ListingCache()
    cache.observe(1)

    async def compute() -> Timed:
        cache.observe(2)  # a write committed while the page was read
        return Timed("old", T0, T0 + timedelta(hours=1))

    assert await cache.timed("k", T0, compute) == "old"
    with pytest.raises(Miss):
        await cache.timed("k", T0, None)


async def test_pages_are_bounded_by_their_weight() -> None:
    cache = ListingCache(max_weight=100)
    cache.observe(1)

    async def page(key: int, weight: int) -> None:
        async def compute() -> Timed:
            return Timed(key, T0, T0 + timedelta(hours=1), weight=weight)

        await cache.timed(key, T0, compute)

    for key in range(5):
        await page(key, 30)  # 150 in all: the oldest make room
    kept = [k for k in range(5) if await _cached(cache, k)]
    assert kept == [2, 3, 4]
    await page(9, 101)  # heavier than the whole cache: served, not kept
    assert not await _cached(cache, 9)
    assert [k for k in range(5) if await _cached(cache, k)] == [2, 3, 4]


async def _cached(cache: ListingCache, key: int) -> bool:
    try:
        await cache.timed(key, T0, None)
    except Miss:
        return False
    return True


async def test_waiters_compute_for_themselves_when_the_computing_request_goes_away() -> None:
    cache = ListingCache()
    cache.observe(1)
    started = asyncio.Event()

    async def stuck() -> Timed:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("never")

    async def quick() -> Timed:
        return Timed("page", T0, T0 + timedelta(hours=1))

    first = asyncio.create_task(cache.timed("k", T0, stuck))
    await started.wait()
    second = asyncio.create_task(cache.timed("k", T0, quick))
    await asyncio.sleep(0)  # `second` now waits for the page `first` computes
    first.cancel()
    assert await second == "page"
    with pytest.raises(asyncio.CancelledError):
        await first
