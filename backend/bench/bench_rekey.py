"""Re-keying cost: CPU per minute of archive and the latency it adds at the live edge
(docs/PERFORMANCE.md, "Re-keying"; the design: app/services/archive/cenc_rekey.py).

    cd backend && uv run --frozen python -m bench.bench_rekey [--seconds 60] [--workdir /tmp/tstv-bench-rekey]

Generates a source per rung of the default ladder (test picture at each rung's bitrate cap, 6-s
GOPs, AAC on the base rung), then runs one live encoder the way the supervisor does: FFmpeg with
`-re` over the playout lists (`run_plan.ffmpeg_args`, placeholder key) into a private staging
folder, and the real `RekeyWatcher` re-keying into the run folder. It prints:

- the watcher thread's CPU (psutil, by thread id) per minute of archive written;
- the pure re-keying CPU of the archive written (every segment re-keyed once more, timed);
- per segment, how long after FFmpeg listed it (its staged playlist's mtime) the archive's playlist
  listed it (that playlist's mtime): the latency re-keying adds to the live edge.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

BACKEND_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BACKEND_DIR))

from app.ladder import DEFAULT_LADDER, parse_ladder  # noqa: E402
from app.services.archive import archive_layout as layout  # noqa: E402
from app.services.archive.cenc_rekey import PLACEHOLDER_KEY, rekey_segment  # noqa: E402
from app.services.encoders import run_plan, staging  # noqa: E402
from app.services.encoders.rekey_watcher import RekeyWatcher  # noqa: E402

KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
KID = "0123456789abcdef0123456789abcdef"
SEG = 6
LOOP = 60


def ffmpeg() -> str:
    import imageio_ffmpeg

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def make_sources(workdir: Path) -> list[Path]:
    out = []
    for i, rung in enumerate(parse_ladder(DEFAULT_LADDER)):
        path = workdir / f"src_{rung.name}.mp4"
        out.append(path)
        if path.exists():
            continue
        rate = rung.bitrate
        args = [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y"]
        args += ["-f", "lavfi", "-i", f"testsrc2=size={rung.width}x{rung.height}:rate=25"]
        args += ["-f", "lavfi", "-i", "sine=f=440:r=48000"] if i == 0 else []
        args += ["-t", str(LOOP), "-c:v", "libx264", "-preset", "veryfast", "-b:v", str(rate)]
        args += ["-maxrate", str(rate), "-bufsize", str(2 * rate), "-g", "150", "-keyint_min", "150"]
        args += ["-sc_threshold", "0", "-pix_fmt", "yuv420p"]
        args += ["-c:a", "aac", "-b:a", "128k"] if i == 0 else []
        subprocess.run([*args, str(path)], check=True)
    return out


def listed(playlist: Path) -> list[str]:
    try:
        return [ln for ln in playlist.read_text().splitlines() if ln.endswith(".m4s")]
    except FileNotFoundError:
        return []


def live_run(workdir: Path, seconds: float) -> None:
    rungs = parse_ladder(DEFAULT_LADDER)
    sources = make_sources(workdir)
    rdir = workdir / "run"
    shutil.rmtree(rdir, ignore_errors=True)
    info = layout.RunInfo(
        run_id="r0000000000001",
        channel_key="bench",
        anchor=0.0,
        segment_duration=SEG,
        kid=KID,
        started_at=time.time(),
        loop_seconds=LOOP,
        loop_offset=0.0,
        rungs=layout.run_rungs([(r.name, r.width, r.height, r.bitrate) for r in rungs]),
    )
    for r in info.renditions:
        (rdir / r).mkdir(parents=True)
    playlists = run_plan.write_playouts(rdir, info, sources, LOOP, 0)
    out_dir = staging.make_staging(rdir, info.renditions)
    args = run_plan.ffmpeg_args(ffmpeg(), SEG, playlists, out_dir, KID, 0, info.video_renditions)
    proc = subprocess.Popen(args, env={**os.environ, "TZ": "UTC"}, stdin=subprocess.DEVNULL)
    watcher = RekeyWatcher(staging.StagedRun(rdir, info.renditions, KEY), lambda: proc.poll() is not None)
    watcher.start()
    staged_at: dict[str, float] = {}  # segment -> mtime of the staged playlist that first listed it
    archived_at: dict[str, float] = {}
    video = info.video_renditions[-1]  # the top rung: the largest segments, re-keyed last
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for folder, seen in ((out_dir / video, staged_at), (rdir / video, archived_at)):
            playlist = folder / layout.PLAYLIST_NAME
            with_mtime = [(n, playlist.stat().st_mtime) for n in listed(playlist) if n not in seen]
            seen.update(with_mtime)
        time.sleep(0.01)
    native = watcher._thread.native_id
    cpu = next((t.user_time + t.system_time for t in psutil.Process().threads() if t.id == native), 0.0)
    proc.terminate()
    proc.wait()
    watcher.done.wait(30)
    report(rdir, info, cpu, staged_at, archived_at)


def report(
    rdir: Path, info: layout.RunInfo, cpu: float, staged_at: dict[str, float], archived_at: dict[str, float]
) -> None:
    files = [p for r in info.renditions for p in (rdir / r).iterdir() if layout.parse_segment_name(p.name)]
    video = [p for p in files if p.parent.name == layout.BASE_VIDEO]
    names = [layout.parse_segment_name(p.name) for p in video]
    minutes = sum(n.duration for n in names if n is not None) / 60
    size = sum(p.stat().st_size for p in files)
    t0 = time.process_time()
    for p in files:
        rekey_segment(p.read_bytes(), KEY, PLACEHOLDER_KEY)
    pure = time.process_time() - t0
    print(
        f"archive written: {minutes:.2f} min, {size / 1e6:.1f} MB in {len(files)} segments"
        " (all rungs + audio)"
    )
    print(f"watcher thread CPU: {cpu:.3f} s = {cpu / minutes:.3f} s per minute of archive")
    print(f"re-keying alone: {pure:.3f} s = {pure / minutes:.3f} s per minute, {size / 1e6 / pure:.0f} MB/s")
    lags = sorted((archived_at[n] - staged_at[n]) * 1000 for n in staged_at if n in archived_at)
    if lags:
        print(
            f"live edge added (top rung, {len(lags)} segments): median {statistics.median(lags):.0f} ms, "
            f"max {lags[-1]:.0f} ms"
        )
    print(f"load average: {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/tstv-bench-rekey"))
    ns = parser.parse_args()
    ns.workdir.mkdir(parents=True, exist_ok=True)
    live_run(ns.workdir, ns.seconds)


if __name__ == "__main__":
    main()
