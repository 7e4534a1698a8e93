"""SimLive cost: CPU and RSS of each encoder with all five channels on air (target ≤ 2 % of a core and
≤ 64 MB each: docs/PRODUCT.md, 'Targets').

    cd backend && uv run python bench/bench_simlive.py [--seconds 60] [--workdir ../var/bench] [--cold]

Uses an SQLite database and an archive under --workdir (sources are generated once per ladder rung
and cached there; `--cold` empties that cache first and reports how long each rung took), starts
the five seeded channels through the real EncoderSupervisor, waits until every channel is on air and
then until every channel's encoder carries the whole ladder (upper rungs still being prepared join
by a handover), then samples each FFmpeg child with psutil for --seconds and prints a table with the
archive each channel writes per day (all rungs and audio). The backend process's own CPU is shown
as well, and the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import psutil
from alembic import command
from alembic.config import Config

BACKEND_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BACKEND_DIR))

from app.config import REPO_DIR, Settings  # noqa: E402
from app.db import Database  # noqa: E402
from app.services.catalogue.seed import seed_all  # noqa: E402
from app.services.encoders.supervisor import EncoderSupervisor  # noqa: E402


def migrate(url: str) -> None:
    cfg = Config(str(BACKEND_DIR / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["skip_logging_config"] = True
    command.upgrade(cfg, "head")


def _full_ladder(manager: EncoderSupervisor) -> bool:
    """Every channel's live encoder carries every rung, none is still being replaced, and its run
    has written a segment."""
    want = len(manager.settings.ladder)
    for rt in manager.channels.values():
        run = rt.run
        if run is None or rt.retiring or len(run.video_rungs) != want or rt.proc is None:
            return False
        if rt.counters.seen.get((run.run_id, "video"), -1) < 0:
            return False
    return True


async def run(seconds: float, workdir: Path, cold: bool) -> int:
    hls = workdir / "hls"
    shutil.rmtree(hls, ignore_errors=True)  # a fresh archive; the source cache next to it is kept
    if cold:
        shutil.rmtree(workdir / "sources-cache", ignore_errors=True)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    db_path = workdir / "bench.db"
    db_path.unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{db_path}"
    settings = Settings(
        database_url=url,
        hls_segment_dir=hls,
        hls_sources_dir=workdir / "sources",
        simlive_autostart=True,
        background_jobs=False,
    )
    await asyncio.to_thread(migrate, settings.database_url)
    db = Database(settings)
    async with db.sessionmaker() as session:
        await seed_all(session, settings)
    manager = EncoderSupervisor(settings, db.sessionmaker)
    await manager.startup()
    keys = manager.start_wanted()
    print(f"started {', '.join(keys)}; preparing sources / waiting for the first segments ...", flush=True)
    t0 = time.monotonic()
    try:
        while True:
            rows = manager.status()
            if all(r.running and r.segment_count >= 2 for r in rows):
                break
            if time.monotonic() - t0 > 300:
                print("channels did not come up:", rows, file=sys.stderr)
                return 1
            await asyncio.sleep(1)
        ladder = manager.settings.ladder
        print(f"all {len(rows)} on air after {time.monotonic() - t0:.0f} s (ladder: {settings.abr_ladder})")
        while not _full_ladder(manager):
            if time.monotonic() - t0 > 1200:
                print("the upper rungs did not join:", manager.status(), file=sys.stderr)
                return 1
            await asyncio.sleep(1)
        print(f"every channel on all {len(ladder)} rungs after {time.monotonic() - t0:.0f} s", flush=True)
        if manager.sources.build_seconds:
            print("source preparation (seconds per rung file, 2 at a time):")
            for name, took in sorted(manager.sources.build_seconds.items()):
                print(f"  {name:<50} {took:6.1f}")
        print(f"measuring {seconds:.0f} s", flush=True)
        rows = manager.status()
        procs = {r.channel_key: psutil.Process(r.pid) for r in rows}
        disk0 = {r.channel_key: r.disk_bytes for r in rows}
        me = psutil.Process()
        start_cpu = {k: sum(p.cpu_times()[:2]) for k, p in procs.items()}
        me_cpu0 = sum(me.cpu_times()[:2])
        rss: dict[str, list[int]] = {k: [] for k in procs}
        w0 = time.monotonic()
        while time.monotonic() - w0 < seconds:
            for k, p in procs.items():
                rss[k].append(p.memory_info().rss)
            await asyncio.sleep(2)
        wall = time.monotonic() - w0
        disk1 = {r.channel_key: r.disk_bytes for r in manager.status()}
        print()
        print(
            f"{'channel':<8} {'pid':>8} {'CPU % of a core':>16} {'RSS mean MB':>12} {'RSS max MB':>11}"
            f" {'GB per day':>11}"
        )
        worst_cpu = worst_rss = 0.0
        for k, p in procs.items():
            cpu = (sum(p.cpu_times()[:2]) - start_cpu[k]) / wall * 100
            mean_mb = statistics.mean(rss[k]) / 2**20
            max_mb = max(rss[k]) / 2**20
            worst_cpu, worst_rss = max(worst_cpu, cpu), max(worst_rss, max_mb)
            per_day = (disk1[k] - disk0[k]) / wall * 86400 / 1e9
            print(f"{k:<8} {p.pid:>8} {cpu:>16.2f} {mean_mb:>12.1f} {max_mb:>11.1f} {per_day:>11.2f}")
        me_cpu = (sum(me.cpu_times()[:2]) - me_cpu0) / wall * 100
        print(f"{'backend':<8} {me.pid:>8} {me_cpu:>16.2f} {me.memory_info().rss / 2**20:>12.1f}")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        ok = worst_cpu <= 2.0 and worst_rss <= 64
        print(f"\nworst encoder: {worst_cpu:.2f} % CPU, {worst_rss:.1f} MB RSS -> {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 2
    finally:
        await manager.shutdown()
        await db.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workdir", type=Path, default=REPO_DIR / "var" / "bench")
    ap.add_argument("--cold", action="store_true", help="empty the source cache first (a fresh machine)")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(run(args.seconds, args.workdir.resolve(), args.cold))


if __name__ == "__main__":
    raise SystemExit(main())
