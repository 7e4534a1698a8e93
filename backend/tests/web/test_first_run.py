"""A first `make run` on an empty archive (`python -m app.launcher`, TSTV_ROLE=all, the seeded
channels and default ladder, no prepared sources), shared by the module's two tests:

- while sources are still being prepared (at nice 19), a viewer tuning to the first channel on air
  gets the Start Over prompt within 2 s and Jump to Live reaches the edge within 1 s;
- within three minutes of `/healthz`, Catch-Up lists the programmes of the last two hours on every
  channel and they play, because the first run backfills `BACKFILL_HOURS` of each channel as soon
  as it is on air (app/services/encoders/backfill_jobs.py).

Costly (it prepares every channel's source from nothing, as a new user's machine does): it prints
its timeline and the CPU it cost.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest
from playwright.sync_api import expect

from tests.browser import chromium, first_frame, new_viewer, screenshot, sign_in, video_loads
from tests.conftest import API, BACKEND_DIR, create_database, drop_database
from tests.stack import PASSWORD, child_process, free_port, wait_until

HOURS = 2
WITHIN = 180.0
PROMPT_AFTER_S = 5  # the Start Over prompt's wait after a programme begins, short for the test


def _aired(
    api: str, headers: dict[str, str], channel_id: str, since: datetime, now: datetime
) -> list[dict[str, Any]]:
    """The channel's programmes that started at `since` or later and ended by `now`, minus those
    catch-up never offers (not eligible)."""
    out: list[dict[str, Any]] = []
    for day in sorted({since.date(), now.date()}):
        r = httpx.get(
            f"{api}{API}/epg/schedule",
            params={"channel_id": channel_id, "date": day.isoformat()},
            headers=headers,
            timeout=30,
        )
        r.raise_for_status()
        for e in r.json()["entries"]:
            start, end = datetime.fromisoformat(e["start_time"]), datetime.fromisoformat(e["end_time"])
            reason = (e.get("catchup") or {}).get("reason")
            if (
                start >= since
                and end <= now
                and reason not in ("program_not_eligible", "catch_up_window_expired")
            ):
                out.append(e)
    return out


@dataclass
class FirstStart:
    api: str
    tmp: Path
    launched: datetime
    started: float  # monotonic, at launch
    healthy: float  # monotonic, when /healthz first answered
    headers: dict[str, str]
    channels: list[dict[str, Any]]
    cpu0: Any = None
    notes: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def first_start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstStart]:
    tmp = tmp_path_factory.mktemp("first-run")
    db_name = f"tstv_first_{secrets.token_hex(4)}"
    db_url = asyncio.run(create_database(db_name))
    port, cdn_port = free_port(), free_port()
    api = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "HLS_SEGMENT_DIR": str(tmp / "hls"),
        "HLS_SOURCES_DIR": str(tmp / "sources"),
        "PORT": str(port),
        "CDN_PORT": str(cdn_port),
        "HOST": "127.0.0.1",
        "CORS_ORIGINS": api,
        "TSTV_DEMO_PASSWORD": PASSWORD,
        "JWT_SECRET": "first-run-" + secrets.token_hex(24),
        "BACKFILL_HOURS": str(HOURS),
        "STARTOVER_PROMPT_AFTER_SECONDS": str(PROMPT_AFTER_S),
    }
    for name in ("TSTV_ROLE", "ABR_LADDER", "CDN_BASE_URL"):
        env.pop(name, None)
    cpu0 = os.times()
    started = time.monotonic()
    launched = datetime.now(UTC)
    try:
        with child_process(
            [sys.executable, "-m", "app.launcher"], tmp / "launcher.log", cwd=BACKEND_DIR, env=env
        ):
            wait_until(lambda: httpx.get(f"{api}/healthz", timeout=2).status_code == 200, 120, "/healthz")
            healthy = time.monotonic()
            token = httpx.post(
                f"{api}{API}/auth/login",
                json={"email": "viewer@tstv.local", "password": PASSWORD},
                timeout=30,
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            channels = [
                c
                for c in httpx.get(f"{api}{API}/epg/channels", headers=headers, timeout=30).json()["channels"]
                if c.get("tstv_enabled") and c.get("catchup_enabled")
            ]
            assert len(channels) >= 5, channels
            fs = FirstStart(api, tmp, launched, started, healthy, headers, channels, cpu0)
            yield fs
            for n in fs.notes:
                print(n)
    finally:
        asyncio.run(drop_database(db_name))
    cpu1 = os.times()
    cpu = cpu1.children_user + cpu1.children_system - cpu0.children_user - cpu0.children_system
    wall = time.monotonic() - started
    print(
        f"first start: {wall:.0f} s in all, {cpu:.0f} CPU-seconds of its processes ({cpu / wall:.2f} cores)"
    )


def _on_air_with_its_past(fs: FirstStart) -> dict[str, Any] | None:
    """A channel on air whose live window already holds its first-run backfill (the window reaches
    20 minutes back). A viewer who tunes in before the backfill lands sees the window grow in front
    of what the player was shown, which Shaka does not follow (docs/PERFORMANCE.md, First start);
    that case is a gap in the archive's timeline, not the load measured here."""
    for c in fs.channels:
        master_url = f"{fs.api}{API}/tstv/live/{c['id']}/manifest"
        r = httpx.get(master_url, headers=fs.headers, timeout=10)
        if r.status_code != 200 or "EXT-X-STREAM-INF" not in r.text:
            continue
        media = m3u8.loads(r.text, uri=master_url).playlists[0].absolute_uri
        segments = m3u8.loads(httpx.get(media, headers=fs.headers, timeout=10).text).segments
        if segments and segments[0].current_program_date_time < datetime.now(UTC) - timedelta(minutes=20):
            return c
    return None


def _promptable(fs: FirstStart) -> dict[str, Any] | None:
    """A channel on air with its past whose programme offers start-over, began more than the
    prompt's wait ago and has 45 s left for the test. The seed leaves one programme slot in 11
    without start-over rights on every channel at once (services/catalogue/schedule_service.py):
    such a programme is granted them (not measured)."""
    channel = _on_air_with_its_past(fs)
    if channel is None:
        return None
    info = httpx.get(f"{fs.api}{API}/tstv/startover/{channel['id']}", headers=fs.headers, timeout=10).json()
    entry = info["schedule_entry"]
    if datetime.fromisoformat(entry["end_time"]) - datetime.now(UTC) < timedelta(seconds=45):
        return None  # ending before the test could finish: the next programme
    if info["elapsed_seconds"] < PROMPT_AFTER_S + 5:
        return None  # just begun: the prompt waits PROMPT_AFTER_S (twice CI tuned at a programme's start)
    if not info["startover_available"]:
        admin = httpx.post(
            f"{fs.api}{API}/auth/login", json={"email": "admin@tstv.local", "password": PASSWORD}, timeout=30
        ).json()["access_token"]
        r = httpx.put(
            f"{fs.api}{API}/admin/schedule/{entry['id']}/rights",
            json={"startover_eligible": True},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=10,
        )
        r.raise_for_status()
        return None
    return channel


def _preparing(fs: FirstStart) -> list[str]:
    """Sources being encoded right now (their temporary files)."""
    return [p.name for p in (fs.tmp / "sources-cache").glob(".*.tmp.mp4")]


def test_while_sources_are_prepared_start_over_prompts_within_2_s_and_jump_to_live_takes_1_s(
    first_start: FirstStart,
) -> None:
    fs = first_start
    with chromium() as (_, browser):
        viewer = new_viewer(browser)
        page = viewer.page
        # Signed in first: under the first start's load a sign-in takes a while, and the programme
        # chosen must still be in the middle when the viewer tunes.
        sign_in(page, fs.api, "viewer@tstv.local", PASSWORD)
        channel = wait_until(lambda: _promptable(fs), 300, "a channel on air with its past and start-over")
        assert isinstance(channel, dict)
        on_air = time.monotonic() - fs.healthy
        busy = _preparing(fs)
        assert busy, "source preparation had already finished: nothing measured under load"
        tuned = time.monotonic()
        page.get_by_role("link", name=channel["name"]).first.click()
        prompt = page.get_by_role("dialog")
        expect(prompt).to_be_visible(timeout=2000)
        prompt_s = time.monotonic() - tuned
        first_frame(page, within=30)
        loads = video_loads(page)
        prompt.get_by_role("button", name="Start from Beginning").click()
        first_frame(page, within=30, after_loads=loads)
        expect(page.get_by_role("button", name="Jump to Live")).to_be_visible()
        loads = video_loads(page)
        clicked = time.monotonic()
        page.get_by_role("button", name="Jump to Live").click()
        first_frame(page, within=10, after_loads=loads)
        expect(page.get_by_role("slider", name="Seek")).to_have_attribute("aria-valuetext", "Live")
        jump_s = time.monotonic() - clicked
        still_busy = _preparing(fs)
        screenshot(page, "first-run-live")
        viewer.context.close()
    load = Path("/proc/loadavg").read_text().split()[0]
    fs.notes.append(
        f"first start: {channel['name']} on air {on_air:.0f} s after /healthz; prompt in {prompt_s:.2f} s, "
        f"Jump to Live at the edge in {jump_s:.2f} s while preparing {busy} -> {still_busy} (load {load})"
    )
    assert prompt_s < 2, prompt_s
    assert jump_s <= 1.0, jump_s


def test_a_first_run_offers_catch_up_of_the_last_two_hours_within_three_minutes(
    first_start: FirstStart,
) -> None:
    fs = first_start
    api, headers, channels = fs.api, fs.headers, fs.channels
    since = fs.launched - timedelta(hours=HOURS)
    ready_at: dict[str, float] = {}

    def all_listed() -> bool:
        now = datetime.now(UTC)
        for c in channels:
            if c["name"] in ready_at:
                continue
            wanted = {e["id"] for e in _aired(api, headers, c["id"], since, now)}
            r = httpx.get(
                f"{api}{API}/tstv/catchup/{c['id']}", params={"limit": 100}, headers=headers, timeout=30
            )
            listed = (
                {p["schedule_entry"]["id"] for p in r.json()["programs"]} if r.status_code == 200 else set()
            )
            if wanted and wanted <= listed:
                ready_at[c["name"]] = round(time.monotonic() - fs.healthy)
        return len(ready_at) == len(channels)

    try:
        wait_until(
            all_listed,
            # Waits past the target so a slow start is measured (and reported) rather than cut off.
            max(10.0, 3 * WITHIN - (time.monotonic() - fs.healthy)),
            "catch-up everywhere",
            every=2.0,
        )
    finally:
        log = (fs.tmp / "launcher.log").read_text(errors="replace")
        events = [
            ln
            for ln in log.splitlines()
            if any(m in ln for m in ('"backfill: done"', '"encoder: started"', '"source: ready"'))
        ]
        fs.notes += [ln[:240] for ln in events]
        fs.notes.append(f"catch-up of the last {HOURS} h listed, seconds after /healthz: {ready_at}")
    done = time.monotonic() - fs.healthy
    # They play: the oldest listed programme of each channel, every second of it recorded.
    for c in channels:
        oldest = _aired(api, headers, c["id"], since, datetime.now(UTC))[0]
        path = f"{api}{API}/tstv/catchup/{c['id']}/manifest?schedule_entry_id={oldest['id']}"
        master = m3u8.loads(httpx.get(path, headers=headers, timeout=30).text, uri=path)
        assert master.playlists, (c["name"], master.dumps())
        uri = master.playlists[0].absolute_uri
        video = m3u8.loads(httpx.get(uri, headers=headers, timeout=30).text, uri=uri)
        first = video.segments[0].current_program_date_time
        length = sum(s.duration for s in video.segments)
        expected = datetime.fromisoformat(oldest["end_time"]) - datetime.fromisoformat(oldest["start_time"])
        assert first == datetime.fromisoformat(oldest["start_time"]), (c["name"], first, oldest)
        assert abs(length - expected.total_seconds()) < 0.5, (c["name"], length)
        seg = httpx.get(video.segments[0].absolute_uri, timeout=30)
        assert seg.status_code == 200 and len(seg.content) > 1000
    fs.notes.append(
        f"first start: catch-up of the last {HOURS} h on every channel {done:.0f} s after /healthz"
    )
    assert done <= WITHIN, f"catch-up of the last two hours took {done:.0f} s after /healthz"
