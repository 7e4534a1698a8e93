"""The ClearKey KMS: channel keys, W3C licences, raw keys for the playlist key URI, rotation."""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from app.models import DrmKey, User
from app.services.playback import drm_service
from tests.simlive_helpers import add_channel, remove_channels


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _key(client: httpx.AsyncClient, headers: dict[str, str], channel: str = "ch1") -> dict[str, Any]:
    r = await client.get(f"/api/v1/drm/keys/channel/{channel}", headers=headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_channel_key_is_created_once_and_admin_only(
    client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    first = await _key(client, admin_headers)
    assert first["channel_key"] == "ch1" and first["active"] is True
    assert uuid.UUID(first["key_id"]).hex == first["kid_hex"]
    assert len(bytes.fromhex(first["key_value_hex"])) == 16
    assert (await _key(client, admin_headers))["key_id"] == first["key_id"]
    assert (await client.get("/api/v1/drm/keys/channel/ch1")).status_code == 401
    assert (await client.get("/api/v1/drm/keys/channel/ch1", headers=viewer_headers)).status_code == 403
    for bad in ("nope", "CH1", "a" * 40, "%2E%2E"):
        r = await client.get(f"/api/v1/drm/keys/channel/{bad}", headers=admin_headers)
        assert r.status_code == 404, bad


async def test_licence_and_raw_key(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    viewer_headers: dict[str, str],
    nosub_headers: dict[str, str],
) -> None:
    key = await _key(client, admin_headers)
    kid = uuid.UUID(key["key_id"])
    body = {"kids": [b64url(kid.bytes)], "type": "temporary"}

    r = await client.post("/api/v1/drm/license", json=body, headers=viewer_headers)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    jwk = r.json()["keys"]
    assert jwk == [{"kty": "oct", "kid": b64url(kid.bytes), "k": b64url(bytes.fromhex(key["key_value_hex"]))}]
    # EME clients may post the JSON as text or octets.
    r = await client.post(
        "/api/v1/drm/license",
        content=f'{{"kids":["{b64url(kid.bytes)}"],"type":"temporary"}}',
        headers={**viewer_headers, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 200 and r.json()["keys"][0]["kid"] == b64url(kid.bytes)

    assert (await client.post("/api/v1/drm/license", json=body)).status_code == 401
    r = await client.post("/api/v1/drm/license", json=body, headers=nosub_headers)
    assert r.status_code == 403 and r.json()["detail"] == "subscription_required"
    r = await client.post(
        "/api/v1/drm/license", json={"kids": [b64url(uuid.uuid4().bytes)]}, headers=viewer_headers
    )
    assert r.status_code == 404 and r.json()["detail"] == "unknown_kid"
    bads: list[Any] = [
        {"kids": []},
        {"kids": ["!!!"]},
        {"kids": [b64url(b"short")]},
        {"type": "temporary"},
        [1],
    ]
    for bad in bads:
        r = await client.post("/api/v1/drm/license", json=bad, headers=viewer_headers)
        assert r.status_code == 422, bad
    for junk in (b"not json", b"\xdd\xff{", b""):  # found by schemathesis: invalid UTF-8 was a 500
        r = await client.post("/api/v1/drm/license", content=junk, headers=viewer_headers)
        assert r.status_code == 422, junk

    # The raw key for the playlist's EXT-X-KEY URI.
    for form in (kid.hex, str(kid)):
        r = await client.get(f"/api/v1/drm/keys/{form}/raw", headers=viewer_headers)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.content == bytes.fromhex(key["key_value_hex"])
    assert (await client.get(f"/api/v1/drm/keys/{kid.hex}/raw")).status_code == 401
    r = await client.get(f"/api/v1/drm/keys/{kid.hex}/raw", headers=nosub_headers)
    assert r.status_code == 403
    r = await client.get(f"/api/v1/drm/keys/{uuid.uuid4().hex}/raw", headers=viewer_headers)
    assert r.status_code == 404
    r = await client.get("/api/v1/drm/keys/xyz/raw", headers=viewer_headers)
    assert r.status_code == 422


async def test_revoked_subscription_is_refused_with_an_old_token(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    key = await _key(client, admin_headers)
    sm = app.state.db.sessionmaker
    async with sm() as s:
        await s.execute(
            update(User).where(User.email == "viewer@tstv.local").values(subscription_active=False)
        )
        await s.commit()
    try:
        r = await client.get(f"/api/v1/drm/keys/{key['kid_hex']}/raw", headers=viewer_headers)
        assert r.status_code == 403
    finally:
        async with sm() as s:
            await s.execute(
                update(User).where(User.email == "viewer@tstv.local").values(subscription_active=True)
            )
            await s.commit()


async def test_rotation_keeps_old_keys(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    viewer_headers: dict[str, str],
) -> None:
    old = await _key(client, admin_headers, "ch2")
    r = await client.post("/api/v1/admin/drm/ch2/rotate", headers=admin_headers)
    assert r.status_code == 200, r.text
    rot = r.json()
    assert rot["previous_key_id"] == old["key_id"] and rot["key_id"] != old["key_id"]
    assert rot["encoder_restarted"] is False  # ch2's encoder is not running in the tests
    new = await _key(client, admin_headers, "ch2")
    assert new["key_id"] == rot["key_id"]
    # Both keys licensable: older catch-up stays playable.
    kids = [b64url(uuid.UUID(old["key_id"]).bytes), b64url(uuid.UUID(new["key_id"]).bytes)]
    r = await client.post("/api/v1/drm/license", json={"kids": kids}, headers=viewer_headers)
    assert r.status_code == 200 and len(r.json()["keys"]) == 2
    assert (await client.post("/api/v1/admin/drm/ch2/rotate", headers=viewer_headers)).status_code == 403
    assert (await client.post("/api/v1/admin/drm/nope/rotate", headers=admin_headers)).status_code == 404


async def test_concurrent_first_use_creates_one_key(app: FastAPI) -> None:
    sm = app.state.db.sessionmaker
    channel_id = await add_channel(sm, "drmrace", 9301)
    try:

        async def one() -> uuid.UUID:
            async with sm() as session:
                ch = await drm_service.channel_by_key(session, "drmrace")
                assert ch is not None
                return (await drm_service.get_or_create_active_key(session, ch)).key_id

        ids = await asyncio.gather(*(one() for _ in range(8)))
        assert len(set(ids)) == 1
        async with sm() as session:
            n = await session.scalar(
                select(func.count()).select_from(DrmKey).where(DrmKey.channel_id == channel_id, DrmKey.active)
            )
        assert n == 1
    finally:
        await remove_channels(sm, ["drmrace"])


async def test_key_listing_shows_ids_and_dates_never_values_unless_revealed(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    key = "key" + secrets.token_hex(3)
    await add_channel(app.state.db.sessionmaker, key, 7_300_000 + secrets.randbelow(10**6))
    url = f"/api/v1/admin/drm/{key}/keys"
    try:
        r = await client.get(url, headers=admin_headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"channel_key": key, "active": None, "rotated": [], "rotated_total": 0}
        assert (await client.get(url, headers=admin_headers)).json()["active"] is None, (
            "a listing creates none"
        )

        first = await _key(client, admin_headers, key)
        rotations = []
        for _ in range(2):
            r = await client.post(f"/api/v1/admin/drm/{key}/rotate", headers=admin_headers)
            assert r.status_code == 200, r.text
            rotations.append(r.json())

        r = await client.get(url, headers=admin_headers)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        listing = r.json()
        assert first["key_value_hex"] not in r.text
        assert all(k["key_value_hex"] is None for k in [listing["active"], *listing["rotated"]])
        active = listing["active"]
        assert active["key_id"] == rotations[1]["key_id"] and active["active"] is True
        assert active["rotated_at"] is None and 0 <= active["age_seconds"] < 60
        assert uuid.UUID(active["key_id"]).hex == active["kid_hex"]
        assert [k["key_id"] for k in listing["rotated"]] == [rotations[0]["key_id"], first["key_id"]]
        assert listing["rotated_total"] == 2
        for old in listing["rotated"]:
            assert old["active"] is False and old["rotated_at"] and old["expires_at"]
            assert datetime.fromisoformat(old["rotated_at"]) >= datetime.fromisoformat(old["created_at"])

        revealed = (await client.get(url, params={"reveal": "true"}, headers=admin_headers)).json()
        assert (
            revealed["active"]["key_value_hex"] == (await _key(client, admin_headers, key))["key_value_hex"]
        )
        assert revealed["rotated"][-1]["key_value_hex"] == first["key_value_hex"]

        limited = (await client.get(url, params={"limit": 1}, headers=admin_headers)).json()
        assert [k["key_id"] for k in limited["rotated"]] == [rotations[0]["key_id"]]
        assert limited["rotated_total"] == 2
        for query in ({"limit": 0}, {"limit": 201}, {"reveal": "maybe"}):
            r = await client.get(url, params=query, headers=admin_headers)
            assert r.status_code == 422, query
        assert (await client.get(url)).status_code == 401
        r = await client.get(url, params={"reveal": "true"}, headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "admin_required")
    finally:
        await remove_channels(app.state.db.sessionmaker, [key])
    for bad in (key, "nope", "CH1", "%2E%2E"):
        r = await client.get(f"/api/v1/admin/drm/{bad}/keys", headers=admin_headers)
        assert (r.status_code, r.json()["detail"]) == (404, "channel_not_found"), bad
