"""The ClearKey KMS: channel keys, W3C licences, raw keys for the playlist key URI, rotation."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from app.config import Settings
from app.models import DrmKey, ScheduleEntry, User
from app.services.archive import content_keys
from tests.archive_factory import write_run
from tests.playlist_helpers import ArchiveChannel, create_channel, get_playlist, media_playlists
from tests.simlive_helpers import add_channel, remove_channels

PROG = 60


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


@dataclass
class Keyed:
    """Channel A: programmes of 60 s from t0, run 1 [0, 150) under key 1, then the key rotated and
    run 2 [150, 300) under key 2 (programme 2, [120, 180), spans the rotation). Channel B: one run
    under its own key. Both runs' KIDs are real keys of the KMS."""

    a: ArchiveChannel
    b: ArchiveChannel
    key1: DrmKey
    key2: DrmKey
    key_b: DrmKey
    t0: datetime


async def _channel_key(app: FastAPI, channel_key: str, rotate: bool = False) -> DrmKey:
    async with app.state.db.sessionmaker() as session:
        channel = await content_keys.channel_by_key(session, channel_key)
        assert channel is not None
        if rotate:
            return (await content_keys.rotate_key(session, channel))[0]
        return await content_keys.get_or_create_active_key(session, channel)


@pytest.fixture(scope="module")
async def keyed(app: FastAPI, settings: Settings) -> Keyed:
    t0 = datetime.fromtimestamp(math.floor(time.time() / 600) * 600 - 2 * 3600, UTC)
    root = settings.hls_segment_dir
    a = await create_channel(app, t0, PROG, 8)
    b = await create_channel(app, t0, PROG, 8)
    key1 = await _channel_key(app, a.key)
    write_run(root, a.key, t0, t0 + timedelta(seconds=150), kid=key1.key_id.hex)
    key2 = await _channel_key(app, a.key, rotate=True)
    write_run(root, a.key, t0 + timedelta(seconds=150), t0 + timedelta(seconds=300), kid=key2.key_id.hex)
    key_b = await _channel_key(app, b.key)
    write_run(root, b.key, t0, t0 + timedelta(seconds=300), kid=key_b.key_id.hex)
    for ch in (a, b):
        app.state.archive.rescan_channel(ch.key)
    return Keyed(a, b, key1, key2, key_b, t0)


def licence_body(*keys: DrmKey) -> dict[str, Any]:
    return {"kids": [b64url(k.key_id.bytes) for k in keys], "type": "temporary"}


async def playback(
    client: httpx.AsyncClient, ch: ArchiveChannel, entry: int, headers: dict[str, str], mode: str = "catchup"
) -> tuple[str, list[str]]:
    """Start a playback as a player does: (the playback token its media playlists carry, the key
    URIs of its video playlist)."""
    url = f"/api/v1/tstv/{mode}/{ch.channel.id}/manifest?schedule_entry_id={ch.entries[entry].id}"
    master, media = await media_playlists(client, url, headers)
    pb = parse_qs(urlsplit(master.playlists[0].uri).query)["pb"][0]
    return pb, [k.absolute_uri for k in media["video"].keys if k is not None]


async def test_licence_gives_only_the_keys_of_the_programme_played(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], keyed: Keyed
) -> None:
    pb, key_uris = await playback(client, keyed.a, 1, viewer_headers)  # programme 1: key 1 only
    assert all(f"pb={pb}" in u for u in key_uris) and len(key_uris) == 1
    licence = f"/api/v1/drm/license?pb={pb}"
    r = await client.post(licence, json=licence_body(keyed.key1), headers=viewer_headers)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.json()["keys"] == [
        {"kty": "oct", "kid": b64url(keyed.key1.key_id.bytes), "k": b64url(keyed.key1.key_value)}
    ]
    # EME clients may post the JSON as text or octets.
    r = await client.post(
        licence,
        content=json.dumps(licence_body(keyed.key1)),
        headers={**viewer_headers, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 200 and r.json()["keys"][0]["kid"] == b64url(keyed.key1.key_id.bytes)
    # The key after the rotation (another programme), another channel's key, an unknown KID: refused,
    # alone or next to an entitled one.
    for keys in ((keyed.key2,), (keyed.key_b,), (keyed.key1, keyed.key_b)):
        r = await client.post(licence, json=licence_body(*keys), headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "key_not_entitled"), keys
    r = await client.post(licence, json={"kids": [b64url(uuid.uuid4().bytes)]}, headers=viewer_headers)
    assert (r.status_code, r.json()["detail"]) == (403, "key_not_entitled")

    # The raw key of the playlist's key URI (it carries the token), the same rule.
    r = await client.get(key_uris[0], headers=viewer_headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream" and r.content == keyed.key1.key_value
    for form in (keyed.key1.key_id.hex, str(keyed.key1.key_id), b64url(keyed.key1.key_id.bytes)):
        r = await client.get(f"/api/v1/drm/keys/{form}/raw", params={"pb": pb}, headers=viewer_headers)
        assert r.status_code == 200 and r.content == keyed.key1.key_value, form
    for other in (keyed.key2, keyed.key_b):
        r = await client.get(
            f"/api/v1/drm/keys/{other.key_id.hex}/raw", params={"pb": pb}, headers=viewer_headers
        )
        assert (r.status_code, r.json()["detail"]) == (403, "key_not_entitled")


async def test_licence_needs_the_playback_token_of_this_viewer(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    admin_headers: dict[str, str],
    nosub_headers: dict[str, str],
    keyed: Keyed,
) -> None:
    pb, _ = await playback(client, keyed.a, 1, viewer_headers)
    body = licence_body(keyed.key1)
    raw = f"/api/v1/drm/keys/{keyed.key1.key_id.hex}/raw"
    for query in ("", "?pb="):
        r = await client.post(f"/api/v1/drm/license{query}", json=body, headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "playback_token_required")
        r = await client.get(f"{raw}{query}", headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "playback_token_required")
    access = viewer_headers["Authorization"].split()[1]
    admin_pb, _ = await playback(client, keyed.a, 1, admin_headers)
    # Not a playback token, an edited one, another user's: refused.
    for bad in ("junk", access, pb[:-2] + ("AA" if pb[-2:] != "AA" else "BB"), admin_pb):
        r = await client.post("/api/v1/drm/license", params={"pb": bad}, json=body, headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "invalid_playback_token"), bad
        r = await client.get(raw, params={"pb": bad}, headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "invalid_playback_token"), bad
    # The access token is still needed, and a viewer without a subscription gets nothing.
    assert (await client.post("/api/v1/drm/license", params={"pb": pb}, json=body)).status_code == 401
    assert (await client.get(raw, params={"pb": pb})).status_code == 401
    r = await client.post("/api/v1/drm/license", params={"pb": pb}, json=body, headers=nosub_headers)
    assert r.status_code == 403
    bads: list[Any] = [
        {"kids": []},
        {"kids": ["!!!"]},
        {"kids": [b64url(b"short")]},
        {"type": "temporary"},
        [1],
    ]
    for bad in bads:
        r = await client.post("/api/v1/drm/license", params={"pb": pb}, json=bad, headers=viewer_headers)
        assert r.status_code == 422, bad
    for junk in (b"not json", b"\xdd\xff{", b""):  # found by schemathesis: invalid UTF-8 was a 500
        r = await client.post("/api/v1/drm/license", params={"pb": pb}, content=junk, headers=viewer_headers)
        assert r.status_code == 422, junk
    r = await client.get("/api/v1/drm/keys/xyz/raw", params={"pb": pb}, headers=viewer_headers)
    assert r.status_code == 422


async def test_a_programme_across_a_key_rotation_gets_both_keys(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], keyed: Keyed
) -> None:
    pb, key_uris = await playback(client, keyed.a, 2, viewer_headers)  # [120, 180): both runs
    assert len(key_uris) == 2
    r = await client.post(
        "/api/v1/drm/license",
        params={"pb": pb},
        json=licence_body(keyed.key1, keyed.key2),
        headers=viewer_headers,
    )
    assert r.status_code == 200, r.text
    assert [k["kid"] for k in r.json()["keys"]] == [
        b64url(keyed.key1.key_id.bytes),
        b64url(keyed.key2.key_id.bytes),
    ]
    for uri, key in zip(key_uris, (keyed.key1, keyed.key2), strict=True):
        r = await client.get(uri, headers=viewer_headers)
        assert r.status_code == 200 and r.content == key.key_value
    r = await client.post(
        "/api/v1/drm/license", params={"pb": pb}, json=licence_body(keyed.key_b), headers=viewer_headers
    )
    assert (r.status_code, r.json()["detail"]) == (403, "key_not_entitled")


async def test_revoked_rights_and_subscription_stop_the_licence(
    app: FastAPI, client: httpx.AsyncClient, viewer_headers: dict[str, str], keyed: Keyed
) -> None:
    pb, key_uris = await playback(client, keyed.a, 1, viewer_headers)
    body = licence_body(keyed.key1)
    sm = app.state.db.sessionmaker
    entry = keyed.a.entries[1]
    async with sm() as s:
        await s.execute(
            update(ScheduleEntry).where(ScheduleEntry.id == entry.id).values(catchup_eligible=False)
        )
        await s.commit()
    try:
        r = await client.post("/api/v1/drm/license", params={"pb": pb}, json=body, headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "program_not_eligible")
        r = await client.get(key_uris[0], headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "program_not_eligible")
    finally:
        async with sm() as s:
            await s.execute(
                update(ScheduleEntry).where(ScheduleEntry.id == entry.id).values(catchup_eligible=True)
            )
            await s.commit()
    r = await client.post("/api/v1/drm/license", params={"pb": pb}, json=body, headers=viewer_headers)
    assert r.status_code == 200, r.text

    async with sm() as s:
        await s.execute(
            update(User).where(User.email == "viewer@tstv.local").values(subscription_active=False)
        )
        await s.commit()
    try:
        r = await client.post("/api/v1/drm/license", params={"pb": pb}, json=body, headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "subscription_required")
        r = await client.get(key_uris[0], headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "subscription_required")
    finally:
        async with sm() as s:
            await s.execute(
                update(User).where(User.email == "viewer@tstv.local").values(subscription_active=True)
            )
            await s.commit()


async def test_startover_licence_covers_a_key_rotated_after_the_master(
    app: FastAPI, client: httpx.AsyncClient, viewer_headers: dict[str, str], settings: Settings
) -> None:
    """Start-over's range is open up to now: an operator rotating the key mid-programme (a new run
    under a new key) leaves the viewer's token able to license it, and live's token too."""
    now = time.time()
    t0 = datetime.fromtimestamp(math.floor(now / 6) * 6 - 120, UTC)
    ch = await create_channel(app, t0, 600, 2)
    root = settings.hls_segment_dir
    old = await _channel_key(app, ch.key)
    write_run(root, ch.key, t0, t0 + timedelta(seconds=90), kid=old.key_id.hex)
    app.state.archive.rescan_channel(ch.key)
    pb, _ = await playback(client, ch, 0, viewer_headers, mode="startover")
    live = await get_playlist(client, f"/api/v1/tstv/live/{ch.channel.id}/manifest", viewer_headers)
    live_pb = parse_qs(urlsplit(live.playlists[0].uri).query)["pb"][0]

    new = await _channel_key(app, ch.key, rotate=True)
    for token in (pb, live_pb):
        r = await client.post(
            "/api/v1/drm/license", params={"pb": token}, json=licence_body(new), headers=viewer_headers
        )
        assert (r.status_code, r.json()["detail"]) == (403, "key_not_entitled"), "nothing under it yet"
    write_run(root, ch.key, t0 + timedelta(seconds=90), t0 + timedelta(seconds=114), kid=new.key_id.hex)
    app.state.archive.rescan_channel(ch.key)
    for token in (pb, live_pb):
        r = await client.post(
            "/api/v1/drm/license", params={"pb": token}, json=licence_body(old, new), headers=viewer_headers
        )
        assert r.status_code == 200, r.text
        assert len(r.json()["keys"]) == 2


async def test_rotation_keeps_old_keys(
    client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    """Licences of both keys across a rotation: test_a_programme_across_a_key_rotation_gets_both_keys."""
    old = await _key(client, admin_headers, "ch2")
    r = await client.post("/api/v1/admin/drm/ch2/rotate", headers=admin_headers)
    assert r.status_code == 200, r.text
    rot = r.json()
    assert rot["previous_key_id"] == old["key_id"] and rot["key_id"] != old["key_id"]
    assert rot["encoder_restarted"] is False  # ch2's encoder is not running in the tests
    new = await _key(client, admin_headers, "ch2")
    assert new["key_id"] == rot["key_id"]
    listing = (await client.get("/api/v1/admin/drm/ch2/keys", headers=admin_headers)).json()
    assert old["key_id"] in [k["key_id"] for k in listing["rotated"]], "the old key is kept"
    assert (await client.post("/api/v1/admin/drm/ch2/rotate", headers=viewer_headers)).status_code == 403
    assert (await client.post("/api/v1/admin/drm/nope/rotate", headers=admin_headers)).status_code == 404


async def test_concurrent_first_use_creates_one_key(app: FastAPI) -> None:
    sm = app.state.db.sessionmaker
    channel_id = await add_channel(sm, "drmrace", 9301)
    try:

        async def one() -> uuid.UUID:
            async with sm() as session:
                ch = await content_keys.channel_by_key(session, "drmrace")
                assert ch is not None
                return (await content_keys.get_or_create_active_key(session, ch)).key_id

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
