"""A live window with a long hole in it, in the web app's player in headless Chromium: a run that
ended 15 minutes ago, nothing for 15 minutes, then the run on air now (an encoder or the whole
platform was down). The player starts at the live edge at once and plays on, whatever the window
holds before the hole (app/services/playback/manifest_generator.py, `live_window_start`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import m3u8
import pytest
from playwright.sync_api import expect

from tests.browser import chromium, first_frame, new_viewer, plays_on, screenshot, sign_in
from tests.stack import PASSWORD, Stack, backfilled, on_air, running_stack, wait_until

HOLE_S = 15 * 60
LOOP_S = 20  # the loop other web modules use: its sources are prepared once for all of them


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, shared_sources: Path) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("gap"), LOOP_S, sources_cache=shared_sources) as s:
        now = time.time()
        backfilled(s, now - HOLE_S - 600, now - HOLE_S, s.channel_key)  # the run before the hole
        on_air(s, s.channel_key)

        def stretches() -> int:
            r = s.get(f"/api/v1/admin/archive/coverage/{s.channel_key}", s.admin_token)
            return len(r.json()["recorded"])

        wait_until(lambda: stretches() == 2, 30, "the live run indexed after the old one")
        yield s


def test_a_live_window_with_a_long_hole_plays_at_the_edge_within_2_s(stack: Stack) -> None:
    s = stack
    with chromium() as (_, browser):
        viewer = new_viewer(browser)
        page = viewer.page
        sign_in(page, s.api, "viewer@tstv.local", PASSWORD)
        link = page.get_by_role("link", name=f"E2E {s.channel_key}").first
        expect(link).to_be_visible()
        clicked = time.monotonic()
        link.click()
        first_frame(page, within=30)
        opened_s = time.monotonic() - clicked
        seek = page.get_by_role("slider", name="Seek")
        expect(seek).to_have_attribute("aria-valuetext", "Live")
        plays_on(page, by=8)  # past where the window's old run would have ended it
        expect(seek).to_have_attribute("aria-valuetext", "Live")
        screenshot(page, "live-window-with-a-hole")
        viewer.context.close()
    print(f"live, a {HOLE_S // 60}-minute hole in its window: first frame {opened_s:.2f} s after the click")
    assert opened_s <= 2.0


def test_the_live_playlist_begins_after_the_hole_and_offers_what_it_plays(stack: Stack) -> None:
    s = stack
    url = f"{s.api}/api/v1/tstv/live/{s.channel_id}/manifest"
    master = m3u8.loads(s.get(f"/api/v1/tstv/live/{s.channel_id}/manifest").text, uri=url)
    media = m3u8.loads(s.get(master.playlists[0].absolute_uri.removeprefix(s.api)).text)
    first = media.segments[0].current_program_date_time.timestamp()
    assert first > time.time() - HOLE_S + 30, "the window still holds the run before the hole"
    assert not any(seg.discontinuity for seg in media.segments)
