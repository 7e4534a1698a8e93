"""Soak: N simulated viewers doing what the web player does (bench/soak_viewer.py) against a real stack
for a set time, per request kind count, errors and latency, the server processes' memory and CPU.

  single process (as `make run`, role all): tests/stack.py's running_stack
  --cluster (as `make cluster`): two API replicas, two workers, nginx balancing and serving the CDN

Two channels of 5-minute programmes are on air with the last --history minutes backfilled, so
catch-up has aired programmes at once. --find-max steps N up (25, 50, 100, ...) for --step-minutes
each and reports the largest N with no error and playlist p95 < 100 ms, and what gave out first.

    cd backend && uv run --frozen python -m bench.soak --viewers 50 --minutes 20 [--cluster]
        [--mix live=50,startover=25,catchup=25] [--ramp 60] [--find-max] [--clients K] [--out FILE]

Exits 2 on a bad argument and 1 when the run measured nothing real (bench/soak_stats.py:
misconfigured); the figures go to stdout and, as JSON, to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from asyncio.subprocess import PIPE
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from app.config import Settings
from app.domain.schedule import SCHEDULE_EPOCH
from bench import soak_stats as stats
from bench.soak_client import drive, limits, part
from bench.soak_probe import Sampler, cpu_seconds, machine_ticks, pids_matching
from bench.soak_setup import add_channel, add_viewers, backfill, load_channels, wait_recorded
from bench.soak_viewer import Channel, World, timed
from tests.conftest import BACKEND_DIR
from tests.stack import (
    PASSWORD,
    _settings_of,
    on_air_with_past,
    role_env,
    running_cluster,
    running_stack,
    wait_until,
)

PROGRAMME_S = 300  # programme (and source loop) length: catch-up programmes of 5 minutes
KEYS = ("soak1", "soak2")
# No seeded channels: in a cluster the workers would start encoding ch1-ch5 (10-minute loops).
ENV = {"SEED_ON_STARTUP": "false"}
# The channels' generated sources, kept between soaks (tests/stack.py shares them the same way): each
# run would otherwise spend a minute of CPU encoding the same loops before its viewers arrive.
SOURCES = Path(tempfile.gettempdir()) / "tstv-soak-sources"
# One client process used about 0.3 % of a core per viewer (docs/PERFORMANCE.md, "Soak"): 150 viewers
# a process keep it near half a core, under the 80 % at which a step measures the client.
VIEWERS_PER_CLIENT = 150


@dataclass
class Target:
    """A running stack as the soak uses it."""

    label: str
    api: str  # where viewers send API requests (nginx in front of the replicas in a cluster)
    probes: list[str]  # each API process directly: GET /healthz once a second
    db_url: str
    procs: dict[str, int]
    channels: list[Channel]
    recorded_since: float
    viewers: int = 0  # accounts made so far
    tokens: dict[str, str] = field(default_factory=dict)  # viewers signed in so far (--find-max)


def _since(history_s: float) -> float:
    """A programme start about `history_s` ago: catch-up programmes are whole from the first one."""
    epoch = SCHEDULE_EPOCH.timestamp()
    return epoch + (time.time() - history_s - epoch) // PROGRAMME_S * PROGRAMME_S


def _add_channels(db_url: str, since: float, until: float) -> dict[str, uuid.UUID]:
    return {k: asyncio.run(add_channel(db_url, k, PROGRAMME_S, since, until)) for k in KEYS}


def _nginx(tmp: Path) -> dict[str, int]:
    masters = pids_matching("nginx", f"-p {tmp}")  # its workers are sampled as its children
    return {"nginx": masters[0]} if masters else {}


@contextlib.contextmanager
def single(tmp: Path, history_s: float, until: float) -> Iterator[Target]:
    SOURCES.mkdir(exist_ok=True)
    with running_stack(tmp, PROGRAMME_S, env=ENV, sources_cache=SOURCES) as s:
        since = _since(history_s)
        ids = _add_channels(s.db_url, since, until)
        on_air_with_past(s, since, *KEYS)
        port = s.api.rsplit(":", 1)[1]
        uvicorn = pids_matching("app.main:app_factory", f"--port {port}")
        if len(uvicorn) != 1:
            raise SystemExit(f"soak: expected one uvicorn on port {port}, found {uvicorn}")
        channels = load_channels(s.api, s.admin_token, ids, time.time())
        procs = {"api (role all)": uvicorn[0], **_nginx(tmp)}
        yield Target("single process", s.api, [s.api], s.db_url, procs, channels, since)


@contextlib.contextmanager
def cluster(tmp: Path, history_s: float, until: float) -> Iterator[Target]:
    since = _since(history_s)
    ids: dict[str, uuid.UUID] = {}

    async def prepare(db_url: str) -> None:
        ids.update(await asyncio.to_thread(_add_channels, db_url, since, until))

    SOURCES.mkdir(exist_ok=True)
    with running_cluster(
        tmp, workers=2, prepare=prepare, apis=2, balancer=True, env=ENV, sources_cache=SOURCES
    ) as c:
        assert c.front
        front = c.front
        replicas = [f"http://127.0.0.1:{p}" for p in c.api_ports]
        for ch in ids.values():
            wait_until(
                lambda i=ch: c.get(f"/api/v1/tstv/live/{i}/manifest").status_code == 200,
                300,
                "encoders on air",
            )
        settings: Settings = _settings_of(role_env("worker", c.db_url, c.hls_dir, 0, **ENV))
        backfill(settings, list(KEYS), since, time.time())
        for api in replicas:
            wait_recorded(api, c.admin_token, list(KEYS), since, since + PROGRAMME_S)
        channels = load_channels(front, c.admin_token, ids, time.time())
        procs = {f"api{i + 1}": p.pid for i, p in enumerate(c.apis)}
        procs |= {f"worker {w}": p.pid for w, p in c.workers.items()} | _nginx(tmp)
        yield Target("cluster (2 API, 2 workers, nginx)", front, replicas, c.db_url, procs, channels, since)


async def _probe(world: World, urls: list[str]) -> None:
    while not world.stopping():
        await asyncio.gather(*(_healthz(world, u) for u in urls))
        await asyncio.sleep(1.0)


async def _healthz(world: World, base: str) -> None:
    await timed(world, "probe", "GET", f"{base}/healthz")


async def _sample_every(sampler: Sampler, world: World, every: float) -> None:
    while True:
        await asyncio.sleep(min(every, max(0.0, world.stop_at - time.monotonic())))
        if world.stopping():
            return
        row = sampler.sample()
        print(f"  {_progress(row, world, len(sampler.client_pids))}", flush=True)


def _progress(row: dict[str, Any], world: World, clients: int) -> str:
    rss = ", ".join(f"{k} {v['rss_mb']} MB" for k, v in row["procs"].items())
    return (
        f"{datetime.now(UTC):%H:%M:%S} viewers {f'in {clients} processes' if clients else world.active}, "
        f"machine CPU {100 * row.get('machine_cpu', 0):.0f} %, "
        f"client CPU {100 * row.get('client_cpu', 0):.0f} %, load {row['load1']}; RSS {rss}"
    )


async def run_viewers(
    t: Target, mix: dict[str, float], n: int, seconds: float, ramp: float, dwell: float, clients: int = 1
) -> dict[str, Any]:
    """N viewers for `seconds` (their starts spread over `ramp`), sampled every minute; with
    `clients` > 1 the viewers run in that many processes (bench/soak_client.py), this one probing."""
    async with httpx.AsyncClient(limits=limits(n if clients == 1 else 4), timeout=10.0) as client:
        world = World(client, t.api, PASSWORD, t.channels, t.recorded_since, mix, dwell, stats.Recorder())
        world.tokens = t.tokens
        world.stop_at = time.monotonic() + seconds
        parts = [list(range(k, n, clients)) for k in range(clients)] if clients > 1 else []
        procs = [await _spawn() for _ in parts]
        sampler, stop = Sampler(t.procs, [p.pid for p in procs]), asyncio.Event()
        sampler.sample()
        busy0, total0 = machine_ticks()
        cpu0, wall0 = time.process_time(), time.monotonic()
        server0 = {k: cpu_seconds(p) for k, p in t.procs.items()}
        lag = asyncio.create_task(sampler.watch_loop(stop))
        viewers = _in_parts(world, procs, parts, n, seconds, ramp) if parts else _here(world, n, ramp)
        loads, *_ = await asyncio.gather(
            viewers, _probe(world, t.probes), _sample_every(sampler, world, 60.0)
        )
        stop.set()
        await lag
        busy1, total1 = machine_ticks()
        wall = time.monotonic() - wall0
        server = {k: _share(server0[k], cpu_seconds(p), wall) for k, p in t.procs.items()}
        sampler.sample()
    summary = world.rec.summary()
    machine_cpu = (busy1 - busy0) / max(1, total1 - total0)
    here = (time.process_time() - cpu0) / wall
    # Saturation is per process: the busiest client process is the one to watch.
    client_cpu = max([here] + [c for c, _ in loads])
    lags = [s.get("client_loop_lag_max_ms", 0) for s in sampler.samples] + [g for _, g in loads]
    return {
        "viewers": n,
        "clients": max(1, clients),
        "seconds": round(wall, 1),
        "tunes": dict(world.tunes),
        "summary": summary,
        "machine_cpu": round(machine_cpu, 3),
        "client_cpu": round(client_cpu, 3),
        "client_cpu_each": [round(here, 3)] + [c for c, _ in loads],
        "server_cpu": server,  # of one core, mean over the run (the process's threads, not children)
        "client_loop_lag_max_ms": max(lags, default=0),
        "samples": sampler.samples,
        "verdict": stats.step_verdict(summary, machine_cpu, client_cpu),
    }


async def _here(world: World, n: int, ramp: float) -> list[tuple[float, float]]:
    await drive(world, list(range(n)), n, ramp)
    return []


async def _spawn() -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.soak_client", stdin=PIPE, stdout=PIPE, cwd=BACKEND_DIR
    )


async def _in_parts(
    world: World,
    procs: list[asyncio.subprocess.Process],
    parts: list[list[int]],
    n: int,
    seconds: float,
    ramp: float,
) -> list[tuple[float, float]]:
    """Each client process's part, their records merged into `world`: (CPU of a core, loop lag ms) each."""

    async def one(proc: asyncio.subprocess.Process, indices: list[int]) -> tuple[float, float]:
        given = json.dumps(part(world, indices, n, seconds, ramp)).encode()
        out, _ = await proc.communicate(given)
        if proc.returncode != 0:
            raise SystemExit(f"soak: a client process failed (exit {proc.returncode})")
        got = json.loads(out)
        world.rec.merge(got["kinds"])
        world.tunes.update(got["tunes"])
        world.tokens.update(got["tokens"])
        return got["cpu"], got["loop_lag_max_ms"]

    try:
        return list(await asyncio.gather(*(one(p, i) for p, i in zip(procs, parts, strict=True))))
    finally:
        for p in procs:  # one failed: the others would run on against a stack being torn down
            if p.returncode is None:
                p.kill()


def _clients_for(n: int) -> int:
    return max(1, -(-n // VIEWERS_PER_CLIENT))


def _share(before: float | None, after: float | None, wall: float) -> float | None:
    return None if before is None or after is None else round((after - before) / wall, 3)


def _ensure_viewers(t: Target, n: int) -> None:
    if n > t.viewers:
        asyncio.run(add_viewers(t.db_url, PASSWORD, t.viewers, n - t.viewers))
        t.viewers = n


def _report(t: Target, result: dict[str, Any]) -> None:
    first, last = result["samples"][0], result["samples"][-1]
    print(f"\n{t.label}: {result['viewers']} viewers for {result['seconds']:.0f} s")
    print("playbacks started: " + ", ".join(f"{m} {c}" for m, c in sorted(result["tunes"].items())))
    print(stats.table(result["summary"]))
    print(
        f"machine CPU {100 * result['machine_cpu']:.0f} % of {os.cpu_count()} cores, client CPU "
        f"{100 * result['client_cpu']:.0f} % of a core (busiest of {result['clients']} processes), "
        f"client loop lag max {result['client_loop_lag_max_ms']} ms"
    )
    for label, p in last["procs"].items():
        extra = f", children {p['children_rss_mb']} MB" if "children_rss_mb" in p else ""
        cpu = result["server_cpu"].get(label)
        used = f", CPU {100 * cpu:.1f} % of a core" if cpu is not None else ""
        print(f"  {label}: RSS {first['procs'][label]['rss_mb']} -> {p['rss_mb']} MB{extra}{used}")
    if result["client_cpu"] >= stats.Limits().client_cpu:
        print("WARNING: the client used most of a core: these figures measure the client, not the server")


def _find_max(t: Target, args: argparse.Namespace, mix: dict[str, float]) -> dict[str, Any]:
    steps, passed, gave_out = [], None, None
    for n in stats.find_max_steps(args.viewers, args.max_viewers):
        _ensure_viewers(t, n)
        clients = args.clients or _clients_for(n)
        result = asyncio.run(
            run_viewers(t, mix, n, args.step_minutes * 60, min(args.ramp, 30), args.dwell, clients)
        )
        _report(t, result)
        steps.append(result)
        if result["verdict"]:
            gave_out = result["verdict"] + stats.slowest_others(result["summary"])
            break
        passed = n
    print(f"\nlargest N with no error and playlist p95 < 100 ms: {passed}; gave out first: {gave_out}")
    return {"steps": steps, "largest_ok": passed, "gave_out": gave_out}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viewers", type=int, default=20, help="viewers (with --find-max: the first step)")
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--cluster", action="store_true")
    ap.add_argument("--mix", default="live=50,startover=25,catchup=25")
    ap.add_argument("--ramp", type=float, default=60.0, help="seconds over which viewers arrive")
    ap.add_argument("--dwell", type=float, default=300.0, help="mean seconds on one playback")
    ap.add_argument("--history", type=float, default=30.0, help="minutes of archive backfilled first")
    ap.add_argument("--find-max", action="store_true")
    ap.add_argument("--step-minutes", type=float, default=2.0)
    ap.add_argument("--max-viewers", type=int, default=1600)
    ap.add_argument(
        "--clients",
        type=int,
        default=0,
        help=f"client processes (default 1; with --find-max one per {VIEWERS_PER_CLIENT} viewers)",
    )
    ap.add_argument("--out", type=Path, default=None, help="JSON results (default /tmp/tstv-soak-*.json)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        mix = stats.parse_mix(args.mix)
        if (
            args.viewers < 1
            or args.minutes <= 0
            or not 0 <= args.ramp < args.minutes * 60
            or args.clients < 0
        ):
            raise stats.MixError("need --viewers >= 1, --minutes > 0, 0 <= --ramp < the run, --clients >= 0")
        if args.find_max:
            stats.find_max_steps(args.viewers, args.max_viewers)
    except (stats.MixError, ValueError) as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.gettempdir()) / f"tstv-soak-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    tmp = Path(tempfile.mkdtemp(prefix="tstv-soak-"))
    minutes = args.minutes if not args.find_max else args.step_minutes * 12
    until = time.time() + minutes * 60 + 3600
    started = cluster if args.cluster else single
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)  # the archive, sources and nginx files
        t = cleanup.enter_context(started(tmp, args.history * 60, until))
        if args.find_max:
            result = _find_max(t, args, mix)
            last = result["steps"][-1]
        else:
            _ensure_viewers(t, args.viewers)
            result = last = asyncio.run(
                run_viewers(t, mix, args.viewers, args.minutes * 60, args.ramp, args.dwell, args.clients or 1)
            )
            _report(t, result)
    config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    out.write_text(json.dumps({"target": t.label, "config": config, "mix": mix, **result}, indent=1))
    print(f"\nJSON: {out}")
    problems = stats.misconfigured(last["summary"], mix, last["seconds"])
    if problems:
        print("soak: MISCONFIGURED, the run measured nothing real: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
