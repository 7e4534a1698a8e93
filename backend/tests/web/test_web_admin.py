"""The operator console in headless Chromium, as an operator uses it (docs/PRODUCT.md, J7): the built app
served by the backend, a real encoder, nginx and ClearKey.

One test channel runs with 20 s programmes, so programmes air (and play as catch-up) within the
test. The tests run in order on one signed-in operator page: stop and start the encoder, kill its
FFmpeg, read its log, find the gaps on the coverage timeline, change the rules and a programme's
rights (and see the viewer's next listing change), rotate the key and play a catch-up programme
across the rotation, clean up. A viewer opening the console is told it is for operators.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, expect

from tests.browser import ARTIFACTS, Viewer, chromium, new_viewer, screenshot, sign_in
from tests.stack import PASSWORD, Stack, started_stack, wait_until

LOOP_S = 20
ADMIN = "admin@tstv.local"
VIEWER = "viewer@tstv.local"
NONE = "\u2013"  # the en dash the console shows for "no value" (no pid, no uptime)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, shared_sources: Path) -> Iterator[Stack]:
    with started_stack(tmp_path_factory.mktemp("admin"), LOOP_S, shared_sources) as s:
        yield s


@pytest.fixture(scope="module")
def playwright(stack: Stack) -> Iterator[tuple[Playwright, Browser]]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: tuple[Playwright, Browser]) -> Browser:
    return playwright[1]


@pytest.fixture(scope="module")
def operator(browser: Browser, stack: Stack) -> Iterator[Viewer]:
    """One operator's browser for the whole module (the tests follow on from each other)."""
    v = new_viewer(browser, 1366, 900)
    sign_in(v.page, stack.api, ADMIN, PASSWORD)
    yield v
    token = v.token()
    v.context.close()
    assert token is None or not any(token in line for line in v.console), "the app logged a token"
    assert not [line for line in v.console if line.startswith("pageerror")], v.console


@pytest.fixture(scope="module")
def events() -> dict[str, float]:
    """What the tests did, and when, for the tests after them (the outage's start and end)."""
    return {}


# ---- what an operator looks at -----------------------------------------------------------------


def _name(stack: Stack) -> str:
    return f"E2E {stack.channel_key}"


def _open(page: Page, section: str) -> None:
    """Through the header and the console's own navigation, as a person does."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Operations").click()
    page.get_by_role("navigation", name="Operations").get_by_role("link", name=section).click()


def _card(page: Page, stack: Stack) -> Locator:
    return page.get_by_role("article", name=_name(stack), exact=True)


def _button(card: Locator, label: str, stack: Stack) -> Locator:
    return card.get_by_role("button", name=f"{label} {_name(stack)}", exact=True)


def _state(card: Locator) -> Locator:
    return card.get_by_test_id("encoder-state")


def _status(stack: Stack) -> dict[str, Any]:
    rows = stack.get("/api/v1/admin/simlive/status", stack.admin_token).json()["channels"]
    row: dict[str, Any] = next(r for r in rows if r["channel_key"] == stack.channel_key)
    return row


def _coverage(stack: Stack) -> dict[str, Any]:
    out: dict[str, Any] = stack.get(
        f"/api/v1/admin/archive/coverage/{stack.channel_key}", stack.admin_token
    ).json()
    return out


def _listing(stack: Stack) -> dict[str, Any]:
    """The viewer's next catch-up listing of the channel."""
    r = stack.get(f"/api/v1/tstv/catchup/{stack.channel_id}?limit=200")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _programme_at(stack: Stack, ts: float) -> dict[str, Any]:
    day = datetime.fromtimestamp(ts, UTC).date().isoformat()
    entries = stack.get(f"/api/v1/epg/schedule?channel_id={stack.channel_id}&date={day}").json()["entries"]
    for e in entries:
        if _at(e["start_time"]) <= ts < _at(e["end_time"]):
            found: dict[str, Any] = e
            return found
    raise AssertionError(f"no programme at {ts}")


def _centre(target: Locator) -> None:
    """Scroll what the screenshot is about to the middle of the window."""
    target.evaluate("(e) => e.scrollIntoView({block: 'center'})")


def _whole_page(page: Page, name: str) -> None:
    """A screenshot of the whole page (for docs/screenshots), next to the others."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")  # else the sticky header lands mid-page
    page.screenshot(path=str(path), full_page=True)


_VIDEO_JS = """() => {
  const v = document.querySelector('video');
  return {t: v ? v.currentTime : 0, ready: v ? v.readyState : 0, paused: v ? v.paused : true};
}"""


def _video(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate(_VIDEO_JS)
    return state


# ---- access ------------------------------------------------------------------------------------


def test_a_viewer_is_told_the_console_is_for_operators(browser: Browser, stack: Stack) -> None:
    r = stack.get("/api/v1/admin/simlive/status")
    assert (r.status_code, r.json()["detail"]) == (403, "admin_required")
    v = new_viewer(browser)
    sign_in(v.page, stack.api, VIEWER, PASSWORD, "/admin/streaming")
    expect(v.page).to_have_url(f"{stack.api}/admin/streaming")
    expect(v.page.get_by_role("heading", name="This page is for operators")).to_be_visible()
    expect(
        v.page.get_by_role("navigation", name="Main").get_by_role("link", name="Operations")
    ).to_have_count(0)
    expect(v.page.get_by_role("button", name=re.compile("^Stop "))).to_have_count(0)
    screenshot(v.page, "admin-operators-only")
    v.page.get_by_role("link", name="Go to Home").click()
    expect(v.page).to_have_url(f"{stack.api}/")
    v.context.close()


# ---- streaming ---------------------------------------------------------------------------------


def test_stop_then_start_an_encoder(operator: Viewer, stack: Stack, events: dict[str, float]) -> None:
    page = operator.page
    _open(page, "Streaming")
    expect(page).to_have_url(f"{stack.api}/admin/streaming")
    card = _card(page, stack)
    expect(_state(card)).to_have_text("Running")
    expect(card.get_by_test_id("encoder-pid")).to_have_text(re.compile(r"^\d+$"))

    # A double click sends one request: the row's buttons are disabled while it is on its way.
    stops: list[str] = []
    page.on(
        "request", lambda r: stops.append(r.url) if r.method == "POST" and r.url.endswith("/stop") else None
    )
    clicked = time.monotonic()
    _button(card, "Stop", stack).dblclick()
    expect(_state(card)).to_have_text("Stopped", timeout=5000)
    events["stopped"] = time.time()
    assert time.monotonic() - clicked < 5
    expect(card.get_by_role("status")).to_have_text("Stopped.")
    expect(card.get_by_test_id("encoder-pid")).to_have_text(NONE)
    assert len(stops) == 1, stops
    assert _status(stack)["state"] == "stopped"

    # Stay down long enough for a gap of a few segments, then start from the page.
    wait_until(lambda: time.time() - events["stopped"] > 8, 15, "an outage of 8 s", every=0.5)
    _button(card, "Start", stack).click()
    expect(_state(card)).to_have_text("Running", timeout=20_000)
    events["started"] = time.time()
    expect(card.get_by_test_id("encoder-restarts")).to_have_text("0")
    # Start again: the API's 409 in words, the encoder untouched.
    _button(card, "Start", stack).click()
    expect(card.get_by_role("status")).to_have_text("Already running.")
    expect(_state(card)).to_have_text("Running")
    wait_until(
        lambda: _status(stack)["segment_count"] > 0 and _status(stack)["uptime_seconds"], 30, "segments"
    )
    expect(card.get_by_test_id("encoder-uptime")).not_to_have_text(NONE)
    _whole_page(page, "admin-streaming")


def test_a_killed_encoder_comes_back_with_one_more_restart(
    operator: Viewer, stack: Stack, events: dict[str, float]
) -> None:
    page = operator.page
    card = _card(page, stack)
    expect(_state(card)).to_have_text("Running")
    # Kill an encoder that is recording (not one still in its pre-roll).
    wait_until(
        lambda: (
            (c := _coverage(stack))["recorded_until"] and _at(c["recorded_until"]) > events["started"] + 6
        ),
        30,
        "the new run to record",
    )
    events["killed"] = time.time()
    pid = int(card.get_by_test_id("encoder-pid").inner_text())
    restarts = int(card.get_by_test_id("encoder-restarts").inner_text())
    assert "ffmpeg" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").lower()
    os.kill(pid, signal.SIGKILL)
    expect(card.get_by_test_id("encoder-restarts")).to_have_text(str(restarts + 1), timeout=10_000)
    expect(_state(card)).to_have_text("Running", timeout=20_000)
    expect(card.get_by_test_id("encoder-pid")).not_to_have_text(str(pid))
    expect(card.get_by_test_id("encoder-pid")).to_have_text(re.compile(r"^\d+$"))
    expect(card.get_by_test_id("encoder-last-error")).to_contain_text("exited with code -9")
    _centre(card)
    screenshot(page, "admin-streaming-after-kill")


def test_the_encoder_log(operator: Viewer, stack: Stack) -> None:
    page = operator.page
    card = _card(page, stack)
    _button(card, "View log of", stack).click()
    dialog = page.get_by_role("dialog", name=f"Encoder log: {_name(stack)}")
    expect(dialog).to_be_visible()
    lines = dialog.get_by_label(f"Last lines of the encoder log of {_name(stack)}")
    # One line per run start: the first, the operator's start and the restart after the kill.
    expect(lines).to_contain_text(re.compile(r"--- \S+ run \S+ anchor"))
    assert len(re.findall(r"--- \S+ run ", lines.inner_text())) >= 3
    dialog.get_by_label("Lines", exact=True).select_option(label="Last 50")
    expect(dialog).to_contain_text(re.compile(r"\d+ lines?"))
    screenshot(page, "admin-log")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_clean_up_now_says_what_it_freed(operator: Viewer, stack: Stack) -> None:
    page = operator.page
    page.get_by_role("button", name="Clean up now").click()
    dialog = page.get_by_role("dialog", name="Clean up the archive now?")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Clean up").click()
    expect(dialog).to_be_hidden()
    # A fresh archive holds nothing past retention: the answer says so, with the channels checked.
    channels = len(stack.get("/api/v1/admin/simlive/status", stack.admin_token).json()["channels"])
    expect(page.get_by_role("status").filter(has_text="Nothing to free")).to_contain_text(
        f"({channels} channels checked)"
    )
    expect(_state(_card(page, stack))).to_have_text("Running")


# ---- archive coverage --------------------------------------------------------------------------


def test_the_outage_shows_on_the_coverage_timeline(
    operator: Viewer, stack: Stack, events: dict[str, float]
) -> None:
    def outages() -> list[dict[str, Any]] | None:
        """The gaps the stop and the kill left, once recording has resumed after both (until then
        the newest one runs to now)."""
        coverage = _coverage(stack)
        until = _at(coverage["recorded_until"]) if coverage["recorded_until"] else 0
        inner = [g for g in coverage["gaps"][1:] if _at(g["end"]) < until]  # the first is "before"
        return inner if len(inner) == 2 and until > events["killed"] + 6 else None

    found: list[dict[str, Any]] = wait_until(outages, 40, "the two outages in the coverage")  # type: ignore[assignment]
    gap, killed = found
    assert events["stopped"] - 10 <= _at(gap["start"]) <= events["stopped"] + 1, (gap, events)
    assert 6 <= gap["seconds"] <= events["started"] - events["stopped"] + 12, gap
    assert events["started"] < _at(killed["start"]) <= events["killed"] + 1, (killed, events)

    page = operator.page
    _open(page, "Archive & keys")
    card = page.get_by_role("article", name=_name(stack), exact=True)
    timeline = card.get_by_test_id("coverage-timeline")
    expect(timeline).to_have_attribute(
        "aria-label", re.compile(r"over its 168 hours \(7 days\) retention window")
    )
    bar = timeline.locator(f'[data-testid="coverage-gap"][data-start="{_iso_ms(gap["start"])}"]')
    # On the 7-day axis a gap of seconds is far below a pixel: it is drawn at the minimum width.
    expect(bar).to_have_attribute("data-kind", "outage")
    box = bar.bounding_box()
    assert box is not None and box["width"] >= 3, box
    # The last hour shows it (and the one the kill made) at their size, and the list in words.
    page.get_by_text("Last 15 min", exact=True).click()
    expect(timeline).to_have_attribute("aria-label", re.compile(r"over the last 15 minutes: .* 2 gaps"))
    expect(bar).to_be_visible()
    box = bar.bounding_box()
    assert box is not None and box["width"] >= gap["seconds"] / 900 * 1000, box  # to scale
    gaps = card.get_by_role("list", name=f"Gaps of {_name(stack)}")
    expect(gaps.get_by_role("listitem").filter(has_text="encoder down")).to_have_count(2)
    whole = int(gap["seconds"])
    expect(gaps).to_contain_text(re.compile(rf"\b({whole}|{whole + 1}) s\b"))
    expect(card.get_by_test_id("recorded-hours")).to_have_text(re.compile(r"^0\.\d+ h$"))
    available = card.get_by_test_id("catchup-available")
    expect(available).to_have_text(re.compile(r"^catch-up available: 0\.\d+ h$"))
    # The disk budget (ARCHIVE_DISK_FLOOR): free space, the floor and the forecast in words.
    disk = page.get_by_role("region", name="Disk", exact=True)
    expect(disk).to_contain_text(re.compile(r"free of .+ · floor "))
    expect(disk.get_by_test_id("disk-forecast")).to_have_text(
        re.compile(r"^(Full in [\d.]+ (days|hours|min) at|Measuring|Not filling up at) today's rate")
    )
    _centre(disk)
    screenshot(page, "admin-disk")
    _centre(card)
    screenshot(page, "admin-coverage")


def _iso_ms(iso: str) -> str:
    """The API's time as the page's data-start writes it (JavaScript's toISOString)."""
    at = datetime.fromisoformat(iso).astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


# ---- rules and rights --------------------------------------------------------------------------


def test_rules_refuse_what_the_api_refuses_and_reach_the_viewer(operator: Viewer, stack: Stack) -> None:
    wait_until(lambda: _listing(stack)["total"] >= 1, 3 * LOOP_S, "a programme on catch-up")
    page = operator.page
    _open(page, "TSTV rules")
    expect(page.get_by_text("Changes apply to the next viewer request")).to_be_visible()
    form = page.get_by_role("form", name=_name(stack), exact=True)
    window = form.get_by_label("Viewer window")
    retention = form.get_by_label("Retention (hours)")
    save = form.get_by_role("button", name="Save")
    expect(save).to_be_disabled()  # nothing changed yet

    # Only the allowed windows are offered; retention below the window is refused with the reason.
    options = window.locator("option").all_inner_texts()
    assert [int(o.split()[0]) for o in options] == [2, 6, 12, 24, 48, 72, 168], options
    window.select_option(label="24 hours (1 day)")
    retention.fill("12")
    expect(form).to_contain_text("Retention must be at least the viewer window (24 h)")
    expect(retention).to_have_attribute("aria-invalid", "true")
    expect(save).to_be_disabled()
    _centre(form)
    screenshot(page, "admin-rules-refused")
    retention.fill("48")
    expect(save).to_be_enabled()
    save.click()
    expect(form.get_by_role("status")).to_contain_text("Saved at")
    for p in _listing(stack)["programs"]:
        ends = datetime.fromisoformat(p["schedule_entry"]["end_time"])
        assert datetime.fromisoformat(p["expires_at"]) == ends + timedelta(hours=24), p
    rules = stack.get("/api/v1/admin/tstv/rules", stack.admin_token).json()["channels"]
    mine = next(c for c in rules if c["cdn_channel_key"] == stack.channel_key)
    assert (mine["cutv_window_hours"], mine["catchup_window_hours"]) == (24, 48)

    # The master switch off: the sub-switches cannot be changed, the viewer's listing empties.
    form.get_by_role("switch", name="TSTV").uncheck()
    expect(form.get_by_role("switch", name="Start-over")).to_be_disabled()
    expect(form.get_by_role("switch", name="Catch-up")).to_be_disabled()
    save.click()
    expect(form.get_by_role("status")).to_contain_text("Saved at")
    assert _listing(stack)["total"] == 0
    _whole_page(page, "admin-rules")
    form.get_by_role("switch", name="TSTV").check()
    expect(form.get_by_role("switch", name="Catch-up")).to_be_enabled()
    save.click()
    expect(form.get_by_role("status")).to_contain_text("Saved at")
    assert _listing(stack)["total"] >= 1


def test_a_programme_switched_off_leaves_the_viewers_listing(operator: Viewer, stack: Stack) -> None:
    listed = _listing(stack)["programs"]
    entry = listed[0]["schedule_entry"]  # the newest programme on catch-up
    page = operator.page
    _open(page, "Programme rights")
    zone = ZoneInfo(page.evaluate("() => Intl.DateTimeFormat().resolvedOptions().timeZone"))
    day = datetime.fromisoformat(entry["start_time"]).astimezone(zone).date().isoformat()
    page.get_by_label("Channel").select_option(label=_name(stack))
    page.get_by_label("Day").select_option(value=day)
    page.get_by_label("Search titles").fill(entry["title"])
    rows = page.get_by_role("list", name=f"Programmes of {_name(stack)}").get_by_role("listitem")
    expect(rows).to_have_count(1)
    catchup = page.get_by_role("switch", name=f"Catch-up: {entry['title']},")
    expect(catchup).to_be_checked()
    expect(rows.first).to_contain_text("On Catch-Up until")
    catchup.uncheck()
    expect(catchup).not_to_be_checked()
    expect(rows.first).to_contain_text("Not on Catch-Up: switched off for this programme")
    assert entry["id"] not in {p["schedule_entry"]["id"] for p in _listing(stack)["programs"]}
    r = stack.get(f"/api/v1/tstv/catchup/{stack.channel_id}/manifest?schedule_entry_id={entry['id']}")
    assert (r.status_code, r.json()["detail"]) == (403, "program_not_eligible")
    page.get_by_label("Search titles").fill("")
    expect(rows).not_to_have_count(1)
    page.get_by_label("Show").select_option(label="With a right switched off")
    expect(rows).to_have_count(1)
    page.get_by_label("Show").select_option(label="All programmes")
    page.get_by_role("button", name="Go to the programme on air").click()
    on_air = rows.filter(has_text="On air")
    expect(on_air).to_have_count(1)
    expect(on_air).to_be_in_viewport()
    # The switched-off programme among its neighbours (titles are numbered), for the screenshot.
    page.get_by_label("Search titles").fill(entry["title"][:-1])
    expect(rows.filter(has_text="switched off for this programme")).to_have_count(1)
    page.set_viewport_size({"width": 1366, "height": 1400})
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "admin-schedule")
    page.set_viewport_size({"width": 1366, "height": 900})


# ---- keys --------------------------------------------------------------------------------------


def test_rotate_key_and_play_a_catchup_across_the_rotation(
    operator: Viewer, browser: Browser, stack: Stack
) -> None:
    # Rotate a few seconds into a programme, so that programme is recorded under both keys.
    def early() -> dict[str, Any] | None:
        p = _programme_at(stack, time.time())
        return p if 3 <= time.time() - _at(p["start_time"]) <= 7 else None

    page = operator.page
    _open(page, "Archive & keys")
    card = page.get_by_role("article", name=_name(stack), exact=True)
    key_id = card.get_by_test_id("active-key-id")
    expect(key_id).to_have_text(re.compile(r"^[0-9a-f-]{36}$"))
    old = key_id.inner_text()
    programme: dict[str, Any] = wait_until(early, 2 * LOOP_S, "the start of a programme", every=0.2)  # type: ignore[assignment]
    _button(card, "Rotate key of", stack).click()
    dialog = page.get_by_role("dialog", name=f"Rotate the content key of {_name(stack)}?")
    dialog.get_by_role("button", name="Rotate key").click()
    expect(key_id).not_to_have_text(old, timeout=15_000)
    new = key_id.inner_text()
    expect(card.get_by_role("status").filter(has_text="is active")).to_contain_text(
        f"New key {new} is active. The encoder restarted on it."
    )
    expect(card.get_by_role("list", name=f"Rotated keys of {_name(stack)}")).to_contain_text(old)
    # The key value stays hidden until asked for, and hides again.
    expect(card.get_by_text(re.compile(r"^[0-9a-f]{32}$"))).to_have_count(0)
    card.get_by_role("button", name=f"Reveal the key value of {_name(stack)}").click()
    expect(card.get_by_text(re.compile(r"^[0-9a-f]{32}$"))).to_have_count(1)
    card.get_by_role("button", name=f"Hide the key value of {_name(stack)}").click()
    expect(card.get_by_text(re.compile(r"^[0-9a-f]{32}$"))).to_have_count(0)
    # The timeline marks where the key changed (once the new key's first frame is in the archive).
    page.get_by_text("Last 15 min", exact=True).click()
    expect(card.get_by_test_id("coverage-key-change")).not_to_have_count(0, timeout=30_000)
    _centre(card)
    screenshot(page, "admin-keys")

    change = next(k for k in _coverage(stack)["key_changes"] if k["key_id"] == new)
    start, end = _at(programme["start_time"]), _at(programme["end_time"])
    assert start < _at(change["at"]) < end, (change, programme)
    wait_until(lambda: time.time() > end + 8, end + 8 - time.time() + 15, "the programme to air", every=0.5)

    v = new_viewer(browser)
    sign_in(v.page, stack.api, VIEWER, PASSWORD, f"/watch/catchup/{stack.channel_id}/{programme['id']}")
    wait_until(lambda: (s := _video(v.page))["ready"] >= 2 and not s["paused"], 15, "first frame", every=0.05)
    crossed = _at(change["at"]) - start + 3
    wait_until(
        lambda: _video(v.page)["t"] >= crossed, crossed + 15, "playback past the key change", every=0.2
    )
    assert not [line for line in v.console if "pageerror" in line], v.console
    v.context.close()
