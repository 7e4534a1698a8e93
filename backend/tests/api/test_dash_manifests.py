"""MPEG-DASH (`?format=dash`) from a synthetic archive in the real on-disk layout (no FFmpeg): the
MPD of every form, its Periods, keys, licence URL and segment timeline, and the same refusals as
the HLS routes. Real players read these MPDs in tests/web/test_web_player.py (Shaka) and
tests/media/test_ladder.py (FFmpeg's DASH demuxer).

The timeline (seconds after T0, programmes of 60 s), as in tests/api/test_playlists.py:
  run A  [0, 150)    programmes 0, 1 and the first half of 2
  gap    [150, 162)  encoder down
  run B  [162, 400)  rest of 2, then 3..5, and 6 up to 400 (key rotated: another KID)
"""

from __future__ import annotations

import base64
import math
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from lxml import etree
from mpd_inspector import MPDInspector, MPDParser

from app.config import Settings
from app.models import Profile, ScheduleEntry, User
from app.services.accounts.auth_service import hash_password
from app.services.archive.archive_layout import RunInfo
from app.services.playback.dash_manifest import CENC_SCHEME, CLEARKEY_SCHEME, uuid_text
from tests.archive_factory import create_recorded_channel, write_run
from tests.conftest import DEMO_PASSWORD, login
from tests.playlist_helpers import ArchiveChannel, create_channel, media_playlists
from tests.xml_paths import xpath

PROG = 60
NS = {
    "mpd": "urn:mpeg:dash:schema:mpd:2011",
    "cenc": "urn:mpeg:cenc:2013",
    "dashif": "https://dashif.org/CPS",
}
MPD_TYPE = "application/dash+xml"


@pytest.fixture(scope="module")
def t0() -> datetime:
    now = datetime.now(UTC).timestamp()
    return datetime.fromtimestamp(math.floor(now / 600) * 600 - 3 * 3600, UTC)


@pytest.fixture(scope="module")
async def archive(app: FastAPI, settings: Settings, t0: datetime) -> tuple[ArchiveChannel, RunInfo, RunInfo]:
    ch = await create_channel(app, t0, PROG, 12)
    root = settings.hls_segment_dir
    run_a = write_run(root, ch.key, t0, t0 + timedelta(seconds=150), kid=secrets.token_hex(16))
    run_b = write_run(
        root, ch.key, t0 + timedelta(seconds=162), t0 + timedelta(seconds=400), kid=secrets.token_hex(16)
    )
    app.state.archive.rescan_channel(ch.key)
    return ch, run_a, run_b


def _url(ch: ArchiveChannel, mode: str, entry: int | None = None, fmt: str = "dash") -> str:
    base = f"/api/v1/tstv/{mode}/{ch.channel.id}/manifest?format={fmt}"
    return base if entry is None else f"{base}&schedule_entry_id={ch.entries[entry].id}"


class Mpd:
    """A fetched MPD: its XML and what the tests read from it."""

    def __init__(self, url: str, response: httpx.Response) -> None:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(MPD_TYPE)
        self.url = url
        self.text = response.text
        self.root = etree.fromstring(response.content)
        assert self.root.tag == f"{{{NS['mpd']}}}MPD"
        # mpd-inspector (a DASH MPD parser and DASH-IF inspector from PyPI) reads it too.
        self.inspected = MPDInspector(MPDParser.from_string(self.text))

    def find(self, path: str) -> list[Any]:
        return xpath(self.root, path, NS)

    @property
    def type(self) -> str:
        return str(self.root.get("type"))

    def periods(self) -> list[Any]:
        return self.find("mpd:Period")

    def durations(self, period: Any, rendition: str = "video") -> list[float]:
        """The segment durations of a Representation, in seconds, from its SegmentTimeline."""
        (seg_list,) = period.xpath(
            f"mpd:AdaptationSet/mpd:Representation[@id='{rendition}']/mpd:SegmentList", namespaces=NS
        )
        scale = int(seg_list.get("timescale"))
        out: list[float] = []
        for s in xpath(seg_list, "mpd:SegmentTimeline/mpd:S", NS):
            out += [int(s.get("d")) / scale] * (int(s.get("r", "0")) + 1)
        return out

    def segment_urls(self, period: Any, rendition: str = "video") -> list[str]:
        return [
            str(u)
            for u in period.xpath(
                f"mpd:AdaptationSet/mpd:Representation[@id='{rendition}']/mpd:SegmentList/mpd:SegmentURL/@media",
                namespaces=NS,
            )
        ]

    def kids(self, period: Any) -> set[str]:
        return {str(k) for k in xpath(period, ".//mpd:ContentProtection/@cenc:default_KID", NS)}

    def licence_urls(self) -> set[str]:
        path = f".//mpd:ContentProtection[@schemeIdUri='{CLEARKEY_SCHEME}']/dashif:Laurl/text()"
        return {str(u) for u in self.find(path)}

    def location(self) -> str | None:
        found = self.find("mpd:Location/text()")
        return urljoin(self.url, str(found[0])) if found else None


async def _mpd(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Mpd:
    return Mpd(f"http://test{url}" if url.startswith("/") else url, await client.get(url, headers=headers))


def _pb(url: str) -> str:
    return parse_qs(urlsplit(url).query)["pb"][0]


async def test_catchup_is_a_static_mpd_of_the_hls_segments(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    archive: Any,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    ch, run_a, _ = archive
    frozen_clock(t0 + timedelta(seconds=700))
    mpd = await _mpd(client, _url(ch, "catchup", 0), viewer_headers)
    assert mpd.type == "static" and mpd.root.get("mediaPresentationDuration") == "PT60S"
    assert datetime.fromisoformat(str(mpd.root.get("availabilityStartTime"))) == t0
    assert mpd.root.get("minimumUpdatePeriod") is None and not mpd.find("mpd:Location")
    (period,) = mpd.periods()
    assert period.get("start") == "PT0S"
    sets = {a.get("contentType"): a for a in xpath(period, "mpd:AdaptationSet", NS)}
    assert set(sets) == {"video", "audio"}
    for rendition in ("video", "audio"):
        assert sum(mpd.durations(period, rendition)) == pytest.approx(PROG)
        assert len(mpd.segment_urls(period, rendition)) == PROG // 6
    # Keys: the CENC default KID of the run, and ClearKey with the licence URL under a playback token.
    assert mpd.kids(period) == {uuid_text(run_a.kid)}
    schemes = xpath(period, "mpd:AdaptationSet[1]/mpd:ContentProtection/@schemeIdUri", NS)
    assert schemes == [CENC_SCHEME, CLEARKEY_SCHEME]
    (licence,) = mpd.licence_urls()
    assert licence.startswith("http://test/api/v1/drm/license?pb=")
    laurls = mpd.find(".//mpd:ContentProtection/*[local-name()='Laurl']")
    assert len(laurls) == 4 and mpd.text.count(_pb(licence)) == 4, "the token: in the licence URLs only"
    # The MPD again under its playback token: a started playback, cacheable like a media playlist.
    again = await client.get(_url(ch, "catchup", 0) + f"&pb={_pb(licence)}", headers=viewer_headers)
    assert again.status_code == 200 and again.headers["cache-control"] == "private, max-age=30"
    assert again.text == mpd.text
    # The same CDN URLs, signed the same way, as the HLS media playlists of the same programme.
    _, hls = await media_playlists(client, _url(ch, "catchup", 0, "hls"), viewer_headers)
    assert mpd.segment_urls(period) == [s.uri for s in hls["video"].segments]
    assert mpd.segment_urls(period, "audio") == [s.uri for s in hls["audio"].segments]
    init = xpath(period, ".//mpd:Representation[@id='video']//mpd:Initialization/@sourceURL", NS)
    assert init == [hls["video"].segments[0].init_section.uri]
    # mpd-inspector reads the same presentation.
    assert mpd.inspected.is_vod() and mpd.inspected.availability_start_time == t0
    (ip,) = mpd.inspected.periods
    assert ip.start_time == timedelta(0) and ip.duration == timedelta(seconds=PROG)


async def test_a_restart_and_a_key_rotation_start_a_new_period(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    archive: Any,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    ch, run_a, run_b = archive
    frozen_clock(t0 + timedelta(seconds=700))
    mpd = await _mpd(client, _url(ch, "catchup", 2), viewer_headers)
    first, second = mpd.periods()
    # 120..150 from run A, 162..180 from run B: the hole stays a hole of the timeline.
    assert (first.get("start"), second.get("start")) == ("PT0S", "PT42S")
    assert first.get("id") != second.get("id")
    assert mpd.kids(first) == {uuid_text(run_a.kid)} and mpd.kids(second) == {uuid_text(run_b.kid)}
    for rendition in ("video", "audio"):
        assert [sum(mpd.durations(p, rendition)) for p in (first, second)] == pytest.approx([30, 18])
    # Each Period's timeline starts at its first segment's place on its run's media timeline.
    (t,) = xpath(second, ".//mpd:Representation[@id='video']//mpd:S[1]/@t", NS)
    (pto,) = xpath(second, ".//mpd:Representation[@id='video']/mpd:SegmentList/@presentationTimeOffset", NS)
    assert int(t) == int(pto) == 0  # run B's first segment
    (t,) = xpath(first, ".//mpd:Representation[@id='video']//mpd:S[1]/@t", NS)
    assert int(t) == 120_000_000


async def test_startover_is_dynamic_and_its_updates_continue_the_playback(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    archive: Any,
    app: FastAPI,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    ch, *_ = archive
    frozen_clock(t0 + timedelta(seconds=200))  # programme 3 (180..240) is on air
    mpd = await _mpd(client, _url(ch, "startover", 3), viewer_headers)
    assert mpd.type == "dynamic"
    assert datetime.fromisoformat(str(mpd.root.get("availabilityStartTime"))) == t0 + timedelta(seconds=180)
    assert mpd.root.get("minimumUpdatePeriod") == "PT6S"
    assert mpd.root.get("suggestedPresentationDelay") == "PT18S"
    assert mpd.root.get("mediaPresentationDuration") is None
    (period,) = mpd.periods()
    assert sum(mpd.durations(period)) == pytest.approx(24)
    location = mpd.location()
    assert location is not None
    (licence,) = mpd.licence_urls()
    assert _pb(location) == _pb(licence)
    assert parse_qs(urlsplit(location).query)["format"] == ["dash"]

    frozen_clock(t0 + timedelta(seconds=215))
    update = await _mpd(client, location, viewer_headers)
    (period,) = update.periods()
    assert sum(update.durations(period)) == pytest.approx(36) and period.get("start") == "PT0S"
    assert update.root.get("availabilityStartTime") == mpd.root.get("availabilityStartTime")

    # Rights revoked: the started playback's updates go on, a new playback is refused.
    await _set_entry(app, ch.entries[3].id, startover_eligible=False)
    try:
        assert (await client.get(location, headers=viewer_headers)).status_code == 200
        r = await client.get(_url(ch, "startover", 3), headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "startover_not_allowed")
        other = await login(client, "admin@tstv.local")
        assert (await client.get(location, headers=other)).status_code == 403, "the token is its viewer's"
    finally:
        await _set_entry(app, ch.entries[3].id, startover_eligible=True)

    frozen_clock(t0 + timedelta(seconds=250))  # ended and recorded: the presentation closes
    closed = await _mpd(client, location, viewer_headers)
    assert closed.type == "static" and closed.root.get("mediaPresentationDuration") == "PT60S"


async def test_live_keeps_its_periods_as_the_window_slides(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    archive: Any,
    settings: Settings,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    ch, run_a, run_b = archive
    frozen_clock(t0 + timedelta(seconds=300))
    mpd = await _mpd(client, _url(ch, "live"), viewer_headers)
    assert mpd.type == "dynamic" and mpd.root.get("availabilityStartTime") == "1970-01-01T00:00:00.000Z"
    assert mpd.root.get("timeShiftBufferDepth") == f"PT{settings.live_window_minutes * 60}S"
    first, second = mpd.periods()
    assert mpd.kids(first) == {uuid_text(run_a.kid)} and mpd.kids(second) == {uuid_text(run_b.kid)}
    assert first.get("start") == f"PT{int(t0.timestamp())}S"
    assert mpd.inspected.is_live()
    assert [p.start_time for p in mpd.inspected.periods] == [t0, t0 + timedelta(seconds=162)]
    assert sum(mpd.durations(second)) == pytest.approx(300 - 162)  # up to now

    # Half a minute later than a whole window: the first segments have slid out, the Period stays.
    frozen_clock(t0 + timedelta(seconds=settings.live_window_minutes * 60 + 30))
    slid = await _mpd(client, _url(ch, "live"), viewer_headers)
    again = slid.periods()[0]
    assert (again.get("id"), again.get("start")) == (first.get("id"), first.get("start"))
    (t,) = xpath(again, ".//mpd:Representation[@id='video']//mpd:S[1]/@t", NS)
    assert int(t) == 30_000_000, "the first segment left is 30 s into its run"


async def test_a_recording_is_a_static_mpd_and_its_licence_gives_the_keys(
    client: httpx.AsyncClient, app: FastAPI, frozen_clock: Callable[[Any], None]
) -> None:
    start = datetime.fromtimestamp(math.floor(datetime.now(UTC).timestamp() / 60) * 60 - 3600, UTC)
    _, entries = await create_recorded_channel(app, start, PROG, 3, recorded=(0, 3), keyed=True)
    frozen_clock(start + timedelta(seconds=3 * PROG + 30))
    viewer = await _new_viewer(app, client)
    r = await client.post(
        "/api/v1/recordings", json={"schedule_entry_id": str(entries[1].id)}, headers=viewer
    )
    assert r.status_code == 201, r.text
    mpd = await _mpd(client, f"/api/v1/recordings/{r.json()['id']}/manifest?format=dash", viewer)
    assert mpd.type == "static" and mpd.root.get("mediaPresentationDuration") == "PT60S"
    (period,) = mpd.periods()
    (kid,) = mpd.kids(period)
    (licence,) = mpd.licence_urls()
    body = {
        "kids": [base64.urlsafe_b64encode(uuid.UUID(kid).bytes).rstrip(b"=").decode()],
        "type": "temporary",
    }
    got = await client.post(licence, json=body, headers=viewer)
    assert got.status_code == 200, got.text
    assert [k["kid"] for k in got.json()["keys"]] == body["kids"]
    # The same licence without the MPD's playback token is refused, as for HLS.
    bare = await client.post(licence.split("?")[0], json=body, headers=viewer)
    assert (bare.status_code, bare.json()["detail"]) == (403, "playback_token_required")


async def test_refusals_are_the_hls_routes_own(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    nosub_headers: dict[str, str],
    archive: Any,
    t0: datetime,
    frozen_clock: Callable[[Any], None],
) -> None:
    ch, *_ = archive
    frozen_clock(t0 + timedelta(seconds=200))
    cases: list[tuple[str, dict[str, str]]] = [
        (_url(ch, "catchup", 3), viewer_headers),  # 403 catchup_not_available_yet
        (_url(ch, "catchup", 1), nosub_headers),  # 403 subscription_required
        (_url(ch, "catchup", 8), viewer_headers),  # 404 not_recorded
        (_url(ch, "startover", 1), viewer_headers),  # 403: not on air
        (
            f"/api/v1/tstv/catchup/{uuid.uuid4()}/manifest?format=dash&schedule_entry_id={ch.entries[0].id}",
            viewer_headers,
        ),
        (
            f"/api/v1/tstv/catchup/{ch.channel.id}/manifest?format=dash&schedule_entry_id={uuid.uuid4()}",
            viewer_headers,
        ),
        (f"/api/v1/tstv/live/{uuid.uuid4()}/manifest?format=dash", viewer_headers),
        (f"/api/v1/recordings/{uuid.uuid4()}/manifest?format=dash", viewer_headers),
        (_url(ch, "catchup", 0), {}),  # 401
        (_url(ch, "catchup", 0) + "&pb=not-a-token", {}),  # 401 still
    ]
    for dash_url, headers in cases:
        dash = await client.get(dash_url, headers=headers)
        hls = await client.get(dash_url.replace("format=dash", "format=hls"), headers=headers)
        assert dash.status_code >= 400 and (dash.status_code, dash.json()) == (hls.status_code, hls.json()), (
            dash_url
        )
    # A bad token is new playback, judged by the rights as if there were none.
    r = await client.get(_url(ch, "catchup", 1) + "&pb=not-a-token", headers=viewer_headers)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    bad = await client.get(
        _url(ch, "catchup", 1).replace("format=dash", "format=smil"), headers=viewer_headers
    )
    assert bad.status_code == 422 and "format" in str(bad.json()["detail"])


async def _set_entry(app: FastAPI, entry_id: uuid.UUID, **values: Any) -> None:
    async with app.state.db.sessionmaker() as session:
        entry = await session.get(ScheduleEntry, entry_id)
        assert entry is not None
        for k, v in values.items():
            setattr(entry, k, v)
        await session.commit()


async def _new_viewer(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    email = f"dash-{secrets.token_hex(4)}@tstv.local"
    async with app.state.db.sessionmaker() as session:
        user = User(
            email=email, password_hash=hash_password(DEMO_PASSWORD), role="viewer", subscription_active=True
        )
        session.add(user)
        await session.flush()
        session.add(Profile(user_id=user.id, name="Main", is_default=True))
        await session.commit()
    return await login(client, email)
