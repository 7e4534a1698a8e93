"""The web app's player, timed as a viewer feels it (docs/PRODUCT.md, 'Targets'): headless Chromium against
the real stack (the built app served by the backend, real encoders, nginx, ClearKey), 10 times each:

  channel click -> first frame (live)      from Home, click a channel
  Start from Beginning -> first frame      in live, start the programme over
  Jump to Live -> at the live edge         in start-over, back to live (first frame, seek bar "Live")
  catch-up click -> first frame            from the Catch-Up page, Play a programme

"First frame" is the video playing a picture of the new load (readyState >= 2, not paused), polled
every 10 ms in the page. Targets: under 1 s median on this machine.

    cd backend && uv run python -m bench.bench_player [--runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser import chromium, new_viewer, playback, sign_in, video_loads
from tests.stack import PASSWORD, Stack, add_short_loop_channel, running_stack, wait_until

LIVE_LOOP_S = 900  # one long programme: start-over stays well behind live for the whole run
CATCHUP_LOOP_S = 20  # short programmes: plenty have aired after a minute


def _first_frame_after(page: Page, loads: int) -> float:
    """Seconds until the page plays a picture of a load after the `loads`-th."""
    started = time.monotonic()
    wait_until(
        lambda: (s := playback(page))["loads"] > loads and s["ready"] >= 2 and not s["paused"],
        20,
        "first frame",
        every=0.01,
    )
    return time.monotonic() - started


def _timed(page: Page, action: Callable[[], None], done: Callable[[], None] | None = None) -> float:
    loads = video_loads(page)
    t0 = time.monotonic()
    action()
    _first_frame_after(page, loads)
    if done is not None:
        done()
    return time.monotonic() - t0


def _summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"| {name} | {len(samples)} | {statistics.median(samples) * 1000:.0f} | {p95 * 1000:.0f} | "
        f"{max(samples) * 1000:.0f} |"
    )


def _start(stack: Stack, key: str, channel_id: uuid.UUID) -> None:
    r = stack.post(f"/api/v1/admin/simlive/{key}/start", stack.admin_token)
    assert r.status_code == 200, r.text
    wait_until(
        lambda: stack.get(f"/api/v1/tstv/live/{channel_id}/manifest").status_code == 200, 180, "segments"
    )


def run(runs: int) -> list[str]:
    tmp = Path(tempfile.mkdtemp(prefix="tstv-bench-player-"))
    with running_stack(tmp, LIVE_LOOP_S, env={"STARTOVER_PROMPT_AFTER_SECONDS": "86400"}) as stack:
        cu_key = "bcu" + uuid.uuid4().hex[:4]
        cu_id = asyncio.run(
            add_short_loop_channel(stack.db_url, cu_key, CATCHUP_LOOP_S, datetime.now(UTC), title="Replay")
        )
        _start(stack, stack.channel_key, stack.channel_id)
        _start(stack, cu_key, cu_id)
        # Start-over must begin more than 30 s behind live (else it turns live at once): let the
        # archive grow; catch-up needs aired programmes too.
        recording = time.time()
        wait_until(lambda: time.time() > recording + 75, 90, "the archive to grow", every=1)
        with chromium() as (_, browser):
            v = new_viewer(browser)
            page = v.page
            sign_in(page, stack.api, "viewer@tstv.local", PASSWORD)
            name = f"E2E {stack.channel_key}"
            live, startover, jump, catchup = [], [], [], []
            for _ in range(runs + 1):  # the first round warms the caches (Shaka's chunk, the licence)
                page.get_by_role("link", name="Home", exact=True).click()
                expect(page.get_by_role("link", name=name)).to_be_visible()
                live.append(_timed(page, lambda: page.get_by_role("link", name=name).click()))
                startover.append(_timed(page, lambda: page.get_by_role("button", name="Start Over").click()))
                expect(page.get_by_test_id("mode-badge")).to_have_text("START OVER")
                jump.append(
                    _timed(
                        page,
                        lambda: page.get_by_role("button", name="Jump to Live").click(),
                        lambda: expect(page.get_by_role("slider", name="Seek")).to_have_attribute(
                            "aria-valuetext", "Live"
                        ),
                    )
                )
                page.goto(f"{stack.api}/catchup?view=channel&channel={cu_id}")
                play = page.get_by_role("link", name="Play Replay").first
                expect(play).to_be_visible()
                catchup.append(_timed(page, lambda play=play: play.click()))  # type: ignore[misc]
            v.context.close()
    return [
        "| from the click to | runs | median ms | p95 ms | max ms |",
        "|---|---|---|---|---|",
        _summary("first frame live (channel click)", live[1:]),
        _summary("first frame of start-over (Start from Beginning)", startover[1:]),
        _summary("the live edge (Jump to Live)", jump[1:]),
        _summary("first frame of catch-up (Play)", catchup[1:]),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    rows = run(args.runs)
    print(f"\nplayer timings, {args.runs} runs each, load average {os.getloadavg()[0]:.2f}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
