"""IPTV export (docs/PRODUCT.md, 'IPTV export'): a viewer's revocable IPTV links, the M3U and XMLTV
an IPTV player reads with one, and playback with nothing but the URLs the M3U gives (no header, as
an IPTV player asks): catch-up through its `catchup-source` template, keys included.

The channel: four programmes of 10 minutes from yesterday 10:00 UTC, all in the archive under one
content key; odd ones are episodes of a series."""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import m3u8
import pytest
from fastapi import FastAPI
from lxml import etree

from tests.archive_factory import create_recorded_channel, days_ago
from tests.conftest import API, login
from tests.playlist_helpers import ArchiveChannel

PROG = 600
# The XMLTV schema (py-xmltv ships it, converted from the XMLTV project's DTD).
XMLTV_SCHEMA = etree.XMLSchema(
    etree.parse(str(importlib.resources.files("xmltv") / "resources" / "xmltv.xsd"))
)
_ATTR = re.compile(r'([a-z-]+)="([^"]*)"')


@pytest.fixture(scope="module")
async def channel(app: FastAPI) -> ArchiveChannel:
    ch, entries = await create_recorded_channel(app, days_ago(1, 10), PROG, 4, recorded=(0, 4), keyed=True)
    return ArchiveChannel(ch, entries)


@pytest.fixture
async def link(client: httpx.AsyncClient, viewer_headers: dict[str, str]) -> AsyncIterator[dict[str, str]]:
    r = await client.post(f"{API}/iptv/tokens", headers=viewer_headers)
    assert r.status_code == 201, r.text
    yield r.json()
    await client.delete(f"{API}/iptv/tokens/{r.json()['id']}", headers=viewer_headers)


def parse_m3u(text: str) -> tuple[dict[str, str], dict[str, tuple[dict[str, str], list[str], str]]]:
    """The header's attributes, and per `tvg-id`: the `#EXTINF` attributes, `#KODIPROP` lines, URL."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0].startswith("#EXTM3U")
    header = dict(_ATTR.findall(lines[0]))
    channels: dict[str, tuple[dict[str, str], list[str], str]] = {}
    i = 1
    while i < len(lines):
        assert lines[i].startswith("#EXTINF:-1 "), lines[i]
        attrs = dict(_ATTR.findall(lines[i].rsplit(",", 1)[0]))
        props = []
        i += 1
        while lines[i].startswith("#"):
            props.append(lines[i])
            i += 1
        channels[attrs["tvg-id"]] = (attrs, props, lines[i])
        i += 1
    return header, channels


def epoch(t: datetime) -> str:
    return str(int(t.timestamp()))


async def test_a_link_is_created_listed_without_its_secret_and_revoked(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    r = await client.post(f"{API}/iptv/tokens", headers=viewer_headers)
    assert r.status_code == 201
    made = r.json()
    token = made["token"]
    assert len(token) >= 40
    assert made["playlist_url"] == f"http://test{API}/iptv/playlist.m3u?token={token}"
    assert made["epg_url"] == f"http://test{API}/iptv/epg.xml?token={token}"
    listed = (await client.get(f"{API}/iptv/tokens", headers=viewer_headers)).json()["tokens"]
    assert made["id"] in [t["id"] for t in listed]
    assert token not in str(listed)
    assert (await client.get(made["playlist_url"])).status_code == 200
    # Another user cannot revoke it, nor see it.
    other = await login(client, "nosub@tstv.local")
    assert (await client.delete(f"{API}/iptv/tokens/{made['id']}", headers=other)).status_code == 404
    assert (await client.get(f"{API}/iptv/tokens", headers=other)).json()["tokens"] == []
    r = await client.delete(f"{API}/iptv/tokens/{made['id']}", headers=viewer_headers)
    assert r.status_code == 204
    for url in (made["playlist_url"], made["epg_url"]):
        r = await client.get(url)
        assert r.status_code == 401 and r.json() == {"detail": "invalid_iptv_token"}
    assert (await client.get(f"{API}/iptv/playlist.m3u?token=nonsense")).json()[
        "detail"
    ] == "invalid_iptv_token"
    assert (await client.get(f"{API}/iptv/playlist.m3u")).json()["detail"] == "not_authenticated"
    listed = (await client.get(f"{API}/iptv/tokens", headers=viewer_headers)).json()["tokens"]
    assert made["id"] not in [t["id"] for t in listed]
    assert (await client.delete(f"{API}/iptv/tokens/{made['id']}", headers=viewer_headers)).status_code == 404


async def test_an_iptv_token_reaches_no_account_or_admin_route(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    made = (await client.post(f"{API}/iptv/tokens", headers=admin_headers)).json()
    token = made["token"]
    try:
        for path in ("/auth/me", "/iptv/tokens", "/admin/tstv/rules", "/admin/simlive/status", "/profiles"):
            as_query = await client.get(f"{API}{path}", params={"token": token})
            as_bearer = await client.get(f"{API}{path}", headers={"Authorization": f"Bearer {token}"})
            assert (as_query.status_code, as_bearer.status_code) == (401, 401), path
        r = await client.post(f"{API}/iptv/tokens", params={"token": token})
        assert r.status_code == 401
    finally:
        await client.delete(f"{API}/iptv/tokens/{made['id']}", headers=admin_headers)


async def test_without_a_subscription_the_export_is_refused(client: httpx.AsyncClient) -> None:
    headers = await login(client, "nosub@tstv.local")
    made = (await client.post(f"{API}/iptv/tokens", headers=headers)).json()
    try:
        r = await client.get(made["playlist_url"])
        assert r.status_code == 403 and r.json()["detail"] == "subscription_required"
    finally:
        await client.delete(f"{API}/iptv/tokens/{made['id']}", headers=headers)


async def test_the_m3u_lists_the_channel_and_its_catchup_source_plays_a_past_programme(
    client: httpx.AsyncClient, channel: ArchiveChannel, link: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    r = await client.get(link["playlist_url"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("audio/x-mpegurl")
    header, channels = parse_m3u(r.text)
    assert header["url-tvg"] == link["epg_url"]
    attrs, props, live_url = channels[f"{channel.channel.cdn_channel_key}.tstv"]
    assert attrs["tvg-name"] == channel.channel.name
    assert attrs["group-title"]
    assert "tvg-logo" not in attrs  # the test channel has no logo
    assert attrs["catchup"] == "default" and attrs["catchup-days"] == "7"
    assert "#KODIPROP:inputstream.adaptive.license_type=clearkey" in props
    source = attrs["catchup-source"]
    assert "{utc}" in source and "{utcend}" in source
    # The live URL plays without a header.
    live = await client.get(live_url)
    assert live.status_code == 200 and live.text.startswith("#EXTM3U")

    # Kodi fills the template with a programme's start and end (epoch seconds).
    p1 = channel.entries[1]
    url = source.replace("{utc}", epoch(p1.start_time)).replace("{utcend}", epoch(p1.end_time))
    r = await client.get(url)
    assert r.status_code == 200, r.text
    master = m3u8.loads(r.text, uri=url)
    video_url = master.playlists[0].absolute_uri
    assert link["token"] in video_url  # the IPTV token goes on with the playback
    r = await client.get(video_url)
    assert r.status_code == 200, r.text
    media = m3u8.loads(r.text, uri=video_url)
    assert media.is_endlist and sum(s.duration for s in media.segments) == pytest.approx(PROG)
    key = await client.get(media.segments[0].key.absolute_uri)
    assert key.status_code == 200 and len(key.content) == 16

    # Revoked: the playlists and keys of the playback stop at once.
    await client.delete(f"{API}/iptv/tokens/{link['id']}", headers=viewer_headers)
    for asked in (url, video_url, media.segments[0].key.absolute_uri):
        r = await client.get(asked)
        assert r.status_code == 401 and r.json()["detail"] == "invalid_iptv_token", asked


async def test_the_xmltv_guide_is_valid_xmltv_covering_a_week_back_and_ahead_with_series_data(
    client: httpx.AsyncClient, channel: ArchiveChannel, link: dict[str, str]
) -> None:
    r = await client.get(link["epg_url"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    tv = etree.fromstring(r.content)
    assert tv.tag == "tv"
    assert XMLTV_SCHEMA.validate(tv), XMLTV_SCHEMA.error_log
    # The DTD's order: every channel before the first programme.
    tags = [el.tag for el in tv]
    assert tags.index("programme") > max(i for i, t in enumerate(tags) if t == "channel")
    _, channels = parse_m3u((await client.get(link["playlist_url"])).text)
    assert {el.get("id") for el in tv.iter("channel")} == set(channels)
    tvg = f"{channel.channel.cdn_channel_key}.tstv"
    ours = [p for p in tv.iter("programme") if p.get("channel") == tvg]
    assert len(ours) == 4

    def when(el: etree._Element, attr: str) -> datetime:
        return datetime.strptime(el.get(attr) or "", "%Y%m%d%H%M%S %z")

    for el, entry in zip(ours, channel.entries, strict=True):
        assert when(el, "start") == entry.start_time
        assert when(el, "stop") == entry.end_time
        assert el.findtext("category") == "Test"
        if entry.series_title:
            assert el.findtext("title") == "Northern Lights" and el.findtext("sub-title") == entry.title
            assert el.findtext("episode-num[@system='onscreen']") == f"E{entry.episode_number:02d}"
        else:
            assert el.findtext("title") == entry.title and el.find("episode-num") is None
    starts = [when(p, "start") for p in tv.iter("programme")]
    now = datetime.now(UTC)
    assert min(starts) >= now - timedelta(days=7, hours=25) and max(starts) <= now + timedelta(days=7)
