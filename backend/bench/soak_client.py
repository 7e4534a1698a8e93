"""Simulated viewers in a process of their own (bench/soak.py --clients K): one Python process drives
a few hundred viewers before its own CPU, not the server, sets the latencies. Reads its part of the
soak as JSON on stdin, writes what it recorded as JSON on stdout:

    python -m bench.soak_client < part.json > recorded.json
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict
from typing import Any

import httpx

from bench.soak_probe import Sampler
from bench.soak_stats import Recorder
from bench.soak_viewer import VIEWER_EMAIL, Channel, Programme, Viewer, World


def limits(viewers: int) -> httpx.Limits:
    """Room for every viewer's video, audio and API requests at once: a pool wait would be timed."""
    return httpx.Limits(max_connections=4 * viewers + 50, max_keepalive_connections=4 * viewers + 50)


async def drive(world: World, indices: list[int], n: int, ramp: float) -> None:
    """Viewers `indices` of `n`, viewer i arriving at ramp * i / n seconds."""

    async def viewer(i: int) -> None:
        await asyncio.sleep(ramp * i / n)
        if not world.stopping():
            await Viewer(world, i, VIEWER_EMAIL.format(n=i)).run()

    await asyncio.gather(*(viewer(i) for i in indices))


def part(world: World, indices: list[int], n: int, seconds: float, ramp: float) -> dict[str, Any]:
    """What a client process needs of the soak (JSON)."""
    return {
        "api": world.api,
        "password": world.password,
        "channels": [asdict(c) for c in world.channels],
        "recorded_since": world.recorded_since,
        "mix": world.mix,
        "dwell": world.dwell_s,
        "tokens": {e: world.tokens[e] for i in indices if (e := VIEWER_EMAIL.format(n=i)) in world.tokens},
        "indices": indices,
        "n": n,
        "seconds": seconds,
        "ramp": ramp,
    }


async def run_part(p: dict[str, Any]) -> dict[str, Any]:
    channels = [
        Channel(c["id"], c["key"], tuple(Programme(**x) for x in c["programmes"])) for c in p["channels"]
    ]
    async with httpx.AsyncClient(limits=limits(len(p["indices"])), timeout=10.0) as client:
        world = World(
            client, p["api"], p["password"], channels, p["recorded_since"], p["mix"], p["dwell"], Recorder()
        )
        world.tokens = p["tokens"]
        world.stop_at = time.monotonic() + p["seconds"]
        lag, stop = Sampler({}), asyncio.Event()
        watch = asyncio.create_task(lag.watch_loop(stop))
        cpu0, wall0 = time.process_time(), time.monotonic()
        await drive(world, p["indices"], p["n"], p["ramp"])
        stop.set()
        await watch
    return {
        "kinds": world.rec.raw(),
        "tunes": dict(world.tunes),
        "tokens": world.tokens,
        "cpu": round((time.process_time() - cpu0) / (time.monotonic() - wall0), 3),
        "loop_lag_max_ms": round(1000 * lag.loop_lag_max, 1),
    }


def main() -> None:
    json.dump(asyncio.run(run_part(json.load(sys.stdin))), sys.stdout)


if __name__ == "__main__":
    main()
