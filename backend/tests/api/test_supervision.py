"""Supervised tasks (app/supervision.py): a task made to raise (`TASK_FAULTS`) is logged, counted on
/metrics, shown on /healthz as degraded while it waits out its backoff, and restarted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from tests.conftest import make_settings

TOKEN = "scrape-" + "s" * 32


async def poll(check: Callable[[], Awaitable[Any]], within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within} s waiting for {what} (last: {last!r})")


async def task_samples(client: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    r = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    return {
        (s.name, s.labels["task"]): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
        if s.name.startswith("tstv_task_")
    }


async def test_a_task_that_raises_is_restarted_counted_and_shown(database_url: str, tmp_path: Path) -> None:
    faults = "archive_poll=3"  # down for 1 + 2 + 4 s: seen however slow the start-up
    settings = make_settings(
        database_url, tmp_path / "hls", seed_on_startup=False, metrics_token=TOKEN, task_faults=faults
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:

            async def health() -> dict[str, Any]:
                r = await c.get("/healthz")
                assert r.status_code == 200, r.text
                body: dict[str, Any] = r.json()
                return body

            async def degraded() -> dict[str, Any] | None:
                body = await health()
                return body if body["status"] == "degraded" else None

            # Its first three runs raise: down for the backoffs after them.
            body = await poll(degraded, 5, "/healthz degraded")
            assert [d["task"] for d in body["tasks_down"]] == ["archive_poll"], body
            assert "InjectedFault" in body["tasks_down"][0]["error"]
            samples = await task_samples(c)
            assert samples[("tstv_task_down", "archive_poll")] == 1
            assert samples[("tstv_task_restarts_total", "archive_poll")] >= 1

            async def healthy() -> bool:
                return await health() == {"status": "ok"}

            await poll(healthy, 15, "/healthz ok once archive_poll runs again")
            samples = await task_samples(c)
            assert samples[("tstv_task_restarts_total", "archive_poll")] == 3
            assert ("tstv_task_down", "archive_poll") not in samples
