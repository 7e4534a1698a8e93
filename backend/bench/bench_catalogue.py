"""Catalogue benchmark (issue 5): both catch-up listings served over HTTP by the real app on
PostgreSQL, with the seeded 5 channels x 14 days of schedule, a synthetic 7-day archive of every
channel (empty segment files in the real layout) and 1,000 bookmarks on the viewer's profile.

    cd backend && uv run python -m bench.bench_catalogue [--seconds 10] [--archive DIR] [--write-docs]

Prints p50/p95/p99 and throughput at 1 and 32 concurrent clients (wrk); with --write-docs the table
goes into docs/PERFORMANCE.md under "## Catalogue".
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import re
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.db import Database
from app.models import Bookmark, ScheduleEntry
from app.services.channel_catalogue import CHANNELS
from app.services.seed import seed_all
from bench.served_app import (
    DEMO_PASSWORD,
    TABLE_HEADER,
    LoadResult,
    login,
    run_wrk,
    served_app,
    throwaway_database,
)
from tests.archive_factory import write_run

DAYS = 7
SEGMENT = 6
BOOKMARKS = 1000
DOCS = Path(__file__).resolve().parents[2] / "docs" / "PERFORMANCE.md"
COMMAND = "cd backend && uv run python -m bench.bench_catalogue --write-docs"


def build_archive(root: Path) -> None:
    """One run per channel covering the last 7 days, both renditions."""
    end = math.floor(time.time() / SEGMENT) * SEGMENT
    start = end - DAYS * 86400
    for c in CHANNELS:
        if (root / c.key).exists():
            continue
        t = time.perf_counter()
        write_run(
            root,
            c.key,
            datetime.fromtimestamp(start, UTC),
            datetime.fromtimestamp(end, UTC),
            segment_duration=SEGMENT,
            loop_seconds=c.loop_seconds,
        )
        print(
            f"  archive {c.key}: {DAYS * 86400 // SEGMENT:,} segments x 2 in {time.perf_counter() - t:.1f} s"
        )


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


def write_docs(results: list[LoadResult], notes: str) -> None:
    section = (
        "## Catalogue\n\n"
        "Catch-up listings (`GET /api/v1/tstv/catchup/{channel_id}` and `GET /api/v1/tstv/catchup?date=`), "
        "target p95 <= 50 ms at 32 concurrent clients.\n\n"
        f"Command: `{COMMAND}`\n\n{notes}\n\n{TABLE_HEADER}\n" + "\n".join(r.row() for r in results) + "\n"
    )
    text = DOCS.read_text() if DOCS.exists() else "# Performance\n"
    pattern = re.compile(r"^## Catalogue\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text)
    print(f"wrote {DOCS}")


async def main(args: argparse.Namespace) -> None:
    root = Path(args.archive) if args.archive else Path(tempfile.mkdtemp(prefix="bench-catalogue-hls-"))
    print(f"archive in {root}")
    build_archive(root)
    async with throwaway_database() as database_url:
        await seed(database_url)
        env = {"BACKGROUND_JOBS": "false", "SEED_ON_STARTUP": "false", "WEB_CONCURRENCY": str(args.workers)}
        with served_app(database_url, root, **env) as base:
            token = login(base)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
                me = (await client.get("/api/v1/auth/me")).json()
                added = await add_bookmarks(database_url, uuid.UUID(me["profile_id"]))
                print(f"  {added} bookmarks on the viewer's profile")
                ids = [c["id"] for c in (await client.get("/api/v1/tstv/channels")).json()["channels"]]
                today = datetime.now(UTC).date()
                by_channel = [
                    f"/api/v1/tstv/catchup/{cid}?limit=50&offset={o}" for cid in ids for o in (0, 50, 400)
                ]
                by_date = [
                    f"/api/v1/tstv/catchup?date={today - timedelta(days=d)}&limit=50{g}"
                    for d in range(DAYS)
                    for g in ("", "&genre=Drama")
                ]
                for path in by_channel + by_date:  # warm-up, and a check that every path answers
                    (await client.get(path)).raise_for_status()
                sample = (await client.get(by_channel[0])).json()
                print(f"  channel listing: total {sample['total']}, page {len(sample['programs'])}")
            results = [
                run_wrk(base, token, paths, name, connections, args.seconds)
                for name, paths in (("catch-up by channel", by_channel), ("catch-up by date", by_date))
                for connections in (1, 32)
            ]
    print(TABLE_HEADER)
    for res in results:
        print(res.row())
    if args.write_docs:
        notes = (
            f"Setup: 5 channels x 14 days of schedule, 7-day archive, {BOOKMARKS:,} bookmarks on the "
            f"profile; uvicorn with {args.workers} worker process(es) on PostgreSQL, wrk as the client, "
            f"{args.seconds} s per row, "
            f"app, database and client on the same 2-core machine; measured {datetime.now(UTC):%Y-%m-%d}."
        )
        write_docs(results, notes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--archive", help="reuse (or create) the synthetic archive in this directory")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--write-docs", action="store_true")
    asyncio.run(main(parser.parse_args()))
