"""Cloud recordings in the web app (docs/PRODUCT.md, 'Beyond the journeys'), in headless Chromium against the
built app, the real backend and real encoders: record the programme on air from the guide, see it on the
Recordings page as it records and once recorded, play it in the catch-up player, delete it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser import (
    Viewer,
    check_accessibility,
    chromium,
    first_frame,
    new_viewer,
    playback,
    plays_on,
    screenshot,
    sign_in,
)
from tests.stack import PASSWORD, Stack, on_air_with_past, running_stack, wait_until

LOOP_S = 20
VIEWER = "viewer@tstv.local"


@dataclass(frozen=True)
class Programme:
    id: str
    title: str
    start: float
    end: float


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, shared_sources: Path) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("recordings"), LOOP_S, sources_cache=shared_sources) as s:
        on_air_with_past(s, time.time() - 2 * LOOP_S, s.channel_key)
        yield s


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    with chromium() as (_, b):
        yield b


@pytest.fixture
def viewer(browser: Browser, stack: Stack) -> Iterator[Viewer]:
    v = new_viewer(browser)
    sign_in(v.page, stack.api, VIEWER, PASSWORD)
    yield v
    v.context.close()


def _on_air_from_its_start(stack: Stack) -> Programme:
    """The programme on air, once one is on air that the archive holds from its start."""
    first = stack.first_recorded(stack.channel_id)

    def on_air() -> Programme | None:
        now = time.time()
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        entries = stack.get(f"/api/v1/epg/schedule?channel_id={stack.channel_id}&date={day}").json()[
            "entries"
        ]
        for e in entries:
            start = datetime.fromisoformat(e["start_time"]).timestamp()
            end = datetime.fromisoformat(e["end_time"]).timestamp()
            # Far enough from its end that the guide is opened and Record clicked while it is on air.
            if start <= now < end - 12 and start >= first - 0.5:
                return Programme(e["id"], e["title"], start, end)
        return None

    found: Programme = wait_until(on_air, 3 * LOOP_S, "a programme on air from its start", every=0.2)  # type: ignore[assignment]
    return found


def test_record_on_air_from_the_guide_then_play_and_delete_it(viewer: Viewer, stack: Stack) -> None:
    p = _on_air_from_its_start(stack)
    page = viewer.page
    page.get_by_role("link", name="Guide", exact=True).click()
    # 20 s programmes are a few pixels wide in the guide: opened from the keyboard, as a TV remote would.
    cell = page.get_by_role("gridcell", name=re.compile(rf"^{re.escape(p.title)}\b"))
    cell.focus()
    page.keyboard.press("Enter")
    detail = page.get_by_role("dialog")
    expect(detail.get_by_role("heading", name=p.title)).to_be_visible()
    detail.get_by_role("button", name=f"Record {p.title}", exact=True).click()
    expect(
        detail.get_by_role("link", name=re.compile(rf"^{re.escape(p.title)}: Recording now"))
    ).to_be_visible()
    screenshot(page, "record-from-guide")
    detail.get_by_role("button", name="Close").click()

    page.get_by_role("link", name="Recordings", exact=True).click()
    item = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=p.title, exact=True))
    expect(item).to_contain_text("Recording now")
    expect(page.get_by_role("meter", name="Recording space")).to_have_attribute(
        "aria-valuetext", re.compile(r"^0(\.\d)? h of 20 h used$")
    )

    # While it airs it plays already, from its start (a growing playlist, as start-over's), in the
    # time the test waits for its end anyway: once the archive holds its first segment.
    wait_until(lambda: time.time() >= p.start + 8, max(1.0, p.start + 10 - time.time()), "a first segment")
    page.reload()
    item.get_by_role("link", name=f"Play {p.title}", exact=True).click()
    first_frame(page)
    expect(page.get_by_test_id("mode-badge")).to_have_text("CATCH-UP")
    begun = float(playback(page)["position"] or 0)
    assert begun < 4, playback(page)
    screenshot(page, "recording-in-progress")
    page.get_by_role("link", name="Recordings", exact=True).click()

    # Once it has aired and the archive holds it all, it is Recorded and plays.
    def recorded() -> bool:
        page.reload()
        expect(item).to_be_visible()
        return "Recorded" in (item.text_content() or "")

    wait_until(recorded, p.end - time.time() + 30, "the recording complete", every=1.0)
    expect(item).to_contain_text(re.compile(r"\d+ s recorded"))
    expect(item).to_contain_text("Expires in 89 days")
    screenshot(page, "recordings")
    check_accessibility(page, "recordings")

    item.get_by_role("link", name=f"Play {p.title}", exact=True).click()
    expect(page).to_have_url(
        re.compile(rf"/watch/catchup/{stack.channel_id}/{p.id}\?recording=[0-9a-f-]{{36}}$")
    )
    first_frame(page)
    expect(page.get_by_test_id("mode-badge")).to_have_text("CATCH-UP")
    plays_on(page, 2)
    screenshot(page, "recording-play")

    page.get_by_role("link", name="Recordings", exact=True).click()
    item.get_by_role("button", name=f"Delete {p.title}", exact=True).click()
    confirm = item.get_by_role("group", name=f"Delete {p.title}?")
    expect(confirm).to_contain_text("Delete this recording?")
    confirm.get_by_role("button", name="Delete recording").click()
    expect(item).to_have_count(0)
    expect(page.get_by_text(re.compile("Nothing recorded yet"))).to_be_visible()
    r = stack.get("/api/v1/recordings")
    assert r.status_code == 200 and r.json()["total"] == 0, r.text


def test_record_a_series_from_the_guide_and_stop_it(viewer: Viewer, stack: Stack) -> None:
    channels = stack.get("/api/v1/epg/channels").json()["channels"]
    one = next(c for c in channels if c["number"] == 101)
    now = time.time()
    day = datetime.fromtimestamp(now, UTC).date().isoformat()
    entries = stack.get(f"/api/v1/epg/schedule?channel_id={one['id']}&date={day}").json()["entries"]
    episode = next(
        e
        for e in entries
        if e.get("series_id") and datetime.fromisoformat(e["start_time"]).timestamp() > now + 120
    )
    at = datetime.fromisoformat(episode["start_time"]).strftime("%H:%M")  # the browser runs in UTC

    page = viewer.page
    page.get_by_role("link", name="Guide", exact=True).click()
    cell = page.get_by_role("gridcell", name=re.compile(rf"^{re.escape(episode['title'])}\s*{at}\b"))
    cell.first.focus()
    page.keyboard.press("Enter")
    detail = page.get_by_role("dialog")
    expect(detail.get_by_role("heading", name=episode["title"])).to_be_visible()
    series_name = episode.get("series_title") or episode["title"]
    detail.get_by_role("button", name=f"Record series {series_name}", exact=True).click()
    expect(detail.get_by_role("link", name=re.compile("^Recording the series"))).to_have_text(
        "Series recording on"
    )
    # This episode is one of them.
    expect(
        detail.get_by_role("link", name=re.compile(rf"^{re.escape(episode['title'])}: Scheduled"))
    ).to_be_visible()
    detail.get_by_role("button", name="Close").click()

    page.get_by_role("link", name="Recordings", exact=True).click()
    series = page.get_by_role("region", name="Series being recorded")
    expect(series).to_contain_text(series_name)
    expect(series).to_contain_text(re.compile(r"\d+ episodes?"))
    item = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=episode["title"], exact=True)
    )
    expect(item.first).to_contain_text("Scheduled")
    expect(page.get_by_role("meter", name="Recording space")).not_to_have_attribute(
        "aria-valuetext", "0 h of 20 h used"
    )
    screenshot(page, "recordings-series")
    series.get_by_role("button", name=f"Stop recording series {series_name}").click()
    expect(series).to_have_count(0)
    listed = stack.get("/api/v1/recordings/series").json()["series"]
    assert listed == [], listed
