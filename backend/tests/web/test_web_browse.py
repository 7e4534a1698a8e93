"""Browsing the web app in headless Chromium (docs/PRODUCT.md, J3, J6): Home rails, the guide, the Catch-Up
page and notifications, against the built app served by the real backend with real encoders.

Two channels with 20 s programmes run, of two genres, so a whole programme airs and joins the
catalogue within the test; the programmes that aired before their encoders started are backfilled
(written at once, as an encoder would have), for the tests that need one that has aired. axe-core
(from the app's npm packages) checks every page.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from app.config import Settings
from app.db import make_engine
from app.services.archive.archive_index import ArchiveIndex
from app.services.viewing.notification_service import run_expiry_notifications
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
    video_loads,
)
from tests.stack import (
    PASSWORD,
    Stack,
    add_short_loop_channel,
    on_air_with_past,
    running_stack,
    wait_until,
)

LOOP_S = 20
VIEWER = "viewer@tstv.local"


@dataclass(frozen=True)
class Channel:
    id: uuid.UUID
    key: str
    title: str  # programmes are "{title} {n}"


@dataclass(frozen=True)
class Programme:
    id: str
    title: str
    start: float
    end: float


_channels: dict[str, tuple[Channel, Channel]] = {}
_backfilled: dict[str, tuple[float, float]] = {}  # what the first backfill wrote on both channels


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, shared_sources: Path) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("browse"), LOOP_S, sources_cache=shared_sources) as s:
        quiz_key = "quiz" + uuid.uuid4().hex[:4]
        quiz_id = asyncio.run(
            add_short_loop_channel(
                s.db_url, quiz_key, LOOP_S, datetime.now(UTC), genre="Quiz", title="Quiz night"
            )
        )
        news = Channel(s.channel_id, s.channel_key, "Short programme")
        quiz = Channel(quiz_id, quiz_key, "Quiz night")
        since = time.time() - 6 * LOOP_S
        past = on_air_with_past(s, since, news.key, quiz.key)
        _channels[s.api] = (news, quiz)
        _backfilled[s.api] = (since, min(r.written[-1][1].timestamp() for r in past))
        yield s


@pytest.fixture(scope="module")
def news(stack: Stack) -> Channel:
    return _channels[stack.api][0]


@pytest.fixture(scope="module")
def quiz(stack: Stack) -> Channel:
    return _channels[stack.api][1]


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


# ---- helpers -----------------------------------------------------------------------------------


def _programme_at(stack: Stack, ch: Channel, ts: float) -> Programme:
    day = datetime.fromtimestamp(ts, UTC).date().isoformat()
    entries = stack.get(f"/api/v1/epg/schedule?channel_id={ch.id}&date={day}").json()["entries"]
    for e in entries:
        start = datetime.fromisoformat(e["start_time"]).timestamp()
        end = datetime.fromisoformat(e["end_time"]).timestamp()
        if start <= ts < end:
            return Programme(e["id"], e["title"], start, end)
    raise AssertionError(f"no programme at {ts}")


def _just_ended(stack: Stack, ch: Channel) -> Programme:
    """Wait for a programme recorded from its start to end; returns it the moment it has."""
    first = stack.first_recorded(ch.id)
    p = _programme_at(stack, ch, max(first + 0.5, time.time()))
    if p.start < first - 0.5:
        p = _programme_at(stack, ch, p.end)
    wait_until(lambda: time.time() >= p.end, p.end - time.time() + 5, "the programme's end", every=0.1)
    return p


def _aired(stack: Stack, ch: Channel, back: int) -> Programme:
    """A backfilled programme, whole in one run: the newest (`back` 0), the one before it (1), ..."""
    since, until = _backfilled[stack.api]
    day = datetime.fromtimestamp(until, UTC).date().isoformat()
    entries = stack.get(f"/api/v1/epg/schedule?channel_id={ch.id}&date={day}").json()["entries"]
    whole = [
        Programme(e["id"], e["title"], start, end)
        for e in entries
        if since <= (start := datetime.fromisoformat(e["start_time"]).timestamp())
        and (end := datetime.fromisoformat(e["end_time"]).timestamp()) <= until
    ]
    assert len(whole) > back, whole
    return sorted(whole, key=lambda p: p.start)[-1 - back]


def _in_thread(coro: Any) -> Any:
    """Run a coroutine to completion off the main thread (Playwright's loop owns this one)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _expiry_job(stack: Stack, hls: Path) -> int:
    """The hourly expiry-notification job, run now against the stack's database and archive."""
    engine = make_engine(Settings(database_url=stack.db_url))
    index = ArchiveIndex(hls)
    index.rescan()
    try:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        return await run_expiry_notifications(async_sessionmaker(engine), datetime.now(UTC), index)
    finally:
        await engine.dispose()


# ---- tests ---------------------------------------------------------------------------------------


def test_catchup_lists_a_programme_as_it_ends_and_a_genre_narrows_the_list(
    viewer: Viewer, stack: Stack, news: Channel, quiz: Channel
) -> None:
    p = _just_ended(stack, news)
    page = viewer.page
    page.get_by_role("link", name="Catch-Up", exact=True).click()
    page.get_by_role("tab", name="By date").click()
    expect(page.get_by_role("heading", name=p.title, exact=True)).to_be_visible()
    quiz_now = _programme_at(stack, quiz, p.start)
    expect(page.get_by_role("heading", name=quiz_now.title, exact=True)).to_be_visible()
    page.get_by_label("Genre").select_option("Quiz")
    expect(page).to_have_url(re.compile(r"genre=Quiz"))
    expect(page.get_by_role("heading", name=quiz_now.title, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=p.title, exact=True)).to_have_count(0)
    screenshot(page, "catchup-by-date")
    check_accessibility(page, "catch-up by date")
    # A shared link shows the same; a bad filter falls back with a note.
    page.reload()
    expect(page.get_by_label("Genre")).to_have_value("Quiz")
    page.goto(f"{stack.api}/catchup?view=date&genre=Opera&date=2099-01-01")
    expect(page.get_by_role("status").filter(has_text="showing the nearest day")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="showing every genre")).to_be_visible()
    expect(page.get_by_role("heading", name=p.title, exact=True)).to_be_visible()

    page.get_by_role("tab", name="By channel").click()
    page.get_by_label("Channel").select_option(str(news.id))
    expect(page.get_by_role("heading", name=p.title, exact=True)).to_be_visible()
    screenshot(page, "catchup-by-channel")
    check_accessibility(page, "catch-up by channel")


def test_a_programme_watched_a_little_is_on_home_with_its_progress_on_another_device_too(
    viewer: Viewer, browser: Browser, stack: Stack, news: Channel
) -> None:
    p = _aired(stack, news, 0)
    page = viewer.page
    page.goto(f"{stack.api}/catchup?view=channel&channel={news.id}")
    page.get_by_role("link", name=f"Play {p.title}", exact=True).click()
    first_frame(page)
    expect(page.get_by_test_id("mode-badge")).to_have_text("CATCH-UP")
    wait_until(lambda: (playback(page)["position"] or 0) >= 8, 20, "8 s of the programme")
    page.get_by_role("link", name="Home", exact=True).click()  # leaving the player saves

    def saved() -> float:
        r = stack.get(f"/api/v1/viewing/bookmarks/tstv_catchup/{p.id}")
        return float(r.json()["position_seconds"]) if r.status_code == 200 else 0.0

    wait_until(lambda: saved() >= 7, 15, "the position saved on leaving the player")
    rail = page.get_by_role("region", name="Continue Watching")
    card = rail.get_by_role("link", name=f"Resume {p.title}", exact=True)
    # Home refetches the rail once the save on leaving has answered; under the suite's load that
    # answer and the refetch (beside the page's stills) have taken over 5 s.
    expect(card).to_be_visible(timeout=15_000)
    progress = card.locator("[role=progressbar]")
    expect(progress).to_have_attribute(
        "aria-valuenow", re.compile(r"^[3-7]\d$"), timeout=10_000
    )  # 8-12 s of 20
    expect(rail).to_contain_text(re.compile(r"\d+ s left|Less than a minute left|min left"))
    expect(rail).to_contain_text(re.compile(r"Expires in \d"))
    screenshot(page, "home")
    check_accessibility(page, "home")

    # The same account signed in on another device: the rail comes from the server, not this
    # browser. (A sign-in hashes the password at the lowest priority, slow while the suite's other
    # modules load the machine: how fast is for the benchmarks, not this test.)
    other = new_viewer(browser)
    sign_in(other.page, stack.api, VIEWER, PASSWORD)
    other_rail = other.page.get_by_role("region", name="Continue Watching")
    expect(other_rail.get_by_role("link", name=f"Resume {p.title}", exact=True)).to_be_visible(timeout=20_000)
    other.context.close()


def test_an_operator_switch_off_shows_locked_in_the_guide_and_the_day_list(
    viewer: Viewer, stack: Stack, news: Channel
) -> None:
    p = _aired(stack, news, 1)
    r = httpx.put(
        f"{stack.api}/api/v1/admin/schedule/{p.id}/rights",
        json={"catchup_eligible": False},
        headers=stack.headers(stack.admin_token),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    page = viewer.page
    page.get_by_role("link", name="Guide", exact=True).click()
    cell = page.get_by_role("gridcell", name=re.compile(rf"^{re.escape(p.title)}\b"))
    expect(cell).to_have_accessible_name(re.compile("Not available on Catch-Up"))
    expect(page.get_by_text("Now", exact=True)).to_be_visible()  # the now line
    screenshot(page, "guide")
    check_accessibility(page, "guide")
    # Arrow keys move along a channel.
    cell.focus()
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("() => document.activeElement.textContent")
    assert focused and not focused.startswith(p.title), focused
    page.get_by_role("link", name="Catch-Up", exact=True).click()
    page.get_by_role("tab", name="By date").click()
    locked = page.get_by_role("region", name="Not available on Catch-Up")
    expect(locked.get_by_role("heading", name=p.title, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=f"Play {p.title}", exact=True)).to_have_count(0)


def test_a_notifications_watch_now_resumes_at_the_saved_position(
    viewer: Viewer, stack: Stack, news: Channel
) -> None:
    p = _aired(stack, news, 2)
    page = viewer.page
    page.goto(f"{stack.api}/watch/catchup/{news.id}/{p.id}")
    first_frame(page)
    wait_until(lambda: (playback(page)["position"] or 0) >= 6, 20, "6 s of the programme")
    page.keyboard.press("Space")  # pause: saves
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    saved = float(playback(page)["position"])
    # The channel's window shrinks to 2 h: the programme now expires within 24 h; the job runs.
    r = httpx.put(
        f"{stack.api}/api/v1/admin/tstv/rules/{news.id}",
        json={"cutv_window_hours": 2},
        headers=stack.headers(stack.admin_token),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert _in_thread(_expiry_job(stack, stack.hls_dir)) >= 1
    page.get_by_role("link", name="Home", exact=True).click()
    bell = page.get_by_role("button", name=re.compile(r"Notifications, \d+ unread"))
    expect(bell).to_be_visible(timeout=45_000)  # polled: no reload
    bell.click()
    panel = page.get_by_role("region", name="Notifications")
    item = panel.get_by_role("listitem").filter(has_text=p.title)
    expect(item).to_contain_text(re.compile(r"expires in \d+ (h|min)"))
    screenshot(page, "notifications")
    check_accessibility(page, "notifications")
    item.get_by_role("link", name="Watch now").click()
    clicked = time.monotonic()
    expect(page).to_have_url(f"{stack.api}/watch/catchup/{news.id}/{p.id}")
    toast = page.get_by_role("status").filter(has_text="Resuming from")
    expect(toast).to_be_visible()
    first_frame(page)
    plays_on(page, 0.5)
    # Resumed where it was paused: no earlier, and no later than what has played since the click.
    position = float(playback(page)["position"])
    assert saved - 3 < position < saved + 3 + (time.monotonic() - clicked), (position, saved)
    check_accessibility(page, "player")


def test_a_shared_second_opens_there_and_catchup_goes_on_to_the_next_programme(
    viewer: Viewer, stack: Stack, quiz: Channel
) -> None:
    # Two backfilled programmes back to back; the first opened by a shared link 9 s in (of 20).
    p, following = _aired(stack, quiz, 1), _aired(stack, quiz, 0)
    assert following.start == p.end
    page = viewer.page
    viewer.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.api)
    page.goto(f"{stack.api}/watch/catchup/{quiz.id}/{p.id}?t=9")
    expect(page.get_by_role("status").filter(has_text="Starting at 0:09")).to_be_visible()
    first_frame(page)
    assert 8 <= float(playback(page)["position"]) <= 12, playback(page)
    loads = video_loads(page)

    # The last 10 s: the next programme is offered with a countdown, and plays at 0 by itself.
    card = page.get_by_role("region", name="Up next")
    expect(card).to_be_visible(timeout=10_000)
    timer = card.get_by_role("timer")
    line = re.compile(rf"^Up next: {re.escape(following.title)} in (\d+) s$")
    expect(timer).to_have_text(line)
    expect(card.get_by_role("button", name="Play now")).to_be_visible()
    expect(card.get_by_role("button", name="Cancel")).to_be_visible()
    screenshot(page, "up-next")
    check_accessibility(page, "up next")

    def counted() -> int:
        m = line.fullmatch(timer.inner_text())
        assert m, timer.inner_text()
        return int(m.group(1))

    before = counted()
    page.wait_for_timeout(1200)
    assert counted() < before, "the countdown goes down"
    expect(page.get_by_role("heading", level=1)).to_contain_text(following.title, timeout=20_000)
    expect(page).to_have_url(f"{stack.api}/watch/catchup/{quiz.id}/{following.id}")
    first_frame(page, after_loads=loads)
    # (Its playlist may begin with the segment before the programme's first second.)
    wait_until(lambda: (playback(page)["position"] or 0) >= 1, 15, "a second of the next programme")

    # Share copies a link to this second of the new programme.
    at = float(playback(page)["position"])
    page.get_by_role("button", name="Share", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Link copied. Starting at 0:")).to_be_visible()
    link = page.evaluate("() => navigator.clipboard.readText()")
    shared = re.fullmatch(rf"{re.escape(stack.api)}/watch/catchup/{quiz.id}/{following.id}\?t=(\d+)", link)
    assert shared and at - 1 <= int(shared.group(1)) <= at + 2, (link, at)
    screenshot(page, "share")


def test_sign_in_and_not_found_pages_are_accessible(browser: Browser, stack: Stack) -> None:
    v = new_viewer(browser)
    v.page.goto(stack.api + "/signin")
    check_accessibility(v.page, "sign-in")
    sign_in(v.page, stack.api, VIEWER, PASSWORD, "/no/such/page")
    expect(v.page.get_by_role("link", name="Go to Home")).to_be_visible()
    check_accessibility(v.page, "not found")
    v.context.close()
