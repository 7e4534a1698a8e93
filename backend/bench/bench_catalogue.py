"""Catalogue benchmark (docs/PRODUCT.md, J3 and 'Targets'): both catch-up listings served over HTTP by the
real app on PostgreSQL, with the seeded 5 channels x 14 days of schedule, a synthetic 7-day archive of every
channel (empty segment files in the real layout) that grows by a segment per channel every 6 s
while measuring, as SimLive's does, and 1,000 bookmarks on the viewer's profile.

    cd backend && uv run python -m bench.bench_catalogue [--seconds 10] [--archive DIR] [--write-docs]
        [--workers 1] [--extra-workers 2]

Prints p50/p95/p99 and throughput at 1 and 32 concurrent clients (wrk), with the app's CPU time per
request and the machine's load average after each row (the machine may be shared: the load says how
much else ran). One uvicorn worker process by default, the headline figure; `--extra-workers N`
adds the 32-client rows with N workers, labelled as such. With --write-docs the table goes into
docs/PERFORMANCE.md under "## Catalogue".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.db import Database
from app.models import Bookmark, ScheduleEntry
from app.services.archive.archive_layout import RunInfo, read_run_info
from app.services.catalogue.channel_catalogue import CHANNELS
from app.services.catalogue.seed import seed_all
from bench.served_app import (
    DEMO_PASSWORD,
    LoadResult,
    analyze,
    login,
    run_wrk,
    served_app,
    throwaway_database,
)
from tests.archive_factory import append_segments, write_run

DAYS = 7
SEGMENT = 6
BOOKMARKS = 1000
DOCS = Path(__file__).resolve().parents[2] / "docs" / "PERFORMANCE.md"
COMMAND = "cd backend && uv run python -m bench.bench_catalogue --write-docs"


def build_archive(root: Path) -> dict[RunInfo, int]:
    """One run per channel covering the last 7 days, both renditions; an existing one is reused
    and brought up to now. Returns each run's next segment number."""
    end = math.floor(time.time() / SEGMENT) * SEGMENT
    start = end - DAYS * 86400
    runs = {}
    for c in CHANNELS:
        existing = sorted((root / c.key).glob("r*/run.json"))
        info = read_run_info(existing[-1].parent) if existing else None
        t = time.perf_counter()
        if info is not None:
            have = sum(1 for n in os.listdir(existing[-1].parent / "video") if n.endswith(".m4s"))
            runs[info] = append_segments(root, info, have, time.time())
            continue
        info = write_run(
            root,
            c.key,
            datetime.fromtimestamp(start, UTC),
            datetime.fromtimestamp(end, UTC),
            segment_duration=SEGMENT,
            loop_seconds=c.loop_seconds,
        )
        runs[info] = math.ceil((end - info.anchor) / SEGMENT)
        print(
            f"  archive {c.key}: {DAYS * 86400 // SEGMENT:,} segments x 2 in {time.perf_counter() - t:.1f} s"
        )
    return runs


@contextlib.contextmanager
def growing(root: Path, runs: dict[RunInfo, int]) -> Iterator[None]:
    """The archive grows while we measure, as SimLive's does: every channel gains a segment every
    6 s, the index tails it, and cached listings are recomputed for the new live edge as they are
    in service."""
    next_seq = dict(runs)
    stop = threading.Event()

    def grow() -> None:
        while not stop.wait(1.0):
            for info, seq in next_seq.items():
                next_seq[info] = append_segments(root, info, seq, time.time())

    thread = threading.Thread(target=grow, name="archive-growth", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


async def seed(database_url: str) -> None:
    """Seed once here, so several app workers don't race to seed the same fresh database."""
    db = Database(db_settings(database_url))
    try:
        async with db.sessionmaker() as session:
            await seed_all(session, db_settings(database_url))
    finally:
        await db.dispose()


def db_settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, tstv_demo_password=DEMO_PASSWORD)


async def add_bookmarks(database_url: str, profile_id: uuid.UUID) -> int:
    """1,000 TSTV bookmarks on past programmes (random positions), as a heavy viewer would have."""
    engine = create_async_engine(database_url)
    rng = random.Random(1)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(ScheduleEntry.id, ScheduleEntry.start_time, ScheduleEntry.end_time).where(
                        ScheduleEntry.end_time <= now, ScheduleEntry.end_time > now - timedelta(days=DAYS)
                    )
                )
            ).all()
            chosen = rng.sample(list(rows), min(BOOKMARKS, len(rows)))
            values = [
                {
                    "id": uuid.uuid4(),
                    "profile_id": profile_id,
                    "content_id": eid,
                    "content_type": "tstv_catchup",
                    "position_seconds": rng.uniform(1, (end - start).total_seconds()),
                    "duration_seconds": (end - start).total_seconds(),
                    "updated_at": now - timedelta(seconds=rng.uniform(0, DAYS * 86400)),
                }
                for eid, start, end in chosen
            ]
            await conn.execute(pg_insert(Bookmark).values(values).on_conflict_do_nothing())
        return len(values)
    finally:
        await engine.dispose()


TABLE_HEADER = (
    "| scenario | clients | p50 ms | p95 ms | p99 ms | requests/s | errors | app CPU ms/request "
    "| load avg (1 min) |\n|---|---|---|---|---|---|---|---|---|"
)


@dataclass(frozen=True)
class Row:
    """One wrk run, with the app's CPU time per request and the load average right after it."""

    result: LoadResult
    cpu_ms_per_request: float
    load: float

    def text(self) -> str:
        return f"{self.result.row()} {self.cpu_ms_per_request:.2f} | {self.load:.2f} |"


def app_processes(base: str) -> list[psutil.Process]:
    """The uvicorn process serving `base` and its worker processes."""
    port = int(base.rsplit(":", 1)[1])
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            proc = psutil.Process(conn.pid)
            parent = proc.parent()  # a worker shares the listening socket with the supervisor
            if parent is not None and "uvicorn" in " ".join(parent.cmdline()):
                proc = parent
            return [proc, *proc.children(recursive=True)]
    return []


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def measure(base: str, token: str, paths: list[str], name: str, connections: int, seconds: int) -> Row:
    procs = app_processes(base)
    before = cpu_seconds(procs)
    result = run_wrk(base, token, paths, name, connections, seconds)
    used = cpu_seconds(procs) - before
    requests = result.requests_per_s * seconds
    return Row(result, 1000 * used / requests if requests else math.nan, os.getloadavg()[0])


def write_docs(results: list[Row], notes: str) -> None:
    """Replace the generated part of the "## Catalogue" section; a hand-written "### Notes"
    subsection at its end is kept."""
    section = (
        "## Catalogue\n\n"
        "Catch-up listings (`GET /api/v1/tstv/catchup/{channel_id}` and `GET /api/v1/tstv/catchup?date=`), "
        "target p95 <= 50 ms at 32 concurrent clients.\n\n"
        f"Command: `{COMMAND}`\n\n{notes}\n\n{TABLE_HEADER}\n" + "\n".join(r.text() for r in results) + "\n"
    )
    text = DOCS.read_text() if DOCS.exists() else "# Performance\n"
    pattern = re.compile(r"^## Catalogue\n.*?(?=^## |\Z)", re.S | re.M)
    found = pattern.search(text)
    if found is None:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        old = found.group(0)
        kept = old[old.index("### Notes") :] if "### Notes" in old else ""
        text = text[: found.start()] + section + ("\n" + kept if kept else "\n") + text[found.end() :]
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text)
    print(f"wrote {DOCS}")


async def main(args: argparse.Namespace) -> None:
    root = Path(args.archive) if args.archive else Path(tempfile.mkdtemp(prefix="bench-catalogue-hls-"))
    print(f"archive in {root}")
    runs = build_archive(root)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results: list[Row] = []
    async with throwaway_database() as database_url:
        await seed(database_url)
        token = ""
        scenarios: list[tuple[str, list[str]]] = []
        for workers, label in ((args.workers, ""), (args.extra_workers, f" ({args.extra_workers} workers)")):
            if not workers or (label and workers == args.workers):
                continue
            env = {"BACKGROUND_JOBS": "false", "SEED_ON_STARTUP": "false", "WEB_CONCURRENCY": str(workers)}
            with served_app(database_url, root, **env) as base, growing(root, runs):
                if not scenarios:  # first server: bookmarks, paths, warm-up checks
                    token = login(base)
                    scenarios = await prepare(base, token, database_url)
                    await analyze(database_url)
                await warm(base, token, [p for _, paths in scenarios for p in paths], rounds=2 * workers)
                for name, paths in scenarios:
                    for connections in (1, 32) if not label else (32,):
                        row = measure(base, token, paths, name + label, connections, args.seconds)
                        print(row.text(), flush=True)
                        results.append(row)
    print(TABLE_HEADER)
    for row in results:
        print(row.text())
    if args.write_docs:
        loads = [r.load for r in results]
        notes = (
            f"Setup: 5 channels x 14 days of schedule, 7-day archive growing by a segment per channel "
            f"every 6 s, {BOOKMARKS:,} bookmarks on the "
            f"profile; {'one uvicorn process' if args.workers == 1 else f'{args.workers} uvicorn workers'} "
            "on PostgreSQL"
            + (f", plus {args.extra_workers}-worker rows for comparison" if args.extra_workers else "")
            + f"; wrk as the client, {args.seconds} s per row; app, database and client on the same "
            f"{os.cpu_count()}-core machine, shared with other work: load average (1 min) "
            f"{min(loads):.2f}-{max(loads):.2f} during the rows; measured {datetime.now(UTC):%Y-%m-%d}."
        )
        write_docs(results, notes)


async def warm(base: str, token: str, paths: list[str], rounds: int) -> None:
    """Every path a few times, so each worker has its statements prepared before wrk starts."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(rounds):
            for path in paths:
                (await client.get(path)).raise_for_status()


async def prepare(base: str, token: str, database_url: str) -> list[tuple[str, list[str]]]:
    """Bookmarks for the viewer's profile, and the request paths of both scenarios (checked)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        me = (await client.get("/api/v1/auth/me")).json()
        added = await add_bookmarks(database_url, uuid.UUID(me["profile_id"]))
        print(f"  {added} bookmarks on the viewer's profile")
        ids = [c["id"] for c in (await client.get("/api/v1/tstv/channels")).json()["channels"]]
        today = datetime.now(UTC).date()
        by_channel = [f"/api/v1/tstv/catchup/{cid}?limit=50&offset={o}" for cid in ids for o in (0, 50, 400)]
        by_date = [
            f"/api/v1/tstv/catchup?date={today - timedelta(days=d)}&limit=50{g}"
            for d in range(DAYS)
            for g in ("", "&genre=Drama")
        ]
        for path in by_channel + by_date:  # a check that every path answers
            (await client.get(path)).raise_for_status()
        sample = (await client.get(by_channel[0])).json()
        print(f"  channel listing: total {sample['total']}, page {len(sample['programs'])}")
    return [("catch-up by channel", by_channel), ("catch-up by date", by_date)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--archive", help="reuse (or create) the synthetic archive in this directory")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (headline)")
    parser.add_argument(
        "--extra-workers", type=int, default=0, help="also run the 32-client rows with this many workers"
    )
    parser.add_argument("--write-docs", action="store_true")
    asyncio.run(main(parser.parse_args()))
