"""Headless Chromium for the browser tests (docs/MEDIA.md, M8), and what a viewer does in the web app."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.conftest import BACKEND_DIR
from tests.stack import wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
# Screenshots every browser test saves: var/ is not committed; docs/screenshots/ holds chosen ones.
AXE = BACKEND_DIR.parent / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", BACKEND_DIR.parent / "var" / "test-artifacts"))


@contextlib.contextmanager
def chromium() -> Iterator[tuple[Playwright, Browser]]:
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            yield pw, browser
        finally:
            browser.close()


def launch(pw: Playwright, *extra_args: str) -> Browser:
    # A missing browser fails the run rather than skipping it: a skip would hide a broken install.
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (make test installs it)"
    return pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])


def screenshot(page: Page, name: str) -> Path:
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    return path


@dataclass
class Viewer:
    """One browser profile (its own storage: another device, as far as the app can tell)."""

    context: BrowserContext
    page: Page
    console: list[str] = field(default_factory=list)  # every console line and page error

    def token(self) -> str | None:
        value: str | None = self.page.evaluate("() => localStorage.getItem('tstv.token')")
        return value


def new_viewer(browser: Browser, width: int = 1366, height: int = 800) -> Viewer:
    context = browser.new_context(viewport={"width": width, "height": height})
    # Counts the video's loads (media events do not bubble, but a capturing listener sees them), so a
    # test can wait for the first frame of a new playlist, not the still-playing previous one.
    context.add_init_script(
        "document.addEventListener('loadstart', () => { window.__loads = (window.__loads || 0) + 1; }, true);"
    )
    viewer = Viewer(context, context.new_page())
    viewer.page.on("console", lambda m: viewer.console.append(f"{m.type}: {m.text}"))
    viewer.page.on("pageerror", lambda e: viewer.console.append(f"pageerror: {e}"))
    return viewer


def sign_in(page: Page, base: str, email: str, password: str, path: str = "/") -> None:
    """Through the form, as a person does; ends on the page that was asked for."""
    page.goto(base + path)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Password hashing runs at the lowest thread priority (auth_service.py): under the suite's
    # load a sign-in may take longer than Playwright's default 5 s.
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=30_000)


# ---- what a viewer sees of the player ------------------------------------------------------

_PLAYBACK_JS = """() => {
  const v = document.querySelector('video');
  const seek = document.querySelector('input[aria-label="Seek"]');
  return {t: v ? v.currentTime : 0, ready: v ? v.readyState : 0, paused: v ? v.paused : true,
          position: seek ? Number(seek.value) : null, loads: window.__loads || 0};
}"""


def playback(page: Page) -> dict[str, Any]:
    """The video element's clock, and the seek bar's position read at the same instant."""
    state: dict[str, Any] = page.evaluate(_PLAYBACK_JS)
    return state


def first_frame(page: Page, within: float = 15, after_loads: int = 0) -> float:
    """Wait for a playing picture (of a load later than `after_loads`); returns the seconds it took."""
    started = time.monotonic()
    wait_until(
        lambda: (s := playback(page))["loads"] > after_loads and s["ready"] >= 2 and not s["paused"],
        within,
        "first frame",
        every=0.02,
    )
    return time.monotonic() - started


def video_loads(page: Page) -> int:
    return int(playback(page)["loads"])


def plays_on(page: Page, by: float = 2.0) -> None:
    begin = playback(page)["t"]
    wait_until(lambda: playback(page)["t"] >= begin + by, by + 15, f"playback to advance {by} s", every=0.1)


def check_accessibility(page: Page, what: str) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    assert AXE.exists(), "frontend npm packages are missing (make test installs them)"
    # Evaluated over the DevTools protocol, which the app's Content-Security-Policy does not govern
    # (an inline <script> tag would be refused by it: `script-src 'self'`).
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]  # type: ignore[index]
    assert not bad, f"{what}: {bad}"
