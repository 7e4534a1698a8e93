"""The supervision of tasks (app/supervision.py) and the ownership rule that keeps encoders through a
database outage (app/services/encoders/ownership.py), without processes."""

from __future__ import annotations

import asyncio
import socket
import time

import asyncpg
import pytest

from app.services.encoders import ownership
from app.services.encoders.ownership import LEASE, TAKEOVER_AFTER, keeps_encoders, may_take_over, server_down
from app.supervision import TaskSupervisor, parse_faults


async def test_a_failing_task_is_restarted_until_it_succeeds_and_a_stop_ends_its_backoff() -> None:
    tasks = TaskSupervisor({"flaky": 1})
    runs: list[float] = []

    async def run() -> None:
        runs.append(time.monotonic())

    t0 = time.monotonic()
    await asyncio.wait_for(tasks.spawn("flaky", run), 5)
    assert len(runs) == 1 and runs[0] - t0 >= 0.9  # after the 1 s backoff
    assert tasks.restarts == {"flaky": 1} and not tasks.down

    stop = asyncio.Event()

    failed = asyncio.Event()

    async def fails() -> None:
        failed.set()
        raise RuntimeError("boom")

    task = tasks.spawn("broken", fails, stop=stop)
    await asyncio.wait_for(failed.wait(), 1)
    await asyncio.sleep(0)  # the supervisor records the failure and enters its backoff
    assert "broken" in tasks.down
    stop.set()
    await asyncio.wait_for(task, 1)  # no restart once stopped, and no wait for the backoff
    assert tasks.restarts["broken"] == 1 and not tasks.down


def test_task_faults_setting() -> None:
    assert parse_faults("archive_poll=2, job:retention") == {"archive_poll": 2, "job:retention": 1}
    assert parse_faults("") == {}
    with pytest.raises(ValueError):
        parse_faults("archive_poll=two")


def test_a_lease_ends_well_before_anyone_may_take_over() -> None:
    # The watchdog polls every WATCHDOG_EVERY; a second of margin for a busy event loop.
    assert TAKEOVER_AFTER >= LEASE + ownership.WATCHDOG_EVERY + 1.0
    assert keeps_encoders(now=10.0, evidence_at=10.0 - LEASE + 0.1)
    assert not keeps_encoders(now=10.0, evidence_at=10.0 - LEASE)


def test_takeover_waits_for_the_publication_and_after_a_restart_for_a_session_as_old() -> None:
    assert not may_take_over(TAKEOVER_AFTER - 0.1, restarted_since=False, session_age=100)
    assert may_take_over(TAKEOVER_AFTER, restarted_since=False, session_age=0)  # a dead worker
    # PostgreSQL restarted since: the old owner's refusals renewed its lease until the restart.
    assert not may_take_over(60, restarted_since=True, session_age=TAKEOVER_AFTER - 0.1)
    assert may_take_over(60, restarted_since=True, session_age=TAKEOVER_AFTER)


async def test_only_a_server_that_is_down_renews_a_lease() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        with pytest.raises(OSError) as refused:
            await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", timeout=2)
    assert server_down(refused.value)
    assert server_down(asyncpg.CannotConnectNowError("the database system is starting up"))
    assert server_down(asyncpg.CannotConnectNowError("the database system is not yet accepting connections"))
    # A smart shutdown keeps the sessions it has: another worker may still be connected.
    assert not server_down(asyncpg.CannotConnectNowError("the database system is shutting down"))
    assert not server_down(TimeoutError())  # a network fault: the server may be up for others
    assert not server_down(asyncpg.AdminShutdownError("terminating connection due to administrator command"))
