"""Source preparation order on a first start: every channel's base rung (what it needs to go on
air) is encoded before any channel's upper rungs (`encoders/sources.py`, `_PriorityGate`)."""

from __future__ import annotations

import asyncio

from app.services.encoders.sources import _PriorityGate


async def test_a_freed_slot_goes_to_the_base_rung_waiting_before_upper_rungs_queued_earlier() -> None:
    gate = _PriorityGate(1)
    order: list[str] = []
    release = asyncio.Event()

    async def build(name: str, priority: int, hold: asyncio.Event | None = None) -> None:
        async with gate.hold(priority):
            order.append(name)
            if hold is not None:
                await hold.wait()

    first = asyncio.create_task(build("ch1 base", 0, release))
    await asyncio.sleep(0)
    waiting = [
        asyncio.create_task(build(n, p)) for n, p in [("ch1 720p", 1), ("ch1 540p", 1), ("ch2 base", 0)]
    ]
    await asyncio.sleep(0.01)
    assert order == ["ch1 base"]
    release.set()
    await asyncio.gather(first, *waiting)
    assert order == ["ch1 base", "ch2 base", "ch1 720p", "ch1 540p"]


async def test_a_waiter_cancelled_gives_its_slot_on() -> None:
    gate = _PriorityGate(1)
    release = asyncio.Event()
    done: list[str] = []

    async def build(name: str, hold: asyncio.Event | None = None) -> None:
        async with gate.hold(0):
            if hold is not None:
                await hold.wait()
            done.append(name)

    holder = asyncio.create_task(build("a", release))
    await asyncio.sleep(0)
    cancelled = asyncio.create_task(build("b"))
    last = asyncio.create_task(build("c"))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    release.set()
    await asyncio.wait_for(asyncio.gather(holder, last), 5)
    assert done == ["a", "c"]
    async with gate.hold(1):  # the slot is free again
        pass
