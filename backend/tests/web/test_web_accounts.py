"""Accounts in headless Chromium, the built app served by the backend (production, its CSP on):
the operator's Users page ends a viewer's subscription and the viewer's next request is refused;
a viewer changes their password on the account page (another device is signed out, this one
carries on) and signs out (the token stops working at the API)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser import check_accessibility, chromium, new_viewer, screenshot, sign_in
from tests.stack import PASSWORD, Stack, running_stack, wait_until


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("web-accounts")) as s:
        yield s


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    with chromium() as (_, b):
        yield b


def test_operator_ends_a_subscription_on_the_users_page(stack: Stack, browser: Browser) -> None:
    v = new_viewer(browser)
    sign_in(v.page, stack.api, "admin@tstv.local", PASSWORD, "/admin/users")
    page = v.page
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    expect(page.get_by_role("heading", name="viewer@tstv.local")).to_be_visible()
    # Not the operator's own account: no locking oneself out from here.
    expect(page.get_by_role("switch", name="Disabled: admin@tstv.local")).to_be_disabled()
    assert (
        stack.get(f"/api/v1/tstv/live/{stack.channel_id}/manifest").json()["detail"]
        != "subscription_required"
    )

    page.get_by_role("switch", name="Subscription for viewer@tstv.local").click()
    expect(page.get_by_role("status").filter(has_text="Subscription off")).to_be_visible()
    screenshot(page, "users-subscription-off")
    check_accessibility(page, "the Users page")
    r = stack.get(f"/api/v1/tstv/live/{stack.channel_id}/manifest")
    assert (r.status_code, r.json()["detail"]) == (403, "subscription_required")

    page.get_by_role("switch", name="Subscription for viewer@tstv.local").click()
    expect(page.get_by_role("status").filter(has_text="Subscription on")).to_be_visible()
    assert stack.get("/api/v1/auth/me").json()["subscription_active"] is True
    assert not [line for line in v.console if line.startswith("pageerror")], v.console
    assert not [line for line in v.console if "Content Security Policy" in line], v.console
    v.context.close()


def test_viewer_changes_password_then_signs_out(stack: Stack, browser: Browser) -> None:
    other_device = httpx.post(
        f"{stack.api}/api/v1/auth/login", json={"email": "nosub@tstv.local", "password": PASSWORD}, timeout=30
    ).json()["access_token"]
    v = new_viewer(browser)
    sign_in(v.page, stack.api, "nosub@tstv.local", PASSWORD)
    page = v.page
    page.get_by_role("link", name="nosub", exact=True).click()  # the header's profile name
    expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    page.get_by_label("Current password").fill("not-the-password")
    page.get_by_label("New password", exact=True).fill("a-new-long-password")
    page.get_by_label("New password again").fill("a-new-long-password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text("The current password is not right.")

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status").filter(has_text="Password changed")).to_be_visible()
    screenshot(page, "account-password-changed")
    assert stack.get("/api/v1/auth/me", other_device).status_code == 401  # the other device is out
    token = v.token()
    assert token and stack.get("/api/v1/auth/me", token).status_code == 200  # this one carries on
    page.get_by_role("link", name="Home", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    def refused() -> bool:
        return stack.get("/api/v1/auth/me", token).status_code == 401

    wait_until(refused, 10, "the signed-out token to be refused")
    assert not [line for line in v.console if line.startswith("pageerror")], v.console
    v.context.close()
