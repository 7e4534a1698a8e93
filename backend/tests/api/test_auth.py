from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest

from app.config import Settings
from app.main import create_app
from tests.conftest import DEMO_PASSWORD, login, make_settings


async def test_login_returns_token_with_claims(client: httpx.AsyncClient, settings: Settings) -> None:
    r = await client.post(
        "/api/v1/auth/login", json={"email": "viewer@tstv.local", "password": DEMO_PASSWORD}
    )
    assert r.status_code == 200
    body = r.json()
    claims = jwt.decode(body["access_token"], settings.jwt_secret, algorithms=["HS256"])
    assert claims["role"] == "viewer"
    assert claims["sub_active"] is True
    assert uuid.UUID(claims["sub"]) and uuid.UUID(claims["profile_id"])
    assert claims["exp"] > claims["iat"]
    assert body["token_type"] == "bearer"


async def test_me_and_profiles(client: httpx.AsyncClient, viewer_headers: dict[str, str]) -> None:
    me = (await client.get("/api/v1/auth/me", headers=viewer_headers)).json()
    assert me["email"] == "viewer@tstv.local"
    assert me["subscription_active"] is True
    profiles = (await client.get("/api/v1/profiles", headers=viewer_headers)).json()["profiles"]
    assert [p["id"] for p in profiles] == [me["profile_id"]]
    assert profiles[0]["is_default"] is True


async def test_nosub_and_admin_claims(client: httpx.AsyncClient, settings: Settings) -> None:
    for email, role, sub in (("nosub@tstv.local", "viewer", False), ("admin@tstv.local", "admin", True)):
        headers = await login(client, email)
        token = headers["Authorization"].split()[1]
        claims = jwt.decode(token, settings.jwt_secret, algorithms=["HS256"])
        assert (claims["role"], claims["sub_active"]) == (role, sub)


async def test_unknown_email_and_wrong_password_look_the_same(client: httpx.AsyncClient) -> None:
    a = await client.post("/api/v1/auth/login", json={"email": "ghost@tstv.local", "password": "x"})
    b = await client.post("/api/v1/auth/login", json={"email": "viewer@tstv.local", "password": "wrong"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json() == {"detail": "invalid_credentials"}


async def test_more_than_ten_failures_per_minute_get_429(client: httpx.AsyncClient) -> None:
    email = f"throttle-{uuid.uuid4().hex[:8]}@tstv.local"
    codes = [
        (await client.post("/api/v1/auth/login", json={"email": email, "password": "bad"})).status_code
        for _ in range(12)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    # Other e-mails are not affected.
    assert (
        await client.post(
            "/api/v1/auth/login", json={"email": "viewer@tstv.local", "password": DEMO_PASSWORD}
        )
    ).status_code == 200


def _forge(payload: dict[str, object], secret: str, alg: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=alg)


def _alg_none(payload: dict[str, object]) -> str:
    def b64(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."


@pytest.mark.parametrize("kind", ["missing", "garbage", "expired", "forged", "alg_none", "wrong_scheme"])
async def test_bad_tokens_get_401(client: httpx.AsyncClient, settings: Settings, kind: str) -> None:
    me = (await client.get("/api/v1/auth/me", headers=await login(client, "viewer@tstv.local"))).json()
    payload: dict[str, object] = {
        "sub": me["id"],
        "role": "admin",
        "profile_id": me["profile_id"],
        "sub_active": True,
        "iat": int(datetime.now(UTC).timestamp()),
        "exp": int((datetime.now(UTC) + timedelta(hours=1)).timestamp()),
    }
    headers = {
        "missing": {},
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "expired": {
            "Authorization": "Bearer "
            + _forge(
                {**payload, "exp": int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())},
                settings.jwt_secret,
            )
        },
        "forged": {"Authorization": "Bearer " + _forge(payload, "another-secret-" + "y" * 40)},
        "alg_none": {"Authorization": "Bearer " + _alg_none(payload)},
        "wrong_scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    }[kind]
    r = await client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["detail"] in {"not_authenticated", "invalid_token"}


def test_short_jwt_secret_refused_outside_development() -> None:
    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings(tstv_env="production", jwt_secret="short")
    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings(tstv_env="production")
    assert Settings(tstv_env="production", jwt_secret="z" * 32).jwt_secret == "z" * 32
    assert len(Settings(tstv_env="development").jwt_secret) >= 32


async def test_api_replicas_count_failed_logins_together(database_url: str, tmp_path: Path) -> None:
    """Two TSTV_ROLE=api apps on one database: failures through either count for both."""
    apps = [create_app(make_settings(database_url, tmp_path / f"hls{i}", tstv_role="api")) for i in range(2)]
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for a in apps:
            await stack.enter_async_context(a.router.lifespan_context(a))
            transport = httpx.ASGITransport(app=a)
            clients.append(
                await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://t"))
            )
        email = f"replicas-{uuid.uuid4().hex[:8]}@tstv.local"
        codes = []
        for i in range(12):
            r = await clients[i % 2].post("/api/v1/auth/login", json={"email": email, "password": "wrong"})
            codes.append(r.status_code)
        assert codes[:10] == [401] * 10 and codes[10:] == [429, 429], codes


async def test_user_state_is_cached_and_a_change_on_one_replica_reaches_the_other(
    database_url: str, tmp_path: Path
) -> None:
    """Two TSTV_ROLE=api apps on one database: a user's state is read once per replica while
    PostgreSQL notifies changes, and an operator's change through replica A drops replica B's
    entry as soon as the notification arrives."""
    from app.services.accounts import accounts
    from app.services.accounts.user_state import UserStateCache

    apps = [create_app(make_settings(database_url, tmp_path / f"r{i}", tstv_role="api")) for i in range(2)]
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for replica in apps:
            await stack.enter_async_context(replica.router.lifespan_context(replica))
            transport = httpx.ASGITransport(app=replica)
            clients.append(
                await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://t"))
            )
        email = f"cached-{uuid.uuid4().hex[:8]}@example.com"
        async with apps[0].state.db.sessionmaker() as session:
            user = await accounts.add_user(session, email, "a-long-password", "viewer", True)
        a, b = clients
        headers = await login(b, email, "a-long-password")
        admin = await login(a, "admin@tstv.local")
        cache: UserStateCache = apps[1].state.user_states
        for _ in range(100):  # the listener subscribes in the background: then B caches
            if apps[1].state.catalogue_feed.subscribed:
                break
            await asyncio.sleep(0.05)
        assert (await b.get("/api/v1/auth/me", headers=headers)).status_code == 200
        reads = cache.reads
        for _ in range(5):
            assert (await b.get("/api/v1/auth/me", headers=headers)).status_code == 200
        assert cache.reads == reads  # served from B's cache

        r = await a.patch(f"/api/v1/admin/users/{user.id}", json={"disabled": True}, headers=admin)
        assert r.status_code == 200, r.text
        deadline = asyncio.get_running_loop().time() + 2
        while (status := (await b.get("/api/v1/auth/me", headers=headers)).status_code) == 200:
            assert asyncio.get_running_loop().time() < deadline, "replica B still accepts the token"
            await asyncio.sleep(0.01)
        assert status == 401
