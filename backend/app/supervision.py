"""Supervision of every long-running task of a process (docs/ARCHITECTURE.md, "Supervision").

`TaskSupervisor.spawn(name, run)` runs `run()` in a task and, when it raises anything but a
cancellation, logs the exception with its traceback, counts it (`tstv_task_restarts_total{task}` on
`/metrics`), marks the task down (`/healthz` answers `degraded` naming it) and runs `run()` again
after a backoff: 1 s, doubling to 60 s, back to 1 s once a run lasted a healthy minute. A task
whose `run()` returns is finished (a stop was asked, or its work is done). Tasks that serve one
request's build (thumbnails, stills) are one-shot: `watch` logs and counts what they raise, and
their own back-off decides when the next request tries again.

Faults for tests: `TASK_FAULTS` (`name=count,...`, e.g. `archive_poll=2`) makes the task of that
name raise `InjectedFault` instead of running, its first `count` times; `inject(name, count)` does
the same from a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("tstv.supervision")

BACKOFF_START = 1.0
BACKOFF_MAX = 60.0
HEALTHY_AFTER = 60.0  # a run that lasted this long resets the backoff


class InjectedFault(RuntimeError):
    """Raised in place of a task's run by `TASK_FAULTS` or `inject` (tests)."""


@dataclass(frozen=True)
class Down:
    """A task waiting out its backoff after a failure."""

    task: str
    since: float  # epoch seconds
    error: str
    restart_in: float  # seconds, from `since`


def parse_faults(spec: str) -> dict[str, int]:
    """`name=count,...` (a bare name: once) as {name: count}; malformed parts are an error."""
    faults: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, count = part.partition("=")
        if not name.strip() or (count and not count.strip().isdigit()):
            raise ValueError(f"TASK_FAULTS: expected name=count, got {part!r}")
        faults[name.strip()] = int(count) if count else 1
    return faults


class TaskSupervisor:
    """The supervised tasks of one process (one per app: tests run several apps in a process)."""

    def __init__(self, faults: Mapping[str, int] | None = None) -> None:
        self.restarts: dict[str, int] = {}  # unexpected exceptions per task name
        self.down: dict[str, Down] = {}
        self._faults = dict(faults or {})

    # ---- running ------------------------------------------------------------------------------

    def spawn(
        self, name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event | None = None
    ) -> asyncio.Task[None]:
        """Run `run()` supervised in a new task; a set `stop` ends a backoff (no restart then)."""
        return asyncio.create_task(self.supervise(name, run, stop), name=name)

    async def supervise(
        self, name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event | None = None
    ) -> None:
        backoff = BACKOFF_START
        try:
            while True:
                started = time.monotonic()
                try:
                    self._maybe_fault(name)
                    await run()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if time.monotonic() - started >= HEALTHY_AFTER:
                        backoff = BACKOFF_START
                    self._failed(name, exc, backoff)
                if await _stopped_within(stop, backoff):
                    return
                backoff = min(backoff * 2, BACKOFF_MAX)
                self.down.pop(name, None)
        finally:
            self.down.pop(name, None)

    def watch(
        self, task: asyncio.Task[Any], name: str, expected: tuple[type[BaseException], ...] = ()
    ) -> None:
        """A one-shot task: what it raises (other than a cancellation or an `expected` failure its
        caller handles) is logged and counted."""

        def done(t: asyncio.Task[Any]) -> None:
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None and not isinstance(exc, expected):
                self.restarts[name] = self.restarts.get(name, 0) + 1
                log.error("task failed", exc_info=exc, extra={"task": name})

        task.add_done_callback(done)

    def _failed(self, name: str, exc: Exception, backoff: float) -> None:
        self.restarts[name] = self.restarts.get(name, 0) + 1
        error = f"{type(exc).__name__}: {exc}"[:300]
        self.down[name] = Down(name, time.time(), error, backoff)
        log.error(
            "task failed, restarting",
            exc_info=exc,
            extra={"task": name, "restart_in": backoff, "restarts": self.restarts[name]},
        )

    # ---- faults (tests) -----------------------------------------------------------------------

    def inject(self, name: str, count: int = 1) -> None:
        """The next `count` runs of the task `name` raise `InjectedFault`."""
        self._faults[name] = self._faults.get(name, 0) + count

    def _maybe_fault(self, name: str) -> None:
        left = self._faults.get(name, 0)
        if left > 0:
            self._faults[name] = left - 1
            raise InjectedFault(f"fault injected into {name}")

    # ---- state --------------------------------------------------------------------------------

    def tasks_down(self) -> list[Down]:
        return sorted(self.down.values(), key=lambda d: d.task)


async def _stopped_within(stop: asyncio.Event | None, seconds: float) -> bool:
    if stop is None:
        await asyncio.sleep(seconds)
        return False
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


class TaskCollector(Collector):
    """The supervised tasks for Prometheus, read at scrape time."""

    def __init__(self, tasks: TaskSupervisor) -> None:
        self._tasks = tasks

    def collect(self) -> Iterable[Metric]:
        restarts = CounterMetricFamily(
            "tstv_task_restarts",
            "Unexpected exceptions of a supervised task, each followed by a restart after a backoff",
            labels=["task"],
        )
        for name, n in sorted(self._tasks.restarts.items()):
            restarts.add_metric([name], n)
        down = GaugeMetricFamily(
            "tstv_task_down",
            "1 while a supervised task waits out its backoff after a failure",
            labels=["task"],
        )
        for d in self._tasks.tasks_down():
            down.add_metric([d.task], 1)
        return [restarts, down]
