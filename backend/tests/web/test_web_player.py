"""The web app's player in headless Chromium, as a viewer uses it (docs/PRODUCT.md, J1-J4): the built app
served by the backend, real encoders, nginx and ClearKey.

Two test channels run: LONG (90 s programmes) for tuning, the Start Over prompt, start-over, Jump to
Live and the live-edge switch; SHORT (20 s programmes) whose whole programmes play as catch-up. What
aired on both before their encoders started is backfilled, so the programme on air is recorded from
its start and catch-up has programmes at once. The prompt threshold is lowered to 5 s
(STARTOVER_PROMPT_AFTER_SECONDS) so no test waits minutes for a programme to be "more than 3 minutes"
old.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import m3u8
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.browser import (
    Viewer,
    chromium,
    first_frame,
    launch,
    new_viewer,
    playback,
    plays_on,
    screenshot,
    sign_in,
    video_loads,
)
from tests.stack import PASSWORD, Stack, add_short_loop_channel, on_air_with_past, running_stack, wait_until

LONG_S = 90
SHORT_S = 20
PROMPT_AFTER_S = 5
VIEWER = "viewer@tstv.local"


@dataclass(frozen=True)
class Channel:
    id: uuid.UUID
    key: str
    loop: int


@dataclass(frozen=True)
class Programme:
    id: str
    start: float
    end: float


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, shared_sources: Path) -> Iterator[Stack]:
    env = {"STARTOVER_PROMPT_AFTER_SECONDS": str(PROMPT_AFTER_S)}
    with running_stack(
        tmp_path_factory.mktemp("web"), LONG_S, env=env, bind="0.0.0.0", sources_cache=shared_sources
    ) as s:
        # The second channel is made here, before any browser runs its own event loop.
        key = "web" + uuid.uuid4().hex[:4]
        short_id = asyncio.run(add_short_loop_channel(s.db_url, key, SHORT_S, datetime.now(UTC)))
        # What aired before the encoders start is backfilled: the programme on air is recorded from
        # its start and SHORT has whole programmes to play as catch-up, without waiting for them.
        on_air_with_past(s, time.time() - LONG_S - 2 * SHORT_S, s.channel_key, key)
        _channels[s.api] = (Channel(s.channel_id, s.channel_key, LONG_S), Channel(short_id, key, SHORT_S))
        yield s


_channels: dict[str, tuple[Channel, Channel]] = {}


@pytest.fixture(scope="module")
def long_channel(stack: Stack) -> Channel:
    return _channels[stack.api][0]


@pytest.fixture(scope="module")
def short_channel(stack: Stack) -> Channel:
    return _channels[stack.api][1]


@pytest.fixture(scope="module")
def playwright(stack: Stack) -> Iterator[tuple[Playwright, Browser]]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: tuple[Playwright, Browser]) -> Browser:
    return playwright[1]


@pytest.fixture
def viewer(browser: Browser, stack: Stack) -> Iterator[Viewer]:
    v = new_viewer(browser)
    sign_in(v.page, stack.api, VIEWER, PASSWORD)
    yield v
    token = v.token()
    v.context.close()
    assert token is None or not any(token in line for line in v.console), "the app logged a token"


# ---- reading the archive and the page ---------------------------------------------------------


def _programme_at(stack: Stack, ch: Channel, ts: float) -> Programme:
    day = datetime.fromtimestamp(ts, UTC).date().isoformat()
    entries = stack.get(f"/api/v1/epg/schedule?channel_id={ch.id}&date={day}").json()["entries"]
    for e in entries:
        start = datetime.fromisoformat(e["start_time"]).timestamp()
        end = datetime.fromisoformat(e["end_time"]).timestamp()
        if start <= ts < end:
            return Programme(e["id"], start, end)
    raise AssertionError(f"no programme at {ts}")


def _wait_for_elapsed(stack: Stack, ch: Channel, low: float, high: float) -> Programme:
    """Wait until a programme recorded from its start has been on air for `low` to `high` s."""
    first = stack.first_recorded(ch.id)

    def inside() -> Programme | None:
        p = _programme_at(stack, ch, time.time())
        return p if p.start >= first - 0.5 and low <= time.time() - p.start <= high else None

    found: Programme = wait_until(inside, 2 * ch.loop + high, f"{low}-{high} s into a programme", every=0.5)  # type: ignore[assignment]
    return found


def _badge(page: Page) -> Any:
    return page.get_by_test_id("mode-badge")


def _seek(page: Page) -> Any:
    return page.get_by_role("slider", name="Seek")


def _position(page: Page) -> float:
    """Seconds into the programme, as the seek bar says (waiting for the bar to show)."""
    return float(_seek(page).input_value(timeout=10_000))


def _started_at(page: Page) -> float:
    """Where in the programme playback began: the seek bar's position less what has played since
    the first frame (call it right after `_first_frame`)."""
    first = playback(page)
    now: dict[str, Any] = wait_until(  # type: ignore[assignment]
        lambda: (s := playback(page))["position"] is not None and s, 10, "the seek bar"
    )
    return float(now["position"]) - float(now["t"] - first["t"])


def _tune(page: Page, channel_name: str) -> None:
    page.get_by_role("link", name="Home", exact=True).click()
    page.get_by_role("link", name=channel_name).click()


# ---- sign-in, addresses ------------------------------------------------------------------------


def test_sign_in_through_the_form(browser: Browser, stack: Stack, long_channel: Channel) -> None:
    v = new_viewer(browser)
    page = v.page
    page.goto(stack.api + "/")
    expect(page).to_have_url(f"{stack.api}/signin")
    page.get_by_label("Email").fill(VIEWER)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    screenshot(page, "signin-wrong-password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="On now")).to_be_visible()
    expect(page.get_by_role("link", name=f"E2E {long_channel.key}")).to_be_visible()
    screenshot(page, "home")
    page.reload()
    expect(page.get_by_role("heading", name="On now")).to_be_visible()  # still signed in
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(stack.api + "/")
    expect(page).to_have_url(f"{stack.api}/signin")
    v.context.close()


def test_unknown_and_tampered_addresses_show_not_found(
    viewer: Viewer, stack: Stack, long_channel: Channel
) -> None:
    page = viewer.page
    for path in (
        "/no/such/page",
        "/watch/live/not-a-uuid",
        f"/watch/catchup/{long_channel.id}/not-a-uuid",
        f"/watch/vod/{long_channel.id}/{uuid.uuid4()}",
        f"/watch/catchup/{long_channel.id}/{uuid.uuid4()}",
    ):
        page.goto(stack.api + path)
        expect(page.get_by_role("link", name="Go to Home")).to_be_visible()
    # Another channel's programme under this channel's address.
    seeded = stack.get("/api/v1/epg/channels").json()["channels"][0]
    p = _programme_at(stack, long_channel, time.time())
    page.goto(f"{stack.api}/watch/startover/{seeded['id']}/{p.id}")
    expect(page.get_by_role("heading", name="We could not find that programme")).to_be_visible()
    screenshot(page, "not-found")
    page.get_by_role("link", name="Go to Home").click()
    expect(page.get_by_role("heading", name="On now")).to_be_visible()


def _forged_token(claims: dict[str, Any]) -> str:
    def part(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_a_rejected_token_signs_out_and_comes_back_after_sign_in(
    browser: Browser, stack: Stack, long_channel: Channel
) -> None:
    v = new_viewer(browser)
    page = v.page
    page.goto(stack.api + "/signin")
    # A token that looks valid to the app but that the API rejects (wrong signature).
    forged = _forged_token({"sub": str(uuid.uuid4()), "role": "viewer", "exp": int(time.time()) + 3600})
    page.evaluate("(t) => localStorage.setItem('tstv.token', t)", forged)
    watch = f"/watch/live/{long_channel.id}"
    page.goto(stack.api + watch)
    expect(page.get_by_role("status").filter(has_text="Your session has expired")).to_be_visible()
    screenshot(page, "session-expired")
    page.get_by_label("Email").fill(VIEWER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(stack.api + watch)
    first_frame(page)
    assert not any(forged in line for line in v.console)
    v.context.close()


# ---- refusals in words -------------------------------------------------------------------------


def test_no_subscription_says_so(browser: Browser, stack: Stack, long_channel: Channel) -> None:
    v = new_viewer(browser)
    sign_in(v.page, stack.api, "nosub@tstv.local", PASSWORD)
    v.page.get_by_role("link", name=f"E2E {long_channel.key}").click()
    expect(
        v.page.get_by_role("heading", name="Your subscription does not include this channel")
    ).to_be_visible()
    screenshot(v.page, "no-subscription")
    v.context.close()


def _seeded_programme(stack: Stack, channel_name: str, days_ago: int) -> tuple[str, str]:
    channels = stack.get("/api/v1/epg/channels").json()["channels"]
    ch = next(c for c in channels if c["name"] == channel_name)
    day = (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()
    entries = stack.get(f"/api/v1/epg/schedule?channel_id={ch['id']}&date={day}").json()["entries"]
    eligible = [e for e in entries if e["catchup_eligible"]]
    return ch["id"], eligible[len(eligible) // 2]["id"]


def test_expired_and_not_recorded_programmes_say_so(viewer: Viewer, stack: Stack) -> None:
    page = viewer.page
    # The seeded channels have no encoder in tests: yesterday's programmes were never recorded.
    ch, entry = _seeded_programme(stack, "TSTV One", 1)
    page.goto(f"{stack.api}/watch/catchup/{ch}/{entry}")
    expect(page.get_by_role("heading", name="Not available on Catch-Up")).to_be_visible()
    expect(page.get_by_text("was not recorded")).to_be_visible()
    screenshot(page, "not-recorded")
    # Channel 3's viewer window is 48 h: three days back has expired.
    channels = stack.get("/api/v1/epg/channels").json()["channels"]
    windowed = next(c for c in channels if c["cutv_window_hours"] == 48)
    ch, entry = _seeded_programme(stack, windowed["name"], 3)
    page.goto(f"{stack.api}/watch/catchup/{ch}/{entry}")
    expect(
        page.get_by_role("heading", name="This programme is no longer available on Catch-Up")
    ).to_be_visible()
    expect(page.get_by_text("It expired on")).to_be_visible()
    screenshot(page, "expired")
    page.get_by_role("link", name="Watch the channel live").click()
    expect(page).to_have_url(f"{stack.api}/watch/live/{ch}")


# ---- catch-up: resume, a second device, keyboard -----------------------------------------------


def _aired_programme(stack: Stack, ch: Channel, nth: int = 0) -> Programme:
    """The `nth` programme of `ch` recorded from its start, once it has finished airing (waits for
    it). Tests that must find a programme nobody watched yet take one the others do not."""
    first = stack.first_recorded(ch.id)
    p = _programme_at(stack, ch, first)
    if p.start < first - 0.5:
        p = _programme_at(stack, ch, p.end)
    for _ in range(nth):
        p = _programme_at(stack, ch, p.end)
    wait_until(
        lambda: time.time() > p.end + 8, p.end + 8 - time.time() + 20, "the programme to air", every=0.5
    )
    return p


def test_catchup_resumes_where_the_viewer_stopped_on_another_device_too(
    viewer: Viewer, browser: Browser, stack: Stack, short_channel: Channel
) -> None:
    p = _aired_programme(stack, short_channel)
    path = f"/watch/catchup/{short_channel.id}/{p.id}"
    # The other device signs in first (a sign-in hashes the password at the lowest priority, slow
    # under the suite's load): what is timed below is the saved position reaching it.
    other = new_viewer(browser)
    sign_in(other.page, stack.api, VIEWER, PASSWORD)
    page = viewer.page
    started = time.monotonic()
    page.goto(stack.api + path)
    first_frame(page)
    catchup_start = time.monotonic() - started
    assert _started_at(page) <= 1, "a programme never watched starts at its beginning"
    expect(_badge(page)).to_have_text("CATCH-UP")
    assert catchup_start < 5, catchup_start
    plays_on(page, 7)  # past the 5 s under which nothing is worth resuming
    # Keyboard: Space pauses (and saves), Right seeks 10 s, Left comes back.
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    paused_at = _position(page)
    wait_until(lambda: playback(page)["paused"], 5, "pause")
    screenshot(page, "catchup-paused")
    saved = time.monotonic()
    other.page.goto(stack.api + path)
    toast = other.page.get_by_role("status").filter(has_text="Resuming from")
    expect(toast).to_be_visible()
    assert time.monotonic() - saved < 5, "the other device sees the position within 5 s"
    shown = re.search(r"Resuming from (\d+):(\d\d)", toast.text_content() or "")
    assert shown, toast.text_content()
    assert abs(int(shown[1]) * 60 + int(shown[2]) - paused_at) <= 1.5
    first_frame(other.page)
    assert abs(_position(other.page) - paused_at) <= 1.5
    screenshot(other.page, "catchup-resume")
    other.page.get_by_role("button", name="Start from beginning").click()
    wait_until(lambda: _position(other.page) <= 1.5, 5, "restart at 0")
    other.context.close()

    page.keyboard.press("Space")
    wait_until(lambda: not playback(page)["paused"], 5, "play again")
    before = _position(page)
    page.keyboard.press("ArrowRight")
    wait_until(lambda: _position(page) >= before + 8, 5, "seek 10 s forward")
    page.keyboard.press("ArrowLeft")
    wait_until(lambda: _position(page) <= before + 5, 5, "seek 10 s back")


def test_catchup_plays_from_the_dash_mpd_with_clearkey_and_seeks(
    viewer: Viewer, stack: Stack, short_channel: Channel
) -> None:
    """The web app in MPEG-DASH (`?format=dash`): Shaka reads the programme's MPD, asks the licence
    server the MPD names for the ClearKey key, shows the picture from the programme's start and
    seeks. No HLS playlist is fetched."""
    p = _aired_programme(stack, short_channel, nth=1)  # the first is resumed by the test before
    # Its thumbnails exist (the first master of the programme asks for them): the MPD lists them.
    master = f"/api/v1/tstv/catchup/{short_channel.id}/manifest?schedule_entry_id={p.id}"
    wait_until(lambda: "EXT-X-IMAGE-STREAM-INF" in stack.get(master).text, 60, "the thumbnails", every=0.5)
    page = viewer.page
    answers: list[tuple[str, int, str]] = []
    page.on("response", lambda r: answers.append((r.url, r.status, r.headers.get("content-type", ""))))
    page.goto(f"{stack.api}/watch/catchup/{short_channel.id}/{p.id}?format=dash")
    first_frame(page)
    expect(_badge(page)).to_have_text("CATCH-UP")
    mpds = [a for a in answers if "/manifest?format=dash" in a[0]]
    assert mpds and all(status == 200 and kind.startswith("application/dash+xml") for _, status, kind in mpds)
    licences = [a for a in answers if "/api/v1/drm/license?pb=" in a[0]]
    assert licences and all(status == 200 for _, status, _ in licences), licences
    assert not any(".m3u8" in url for url, _, _ in answers), "nothing of HLS"
    assert _started_at(page) <= 1, "the programme's first frame"
    plays_on(page, 2)
    before = _position(page)
    page.keyboard.press("ArrowRight")
    wait_until(lambda: _position(page) >= before + 8, 5, "seek 10 s forward")
    plays_on(page, 1)
    expect(page.locator(".player")).not_to_have_attribute("data-state", "problem")
    screenshot(page, "catchup-dash")
    # The MPD's thumbnails (a tiled image AdaptationSet) preview the seek bar.
    _hover_seek_bar(page, 0.25)
    expect(page.get_by_test_id("seek-preview")).to_contain_text(re.compile(r"^0:0[4-6]$"))
    _shown_picture(page)
    screenshot(page, "catchup-dash-seek-preview")
    page.mouse.move(5, 5)


def _ladder(stack: Stack, ch: Channel) -> list[tuple[str, int]]:
    """The rungs the live master lists, as (label, BANDWIDTH), lowest first."""
    master = m3u8.loads(stack.get(f"/api/v1/tstv/live/{ch.id}/manifest").text)
    rungs = [(f"{p.stream_info.resolution[1]}p", int(p.stream_info.bandwidth)) for p in master.playlists]
    return sorted(rungs, key=lambda r: r[1])


def _playing_rung(page: Page) -> str:
    return (page.get_by_test_id("stats-rung").text_content() or "").split(" ")[0]


def _throttle(cdp: Any, bits_per_second: float | None) -> None:
    """Limit (or, with None, lift) the page's download throughput, as a slow connection would."""
    limit = -1 if bits_per_second is None else bits_per_second / 8
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": limit, "uploadThroughput": -1},
    )


def test_a_throttled_connection_plays_on_at_a_lower_rung_and_climbs_back(
    viewer: Viewer, stack: Stack, long_channel: Channel
) -> None:
    ladder = _ladder(stack, long_channel)
    assert len(ladder) >= 2, ladder
    (low, low_bw), (top, _) = ladder[0], ladder[-1]
    page = viewer.page
    loads = video_loads(page)
    _tune(page, f"E2E {long_channel.key}")
    first_frame(page, after_loads=loads)
    quality = page.get_by_label("Quality")
    expect(quality).to_be_visible()
    assert quality.locator("option").all_text_contents()[1:] == [label for label, _ in reversed(ladder)]
    page.keyboard.press("i")
    stats = page.get_by_role("definition").first
    expect(page.get_by_test_id("player-stats")).to_be_visible()
    expect(stats).not_to_have_text("—")
    # Auto on a fast connection climbs to the top rung.
    wait_until(lambda: _playing_rung(page) == top, 60, f"Auto to reach {top}", every=0.5)
    screenshot(page, "ladder-top-rung-stats")

    cdp = viewer.context.new_cdp_session(page)
    cdp.send("Network.enable")
    _throttle(cdp, low_bw * 1.4)
    wait_until(lambda: _playing_rung(page) != top, 60, "a switch down from the top rung", every=0.5)
    plays_on(page, 6)  # and keeps playing, no stall long enough to matter
    expect(page.locator(".player")).not_to_have_attribute("data-state", "problem")
    screenshot(page, "ladder-throttled")
    _throttle(cdp, None)
    wait_until(lambda: _playing_rung(page) == top, 90, f"the climb back to {top}", every=0.5)
    plays_on(page, 2)

    # A rung chosen by hand holds; Auto gives the choice back to the player.
    quality.select_option(label=low)
    wait_until(lambda: _playing_rung(page) == low, 30, f"the chosen {low}", every=0.5)
    expect(quality).to_have_value(low.removesuffix("p"))
    quality.select_option(value="auto")
    expect(quality.locator("option").first).to_have_text(re.compile(r"^Auto"))
    page.keyboard.press("i")
    expect(page.get_by_test_id("player-stats")).to_be_hidden()


# ---- tuning, the prompt, start-over, Jump to Live, the live-edge switch ------------------------
# Each test below needs a moment of LONG's programme (7-60 s in, 45-80, 60-70, then 55-80 of the
# next): they run in that order, so one programme and a half serve them all.


def test_prompt_shows_on_tuning_leaves_after_10_s_and_never_comes_back(
    viewer: Viewer, stack: Stack, long_channel: Channel
) -> None:
    _wait_for_elapsed(stack, long_channel, PROMPT_AFTER_S + 2, LONG_S - 30)
    page = viewer.page
    tuned = time.monotonic()
    page.get_by_role("link", name=f"E2E {long_channel.key}").click()
    prompt = page.get_by_role("dialog")
    expect(prompt).to_be_visible(timeout=2000)
    assert time.monotonic() - tuned < 2
    expect(prompt.get_by_role("button", name="Start from Beginning")).to_be_visible()
    expect(prompt.get_by_role("button", name="Continue Live")).to_be_visible()
    expect(prompt).to_contain_text(re.compile(r"Started (less than a minute|\d+ min) ago"))
    expect(prompt).to_contain_text("Closes in")
    first_frame(page)
    expect(_badge(page)).to_have_text("LIVE")
    screenshot(page, "live-prompt")
    expect(prompt).to_be_hidden(timeout=12_000)
    assert 9.5 <= time.monotonic() - tuned <= 13
    page.reload()
    expect(page.get_by_role("button", name="Start Over")).to_be_visible()  # the programme is known
    expect(page.get_by_role("dialog")).to_have_count(0)


def _hover_seek_bar(page: Page, fraction: float) -> None:
    box = _seek(page).bounding_box()
    assert box, "the seek bar is on the page"
    page.mouse.move(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)


def _shown_picture(page: Page) -> str:
    """The preview's picture (a thumbnail sheet), once it shows and its image has loaded."""
    picture = page.get_by_test_id("seek-preview-picture")
    expect(picture).to_be_visible()
    src = picture.get_attribute("data-src") or ""
    loaded = page.evaluate(
        "async (src) => { const i = new Image(); i.src = src; await i.decode(); return i.naturalWidth; }", src
    )
    assert loaded > 0, src
    return src


def test_scrubbing_shows_the_picture_and_time_where_a_seek_lands(
    viewer: Viewer, stack: Stack, short_channel: Channel, long_channel: Channel
) -> None:
    p = _aired_programme(stack, short_channel)
    page = viewer.page
    page.goto(f"{stack.api}/watch/catchup/{short_channel.id}/{p.id}")
    first_frame(page)
    preview = page.get_by_test_id("seek-preview")
    expect(preview).to_be_hidden()
    _hover_seek_bar(page, 0.25)  # 5 s into a 20 s programme
    expect(preview).to_contain_text(re.compile(r"^0:0[4-6]$"))
    early = _shown_picture(page)
    screenshot(page, "catchup-seek-preview")
    _hover_seek_bar(page, 0.75)
    expect(preview).to_contain_text(re.compile(r"^0:1[4-6]$"))
    expect(page.get_by_test_id("seek-preview-picture")).not_to_have_attribute("data-src", early)
    _shown_picture(page)
    page.mouse.move(5, 5)
    expect(preview).to_be_hidden()

    # Live: the preview says how far behind live a seek there lands. "Behind live" is behind the
    # player's live point, which trails the clock by Shaka's three-segment hold-back and the newest
    # segment (18-30 s here), so the programme's start (recorded) must be further back than that
    # plus the 8 s that count as live: 45 s into the programme.
    _wait_for_elapsed(stack, long_channel, 45, LONG_S - 10)
    loads = video_loads(page)
    _tune(page, f"E2E {long_channel.key}")
    first_frame(page, after_loads=loads)
    expect(_badge(page)).to_have_text("LIVE")
    _hover_seek_bar(page, 0.02)
    expect(preview).to_contain_text(re.compile(r"^-\d+:\d\d$"))
    _shown_picture(page)
    screenshot(page, "live-seek-preview")


def _behind_live(page: Page) -> float:
    """How far behind live the seek bar says the viewer is ("-0:42" -> 42)."""
    text = _seek(page).get_attribute("aria-valuetext") or ""
    m = re.fullmatch(r"-(\d+):(\d\d)", text)
    return int(m[1]) * 60 + int(m[2]) if m else 0.0


def test_a_startover_carries_on_live_when_the_programme_ends(
    viewer: Viewer, stack: Stack, long_channel: Channel
) -> None:
    """The viewer is still behind when the programme ends on air: playback goes on, in live mode,
    from the same instant (no jump to the edge, no black screen) and into the next programme."""
    p = _wait_for_elapsed(stack, long_channel, LONG_S - 30, LONG_S - 20)
    page = viewer.page
    page.goto(f"{stack.api}/watch/startover/{long_channel.id}/{p.id}")
    first_frame(page)
    expect(_badge(page)).to_have_text("START OVER")
    # Closer to live, but not within the 30 s that would switch to live by itself.
    while _behind_live(page) >= 42:
        _forward_10(page)
    behind = _behind_live(page)
    assert 31 <= behind < 42, behind
    expect(_badge(page)).to_have_text("START OVER")
    position = _position(page)

    wait_until(lambda: time.time() > p.end, p.end - time.time() + 5, "the programme's end", every=0.5)
    expect(_badge(page)).to_have_text("LIVE")
    expect(page).to_have_url(f"{stack.api}/watch/live/{long_channel.id}")
    plays_on(page, 1)
    expect(page.get_by_role("dialog")).to_have_count(0)  # a programme started over is not offered again
    assert _behind_live(page) >= 25, "carries on where the viewer was, not at the live edge"
    assert _position(page) > position, "from the same programme, further on"
    screenshot(page, "startover-ended-live")
    nxt = _programme_at(stack, long_channel, p.end)
    title = page.get_by_role("heading", level=1)
    expect(title).to_contain_text(_title(stack, nxt), timeout=int((behind + 45) * 1000))
    plays_on(page, 2)


def test_accept_startover_jump_to_live_and_the_live_edge_switch(
    viewer: Viewer, stack: Stack, long_channel: Channel
) -> None:
    # Far enough in that the programme start is more than 30 s behind the player's live point.
    p = _wait_for_elapsed(stack, long_channel, 55, LONG_S - 10)
    page = viewer.page
    _tune(page, f"E2E {long_channel.key}")
    prompt = page.get_by_role("dialog")
    expect(prompt).to_be_visible(timeout=2000)
    first_frame(page)

    loads = video_loads(page)
    prompt.get_by_role("button", name="Start from Beginning").click()
    took = first_frame(page, after_loads=loads)
    expect(page).to_have_url(f"{stack.api}/watch/startover/{long_channel.id}/{p.id}")
    assert abs(_started_at(page)) <= 1.0, "starts at the programme's first frame"
    expect(_badge(page)).to_have_text("START OVER")
    assert took < 3, took
    expect(page.get_by_role("button", name="Jump to Live")).to_be_visible()
    expect(_seek(page)).to_have_attribute("aria-valuetext", re.compile(r"^-\d+:\d\d$"))  # behind live
    plays_on(page, 2)
    screenshot(page, "startover")

    loads = video_loads(page)
    page.get_by_role("button", name="Jump to Live").click()
    expect(_badge(page)).to_have_text("LIVE")
    expect(page).to_have_url(f"{stack.api}/watch/live/{long_channel.id}")
    first_frame(page, after_loads=loads)
    expect(_seek(page)).to_have_attribute("aria-valuetext", "Live")
    expect(page.get_by_role("button", name="Jump to Live")).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)  # not offered again after Jump to Live

    # Start Over from the bar, then fast-forward: within 30 s of live it becomes live by itself.
    loads = video_loads(page)
    page.get_by_role("button", name="Start Over").click()
    expect(_badge(page)).to_have_text("START OVER")
    first_frame(page, after_loads=loads)
    for _ in range(12):
        if _forward_10(page):
            break
    expect(_badge(page)).to_have_text("LIVE")
    expect(page).to_have_url(f"{stack.api}/watch/live/{long_channel.id}")
    plays_on(page, 2)
    screenshot(page, "live")


def _title(stack: Stack, p: Programme) -> str:
    title: str = stack.get(f"/api/v1/epg/programmes/{p.id}").json()["title"]
    return title


def _forward_10(page: Page) -> bool:
    """Press Forward 10 seconds; True once the player has become live."""
    before = _position(page)
    page.get_by_role("button", name="Forward 10 seconds").click()
    wait_until(lambda: _badge(page).text_content() == "LIVE" or _position(page) >= before + 8, 5, "the seek")
    return bool(_badge(page).text_content() == "LIVE")


# ---- any host ------------------------------------------------------------------------------------


def _lan_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.123", 9))  # no packet is sent: this only picks the outgoing interface
            address: str = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_plays_when_opened_as_localhost_or_the_lan_address(
    playwright: tuple[Playwright, Browser], stack: Stack, long_channel: Channel
) -> None:
    """The CDN admits every origin and playlists point at the host the viewer used. Browsers give
    EME (ClearKey) to secure pages only, so over plain HTTP a LAN address gets a clear message, and a
    LAN page the browser treats as secure (HTTPS in real life) plays."""
    pw, browser = playwright
    port = stack.api.rsplit(":", 1)[1]
    watch = f"/watch/live/{long_channel.id}"
    v = new_viewer(browser)
    sign_in(v.page, f"http://localhost:{port}", VIEWER, PASSWORD, watch)
    first_frame(v.page)
    plays_on(v.page, 2)
    v.context.close()

    lan = _lan_address()
    assert lan is not None, "this machine has no LAN address to test with"
    base = f"http://{lan}:{port}"
    v = new_viewer(browser)
    sign_in(v.page, base, VIEWER, PASSWORD, watch)
    expect(v.page.get_by_role("heading", name="Protected video needs a secure connection")).to_be_visible()
    screenshot(v.page, "lan-over-http")
    v.context.close()
    secure = launch(pw, f"--unsafely-treat-insecure-origin-as-secure={base}")
    try:
        v = new_viewer(secure)
        sign_in(v.page, base, VIEWER, PASSWORD, watch)
        first_frame(v.page)
        plays_on(v.page, 2)
    finally:
        secure.close()
