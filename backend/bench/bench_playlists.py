"""Playlist benchmark (issue 4): a synthetic 7-day archive of five channels (100,800 segments per
rendition each, empty files in the real layout), the served app over HTTP, wrk as the client.

    cd backend && uv run python -m bench.bench_playlists [--seconds 10] [--archive DIR]

Prints the index build time and memory, then p50/p95/p99 and throughput of catch-up master,
catch-up media and start-over media playlists at 1 and 32 concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import secrets
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from app.services.archive_index import ArchiveIndex
from app.services.channel_catalogue import CHANNELS
from bench.served_app import (
    TABLE_HEADER,
    LoadResult,
    analyze,
    login,
    run_wrk,
    served_app,
    throwaway_database,
)
from tests.archive_factory import write_run

DAYS = 7
SEGMENT = 6


def build_archive(root: Path) -> None:
    """Seven days up to now for each channel; a reused archive is topped up to now with a new run
    (so a programme is on air for start-over), as if the encoder had been restarted."""
    end = math.floor(time.time() / SEGMENT) * SEGMENT
    index = ArchiveIndex(root)
    index.rescan()
    for c in CHANNELS:
        start = index.latest_end(c.key) or end - DAYS * 86400
        if end - start < SEGMENT:
            continue
        t = time.perf_counter()
        write_run(
            root,
            c.key,
            datetime.fromtimestamp(start, UTC),
            datetime.fromtimestamp(end, UTC),
            kid=secrets.token_hex(16),
            loop_seconds=c.loop_seconds,
        )
        took = time.perf_counter() - t
        print(f"  wrote {c.key}: {int(end - start) // SEGMENT:,} segments x 2 renditions in {took:.1f} s")


def measure_index(root: Path) -> tuple[float, float, int]:
    """(build seconds, retained MiB, video segments indexed)."""
    index = ArchiveIndex(root)
    t = time.perf_counter()
    index.rescan()
    build = time.perf_counter() - t
    segments = sum(index.segment_count(c.key) for c in CHANNELS)
    del index
    tracemalloc.start()
    index = ArchiveIndex(root)
    index.rescan()
    retained, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return build, retained / 2**20, segments


def pick_paths(base: str, token: str) -> dict[str, list[str]]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        channels = c.get("/api/v1/epg/channels").json()["channels"]
        catchup: list[tuple[str, str]] = []
        today = datetime.now(UTC).date()
        for ch in channels:
            for back in range(1, DAYS):
                day = (today - timedelta(days=back)).isoformat()
                entries = c.get("/api/v1/epg/schedule", params={"channel_id": ch["id"], "date": day}).json()[
                    "entries"
                ]
                catchup += [
                    (ch["id"], e["id"]) for e in entries if e["catchup"] and e["catchup"]["available"]
                ]
        random.Random(7).shuffle(catchup)
        masters = [f"/api/v1/tstv/catchup/{ch}/manifest?schedule_entry_id={e}" for ch, e in catchup[:50]]
        media: list[str] = []
        for url in masters:
            body = c.get(url)
            body.raise_for_status()
            prefix = url.split("?")[0].rsplit("/", 1)[0] + "/"
            media += [prefix + line for line in body.text.splitlines() if line.startswith("manifest/")]
            media += [
                prefix + line.split('URI="')[1].rstrip('"')
                for line in body.text.splitlines()
                if 'URI="' in line
            ]
        startover: list[str] = []
        for ch in channels:
            if not (ch["now"] and ch["now"]["startover_eligible"]):
                continue
            url = f"/api/v1/tstv/startover/{ch['id']}/manifest?schedule_entry_id={ch['now']['id']}"
            body = c.get(url)
            if body.status_code != 200:
                continue
            prefix = url.split("?")[0].rsplit("/", 1)[0] + "/"
            startover += [prefix + line for line in body.text.splitlines() if line.startswith("manifest/")]
    return {"catch-up master": masters, "catch-up media": media, "start-over media": startover}


async def main(seconds: int, archive_dir: Path | None) -> None:
    root = archive_dir or Path(tempfile.mkdtemp(prefix="tstv-bench-archive-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"archive: {root}")
    build_archive(root)
    build_s, mib, segments = measure_index(root)
    print(f"index build: {build_s:.2f} s for {segments:,} video segments (x2), retained {mib:.1f} MiB")
    results: list[LoadResult] = []
    async with throwaway_database() as db:
        with served_app(db, root) as base:
            token = login(base)
            await analyze(db)
            scenarios = pick_paths(base, token)
            for name, paths in scenarios.items():
                print(f"  {name}: {len(paths)} distinct URLs")
                if not paths:
                    raise SystemExit(f"no URLs for {name}: is the archive current?")
                for conns in (1, 32):
                    run_wrk(base, token, paths, name, conns, 2)  # warm-up
                    results.append(run_wrk(base, token, paths, name, conns, seconds))
                    print("  " + results[-1].row())
    print()
    print(f"load average while measuring: {os.getloadavg()[0]:.2f} (2 cores)")
    print(f"Index build: {build_s:.2f} s; index memory: {mib:.1f} MiB ({segments:,} video segments x 2)")
    print()
    print(TABLE_HEADER)
    for r in results:
        print(r.row())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--archive", type=Path, default=None, help="reuse (or create) the synthetic archive here"
    )
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.archive))
