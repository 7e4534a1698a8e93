"""What the soak watches besides its requests: the server processes' memory (VmRSS) and CPU, the
machine's CPU and load, and the client's own CPU and event-loop lag (a saturated client measures
itself, not the server)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (its own threads, not its children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (FFmpeg under a worker, nginx's workers under its master)."""
    by_parent: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            by_parent.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        kids = by_parent.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def pids_matching(*needles: str) -> list[int]:
    """Processes whose command line holds every needle (the single stack's uvicorn, nginx)."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if all(n in cmd for n in needles):
                found.append(int(d.name))
    return found


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return total - idle, total


@dataclass
class Sampler:
    """Snapshots of the server processes (label -> pid), the machine and this client."""

    procs: dict[str, int]
    client_pids: list[int] = field(default_factory=list)  # client processes besides this one
    samples: list[dict[str, Any]] = field(default_factory=list)
    loop_lag_max: float = 0.0  # seconds, since the last sample
    _last: dict[str, Any] = field(default_factory=dict)

    def sample(self) -> dict[str, Any]:
        now = time.monotonic()
        busy, total = machine_ticks()
        client = time.process_time() + sum(cpu_seconds(p) or 0.0 for p in self.client_pids)
        cpu = {k: cpu_seconds(p) for k, p in self.procs.items()}
        last = self._last
        wall = now - last["t"] if last else 0.0
        row: dict[str, Any] = {"at": round(time.time(), 1), "load1": round(os.getloadavg()[0], 2)}
        if last and wall > 0:
            row["machine_cpu"] = round((busy - last["busy"]) / max(1, total - last["total"]), 3)
            row["client_cpu"] = round(max(0.0, client - last["client"]) / wall, 3)  # all client processes
            row["client_loop_lag_max_ms"] = round(1000 * self.loop_lag_max, 1)
        procs: dict[str, Any] = {}
        for label, pid in self.procs.items():
            kids = children(pid)
            entry: dict[str, Any] = {"pid": pid, "rss_mb": _round(rss_mb(pid))}
            if kids:
                entry["children"] = len(kids)
                entry["children_rss_mb"] = round(sum(rss_mb(k) or 0.0 for k in kids), 1)
            was, used = last.get("cpu", {}).get(label), cpu[label]
            if was is not None and used is not None and wall > 0:
                entry["cpu"] = round((used - was) / wall, 3)  # of one core
            procs[label] = entry
        row["procs"] = procs
        self._last = {"t": now, "busy": busy, "total": total, "client": client, "cpu": cpu}
        self.loop_lag_max = 0.0
        self.samples.append(row)
        return row

    async def watch_loop(self, stop: asyncio.Event, every: float = 0.1) -> None:
        """How late this client's event loop wakes: a late timer is a late request."""
        while not stop.is_set():
            t0 = time.monotonic()
            await asyncio.sleep(every)
            self.loop_lag_max = max(self.loop_lag_max, time.monotonic() - t0 - every)


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)
