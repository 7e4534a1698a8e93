"""Accounts on a real production stack (uvicorn, nginx, PostgreSQL): signing out, a new password,
an operator disabling, demoting or ending a subscription, the CLI doing the same from another
process. Each takes effect on the user's next request, and on the next media playlist and licence
of a playback the user already started (the playback token names its holder)."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import m3u8
import pytest

from app.config import Settings
from app.db import Database
from app.services.accounts import accounts
from tests.conftest import BACKEND_DIR
from tests.stack import Stack, live_without_encoder, running_stack

PASSWORD = "a-long-enough-password"
KID: dict[str, str] = {}  # the channel's key id (base64url), set by the stack fixture


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("accounts")) as s:
        key = s.get(f"/api/v1/drm/keys/channel/{s.channel_key}", s.admin_token).json()
        live_without_encoder(s, kid=key["kid_hex"])  # encrypted under the channel's key
        KID["b64"] = base64.urlsafe_b64encode(bytes.fromhex(key["kid_hex"])).rstrip(b"=").decode()
        yield s


def add_user(stack: Stack, role: str = "viewer", subscription: bool = True) -> str:
    email = f"u{secrets.token_hex(4)}@example.com"

    async def add() -> None:
        db = Database(Settings(database_url=stack.db_url, jwt_secret="unused-" + "x" * 32))
        try:
            async with db.sessionmaker() as session:
                await accounts.add_user(session, email, PASSWORD, role, subscription)
        finally:
            await db.dispose()

    asyncio.run(add())
    return email


def sign_in(stack: Stack, email: str, password: str = PASSWORD) -> str:
    r = httpx.post(f"{stack.api}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


@dataclass
class Playback:
    media_url: str
    licence_url: str


def start_playback(stack: Stack, token: str) -> Playback:
    url = f"{stack.api}/api/v1/tstv/live/{stack.channel_id}/manifest"
    r = httpx.get(url, headers=stack.headers(token), timeout=30)
    assert r.status_code == 200, r.text
    media = m3u8.loads(r.text, uri=url).playlists[0].absolute_uri
    pb = httpx.URL(media).params["pb"]
    return Playback(media, f"{stack.api}/api/v1/drm/license?pb={pb}")


def media(stack: Stack, playback: Playback, token: str) -> int:
    return httpx.get(playback.media_url, headers=stack.headers(token), timeout=30).status_code


def licence(stack: Stack, playback: Playback, token: str) -> int:
    body = {"kids": [KID["b64"]], "type": "temporary"}
    return httpx.post(playback.licence_url, json=body, headers=stack.headers(token), timeout=30).status_code


def me(stack: Stack, token: str) -> httpx.Response:
    return httpx.get(f"{stack.api}/api/v1/auth/me", headers=stack.headers(token), timeout=30)


def user_id(stack: Stack, email: str) -> str:
    users = stack.get("/api/v1/admin/users", stack.admin_token).json()["users"]
    found: str = next(u["id"] for u in users if u["email"] == email)
    return found


def patch(stack: Stack, email: str, **change: object) -> None:
    r = httpx.patch(
        f"{stack.api}/api/v1/admin/users/{user_id(stack, email)}",
        json=change,
        headers=stack.headers(stack.admin_token),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    for field, value in change.items():
        assert r.json()[field] == value


def cli(stack: Stack, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_URL": stack.db_url, "TSTV_ENV": "production", "JWT_SECRET": "cli-" + "y" * 40}
    run = subprocess.run(
        [sys.executable, "-m", "app.users", *args],
        cwd=BACKEND_DIR,
        env={**os.environ, **env},
        input=(password + "\n") if password is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return run


def _logout(stack: Stack, email: str, token: str) -> None:
    r = httpx.post(f"{stack.api}/api/v1/auth/logout", headers=stack.headers(token), timeout=30)
    assert r.status_code == 204, r.text


def _new_password(stack: Stack, email: str, token: str) -> None:
    body = {"current_password": PASSWORD, "new_password": "another-long-password"}
    r = httpx.post(f"{stack.api}/api/v1/auth/password", json=body, headers=stack.headers(token), timeout=30)
    assert r.status_code == 200, r.text
    fresh = r.json()["access_token"]
    assert me(stack, fresh).status_code == 200  # the answer's token works
    assert sign_in(stack, email, "another-long-password")


def _disable(stack: Stack, email: str, token: str) -> None:
    patch(stack, email, disabled=True)


def _demote(stack: Stack, email: str, token: str) -> None:
    patch(stack, email, role="viewer")


def _cli_disable(stack: Stack, email: str, token: str) -> None:
    run = cli(stack, "disable", email)
    assert run.returncode == 0, run.stderr


def _cli_password(stack: Stack, email: str, token: str) -> None:
    run = cli(stack, "set-password", email, "--password-stdin", password="set-by-the-operator")
    assert run.returncode == 0, run.stderr


ENDING = {
    "logout": _logout,
    "password": _new_password,
    "disable": _disable,
    "role": _demote,
    "cli_disable": _cli_disable,
    "cli_password": _cli_password,
}


@pytest.mark.parametrize("change", list(ENDING))
def test_a_change_ends_the_token_and_its_running_playback(stack: Stack, change: str) -> None:
    role = "admin" if change == "role" else "viewer"
    email = add_user(stack, role=role)
    token = sign_in(stack, email)
    playback = start_playback(stack, token)
    assert (media(stack, playback, token), licence(stack, playback, token)) == (200, 200)
    if role == "admin":
        assert stack.get("/api/v1/admin/users", token).status_code == 200

    ENDING[change](stack, email, token)

    # The very next request: no waiting (on PostgreSQL the change is notified, and a change by this
    # process drops its cache entry itself; the CLI's comes by notification or a read).
    r = me(stack, token)
    assert r.status_code == 401, r.text
    assert media(stack, playback, token) == 401
    assert licence(stack, playback, token) == 401
    if role == "admin":
        assert stack.get("/api/v1/admin/users", token).status_code == 401
    if change in ("disable", "cli_disable"):
        r = httpx.post(
            f"{stack.api}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
        )
        assert (r.status_code, r.json()["detail"]) == (403, "account_disabled")


def test_a_new_password_ends_playbacks_started_before_even_with_the_new_token(stack: Stack) -> None:
    email = add_user(stack)
    token = sign_in(stack, email)
    playback = start_playback(stack, token)
    body = {"current_password": PASSWORD, "new_password": "another-long-password"}
    fresh = httpx.post(
        f"{stack.api}/api/v1/auth/password", json=body, headers=stack.headers(token), timeout=30
    ).json()
    assert media(stack, playback, fresh["access_token"]) == 401  # the playback token's epoch passed
    assert media(stack, start_playback(stack, fresh["access_token"]), fresh["access_token"]) == 200


def test_ending_the_subscription_refuses_playback_but_keeps_the_user_signed_in(stack: Stack) -> None:
    email = add_user(stack)
    token = sign_in(stack, email)
    playback = start_playback(stack, token)
    patch(stack, email, subscription_active=False)
    assert me(stack, token).json()["subscription_active"] is False
    assert media(stack, playback, token) == 403
    assert licence(stack, playback, token) == 403
    r = httpx.get(f"{stack.api}/api/v1/tstv/live/{stack.channel_id}/manifest", headers=stack.headers(token))
    assert (r.status_code, r.json()["detail"]) == (403, "subscription_required")
    patch(stack, email, subscription_active=True)  # and back, at once
    assert media(stack, playback, token) == 200


def test_a_promotion_needs_a_new_sign_in_and_then_works(stack: Stack) -> None:
    email = add_user(stack, subscription=False)
    token = sign_in(stack, email)
    assert stack.get("/api/v1/admin/users", token).status_code == 403
    patch(stack, email, role="admin")
    assert me(stack, token).status_code == 401
    assert stack.get("/api/v1/admin/users", sign_in(stack, email)).status_code == 200


def test_an_operator_cannot_lock_themselves_out_and_unknown_users_are_404(stack: Stack) -> None:
    me_id = me(stack, stack.admin_token).json()["id"]
    url = f"{stack.api}/api/v1/admin/users"
    for change in ({"disabled": True}, {"role": "viewer"}):
        r = httpx.patch(f"{url}/{me_id}", json=change, headers=stack.headers(stack.admin_token))
        assert (r.status_code, r.json()["detail"]) == (409, "own_account")
    r = httpx.patch(
        f"{url}/{uuid.uuid4()}", json={"disabled": True}, headers=stack.headers(stack.admin_token)
    )
    assert (r.status_code, r.json()["detail"]) == (404, "user_not_found")
    assert stack.get("/api/v1/admin/users", stack.viewer_token).status_code == 403


def test_cli_adds_lists_and_refuses_what_it_should(stack: Stack) -> None:
    email = f"cli{secrets.token_hex(3)}@example.com"
    run = cli(
        stack, "add", email, "--role", "viewer", "--subscription", "--password-stdin", password=PASSWORD
    )
    assert run.returncode == 0, run.stderr
    assert sign_in(stack, email)
    listed = cli(stack, "list").stdout
    assert any(line.split("\t")[:3] == [email, "viewer", "subscription"] for line in listed.splitlines())
    again = cli(stack, "add", email, "--role", "viewer", "--password-stdin", password=PASSWORD)
    assert (again.returncode, again.stderr.strip()) == (1, "error: email_taken")
    short = cli(stack, "add", "x" + email, "--password-stdin", password="short")
    assert short.returncode == 1 and "weak_password" in short.stderr
    assert cli(stack, "disable", "nobody@example.com").stderr.strip() == "error: user_not_found"
