"""The pids of the encoders a backend runs, so the next one can end any a dead backend left behind.

`{HLS_SEGMENT_DIR}/.simlive/pids.json` (one file per worker in a cluster: `pids.{worker}.json`)
lists per channel the live encoder (`pid`, `run_id`) and any being replaced (`retiring`). At start-up
`kill_stale` ends every listed process that is not ours and whose command line is an FFmpeg writing
under this archive's channel directory (a recycled pid is left alone): TERM, then KILL after a grace.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Container
from pathlib import Path
from typing import Any

log = logging.getLogger("tstv.simlive")

TERM_GRACE = 5.0


def atomic_write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, sort_keys=True, indent=1))
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()  # never leave half a file (a full disk)
        raise


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def proc_cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None


def listed_pids(entry: Any) -> list[int]:
    """The pids of one channel's pidfile entry: the live encoder and any being replaced."""
    if not isinstance(entry, dict):
        return []
    listed = [entry.get("pid")]
    retiring = entry.get("retiring")
    if isinstance(retiring, list):
        listed += [r.get("pid") for r in retiring if isinstance(r, dict)]
    return [p for p in listed if isinstance(p, int) and not isinstance(p, bool)]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _end(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + TERM_GRACE
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def kill_stale(pidfile: Path, archive_root: Path, ours: Container[int]) -> list[int]:
    """End encoders listed in `pidfile` whose command line names this archive (not ours); the
    pidfile is emptied."""
    marker = str(archive_root)
    killed = []
    for key, entry in read_json(pidfile).items():
        for pid in listed_pids(entry):
            if pid in ours or pid <= 1:
                continue
            cmd = proc_cmdline(pid)
            if cmd is None or "ffmpeg" not in cmd or f"{marker}/{key}/" not in cmd:
                continue
            log.warning("simlive: ending stale encoder", extra={"channel": key, "pid": pid})
            _end(pid)
            killed.append(pid)
    atomic_write_json(pidfile, {})
    return killed
