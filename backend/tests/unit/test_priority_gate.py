"""The source encodes' gate (`_PriorityGate` in app/services/encoders/sources.py): pure asyncio."""

from __future__ import annotations

import asyncio

from app.services.encoders.sources import _PriorityGate


async def _run(gate: _PriorityGate, name: str, priority: int, log: list[str], release: asyncio.Event) -> None:
    async with gate.hold(priority):
        log.append(f"+{name}")
        await release.wait()
        log.append(f"-{name}")


async def test_a_later_priority_waits_while_an_earlier_one_holds_a_slot() -> None:
    gate = _PriorityGate(2)
    log: list[str] = []
    done = {n: asyncio.Event() for n in ("base1", "base2", "base3", "upper")}
    tasks = [
        asyncio.create_task(_run(gate, "base1", 0, log, done["base1"])),
        asyncio.create_task(_run(gate, "base2", 0, log, done["base2"])),
        asyncio.create_task(_run(gate, "base3", 0, log, done["base3"])),
        asyncio.create_task(_run(gate, "upper", 1, log, done["upper"])),
    ]
    await asyncio.sleep(0.01)
    assert log == ["+base1", "+base2"]
    done["base1"].set()
    await asyncio.sleep(0.01)
    assert log[-1] == "+base3"  # the freed slot goes to the base rung
    done["base2"].set()
    await asyncio.sleep(0.01)
    assert "+upper" not in log  # a slot is free, but base3 still encodes: it runs alone
    done["base3"].set()
    await asyncio.sleep(0.01)
    assert log[-1] == "+upper"
    done["upper"].set()
    await asyncio.gather(*tasks)


async def test_an_earlier_priority_arriving_takes_a_slot_kept_free() -> None:
    gate = _PriorityGate(2)
    log: list[str] = []
    base, upper, late = asyncio.Event(), asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(_run(gate, "base", 0, log, base))
    await asyncio.sleep(0.01)
    waiting = asyncio.create_task(_run(gate, "upper", 1, log, upper))
    await asyncio.sleep(0.01)
    assert log == ["+base"]  # one slot free, kept from the upper rung
    arriving = asyncio.create_task(_run(gate, "late", 0, log, late))
    await asyncio.sleep(0.01)
    assert log == ["+base", "+late"]
    base.set()
    late.set()
    await asyncio.sleep(0.01)
    assert "+upper" in log
    upper.set()
    await asyncio.gather(first, waiting, arriving)


async def test_a_waiter_cancelled_passes_its_slot_on() -> None:
    gate = _PriorityGate(1)
    log: list[str] = []
    base, other = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(_run(gate, "base", 0, log, base))
    await asyncio.sleep(0.01)
    gone = asyncio.create_task(_run(gate, "gone", 0, log, asyncio.Event()))
    after = asyncio.create_task(_run(gate, "after", 1, log, other))
    await asyncio.sleep(0.01)
    gone.cancel()
    base.set()
    await asyncio.sleep(0.01)
    assert log == ["+base", "-base", "+after"]
    other.set()
    await asyncio.gather(holder, after)
