"""GET /metrics: who may read it, that it parses as the Prometheus text format, and that its figures
follow what the platform does (playlists and licences served and refused, HTTP per route template,
encoders and archive per channel)."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from tests.archive_factory import create_recorded_channel, days_ago
from tests.conftest import login, make_settings
from tests.playlist_helpers import media_playlists
from tests.simlive_helpers import remove_channels

TOKEN = "scrape-" + "t" * 32
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
async def metrics_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    application = create_app(
        make_settings(database_url, tmp_path_factory.mktemp("metrics-hls"), metrics_token=TOKEN)
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def mclient(metrics_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=metrics_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def scrape(client: httpx.AsyncClient) -> Samples:
    r = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    out: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_readers(mclient: httpx.AsyncClient) -> None:
    viewer = await login(mclient, "viewer@tstv.local")
    admin = await login(mclient, "admin@tstv.local")
    r = await mclient.get("/metrics")
    assert (r.status_code, r.json()["detail"]) == (401, "not_authenticated")
    for wrong in (
        "Bearer " + TOKEN[:-1] + "x",
        "Bearer " + TOKEN + "x",
        "Bearer non-ascii-\u00e9",
        "Basic " + TOKEN,
    ):
        r = await mclient.get("/metrics", headers={b"Authorization": wrong.encode()})
        assert r.status_code == 401, wrong
    r = await mclient.get("/metrics", headers=viewer)
    assert (r.status_code, r.json()["detail"]) == (403, "admin_required")
    r = await mclient.get("/metrics", headers=admin)
    assert r.status_code == 200 and "tstv_http_requests_total" in r.text
    assert await scrape(mclient)
    assert "/metrics" in (await mclient.get("/api/v1/openapi.json")).json()["paths"]


async def test_encoder_and_archive_metrics_per_channel(
    metrics_app: FastAPI, mclient: httpx.AsyncClient
) -> None:
    channel, _entries = await create_recorded_channel(metrics_app, days_ago(1, 8), 600, 6, recorded=(1, 3))
    key = channel.cdn_channel_key
    assert key
    try:
        samples = await scrape(mclient)
        for ch in ("ch1", "ch2", "ch3", "ch4", "ch5", key):
            assert value(samples, "tstv_encoder_up", channel=ch) == 0, "autostart is off in tests"
            assert value(samples, "tstv_encoder_state", channel=ch, state="stopped") == 1
            assert value(samples, "tstv_encoder_state", channel=ch, state="running") == 0
            assert ("tstv_encoder_restarts_total", (("channel", ch),)) in samples
            assert ("tstv_encoder_segments_written_total", (("channel", ch),)) in samples
        assert value(samples, "tstv_archive_covered_seconds", channel=key) == 1200  # programmes 1 and 2
    finally:
        await remove_channels(metrics_app.state.db.sessionmaker, [key])


async def test_playlists_licences_and_http_are_counted(
    metrics_app: FastAPI, mclient: httpx.AsyncClient
) -> None:
    viewer = await login(mclient, "viewer@tstv.local")
    nosub = await login(mclient, "nosub@tstv.local")
    admin = await login(mclient, "admin@tstv.local")
    channel, entries = await create_recorded_channel(
        metrics_app, days_ago(1, 8), 600, 6, recorded=(1, 3), keyed=True
    )
    key = channel.cdn_channel_key
    assert key
    try:
        before = await scrape(mclient)
        base = f"/api/v1/tstv/catchup/{channel.id}/manifest"
        _, media = await media_playlists(mclient, f"{base}?schedule_entry_id={entries[1].id}", viewer)
        key_uri = media["video"].segments[0].key.absolute_uri
        pb = key_uri.split("pb=", 1)[1]
        r = await mclient.get(base, params={"schedule_entry_id": str(entries[4].id)}, headers=viewer)
        assert (r.status_code, r.json()["detail"]) == (404, "not_recorded")
        r = await mclient.get(base, params={"schedule_entry_id": str(entries[1].id)}, headers=nosub)
        assert (r.status_code, r.json()["detail"]) == (403, "subscription_required")

        kid = uuid.UUID(key_uri.split("/keys/", 1)[1].split("/", 1)[0])
        licence = {"kids": [base64.urlsafe_b64encode(kid.bytes).rstrip(b"=").decode()], "type": "temporary"}
        url = f"/api/v1/drm/license?pb={pb}"
        assert (await mclient.post(url, json=licence, headers=viewer)).status_code == 200
        assert (await mclient.post(url, json=licence, headers=nosub)).status_code == 403  # not nosub's token
        admin_key = (await mclient.get("/api/v1/drm/keys/channel/ch1", headers=admin)).json()["key_id"]
        other = {"kids": [base64.urlsafe_b64encode(uuid.UUID(admin_key).bytes).rstrip(b"=").decode()]}
        assert (await mclient.post(url, json=other, headers=viewer)).status_code == 403  # not in its range
        assert (await mclient.post(url, content=b"{", headers=viewer)).status_code == 422
        assert (await mclient.get(key_uri, headers=viewer)).status_code == 200
        after = await scrape(mclient)
    finally:
        await remove_channels(metrics_app.state.db.sessionmaker, [key])

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("tstv_playlists_served_total", mode="catchup", playlist="master") == 1
    assert moved("tstv_playlists_served_total", mode="catchup", playlist="media") == 2  # video and audio
    assert moved("tstv_playlists_refused_total", mode="catchup", reason="not_recorded") == 1
    assert moved("tstv_playlists_refused_total", mode="catchup", reason="subscription_required") == 1
    assert moved("tstv_playlists_served_total", mode="live", playlist="master") == 0
    assert moved("tstv_licences_served_total", endpoint="license") == 1
    assert moved("tstv_licences_refused_total", endpoint="license", reason="invalid_playback_token") == 1
    assert moved("tstv_licences_refused_total", endpoint="license", reason="key_not_entitled") == 1
    assert moved("tstv_licences_refused_total", endpoint="license", reason="invalid_request") == 1
    assert moved("tstv_licences_served_total", endpoint="raw_key") == 1

    # HTTP: per route template, never the raw path (no ids in any label).
    route = "/api/v1/tstv/catchup/{channel_id}/manifest"
    assert moved("tstv_http_requests_total", method="GET", route=route, status="200") == 1
    assert moved("tstv_http_requests_total", method="GET", route=route, status="404") == 1
    assert moved("tstv_http_requests_total", method="GET", route=route, status="403") == 1
    assert moved("tstv_http_request_duration_seconds_count", method="GET", route=route) == 3
    media_route = "/api/v1/tstv/catchup/{channel_id}/manifest/{rendition}.m3u8"
    assert moved("tstv_http_requests_total", method="GET", route=media_route, status="200") == 2
    assert moved("tstv_http_requests_total", method="POST", route="/api/v1/drm/license", status="200") == 1
    paths = set((await mclient.get("/api/v1/openapi.json")).json()["paths"])
    routes = {dict(labels)["route"] for (name, labels) in after if name == "tstv_http_requests_total"}
    assert route in routes and routes <= paths | {"unmatched", "/{path}"}, routes - paths
    uuid_re = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")
    assert not any(uuid_re.search(str(labels)) for (_name, labels) in after)


async def test_unmatched_and_unknown_methods_stay_bounded(mclient: httpx.AsyncClient) -> None:
    before = await scrape(mclient)
    await mclient.request("BREW", "/api/v1/epg/channels")
    await mclient.options("/api/v1/epg/channels", headers={"Origin": "http://localhost:5173"})
    after = await scrape(mclient)
    names: dict[str, Any] = {}
    for (name, labels), v in after.items():
        if name == "tstv_http_requests_total":
            names[dict(labels)["method"]] = v
    assert "BREW" not in names and "OTHER" in names
    assert (
        value(after, "tstv_http_requests_total", method="OTHER", route="/api/v1/epg/channels", status="405")
        - (
            value(
                before, "tstv_http_requests_total", method="OTHER", route="/api/v1/epg/channels", status="405"
            )
        )
        == 1
    )
