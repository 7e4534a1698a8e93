"""Any time range of a channel's archive as an HLS playlist (docs/PRODUCT.md, 'Time ranges'):
`/tstv/archive/{channel}/manifest?start=&end=`, its rights programme by programme, its bad ranges.

The channel: six programmes of 10 minutes from P0 (yesterday 10:00 UTC), all in the archive under
one content key; the clock is frozen inside the last one (on air) unless a test says otherwise."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import m3u8
import pytest
from fastapi import FastAPI

from app.models import ScheduleEntry
from tests.archive_factory import create_recorded_channel, days_ago
from tests.conftest import API
from tests.playlist_helpers import ArchiveChannel, get_playlist, media_playlists

PROG = 600
Clock = Callable[[Any], None]


@pytest.fixture(scope="module")
async def channel(app: FastAPI) -> ArchiveChannel:
    ch, entries = await create_recorded_channel(app, days_ago(1, 10), PROG, 6, recorded=(0, 6), keyed=True)
    return ArchiveChannel(ch, entries)


@pytest.fixture
def on_air(channel: ArchiveChannel, frozen_clock: Clock) -> datetime:
    """The clock frozen 5 minutes into the last programme."""
    now = channel.entries[5].start_time + timedelta(seconds=300)
    frozen_clock(now)
    return now


def range_url(ch: ArchiveChannel, start: Any, end: Any) -> str:
    return str(httpx.URL(f"{API}/tstv/archive/{ch.channel.id}/manifest", params={"start": start, "end": end}))


def epoch(t: datetime) -> int:
    return int(t.timestamp())


async def _set_entry(app: FastAPI, entry_id: uuid.UUID, **values: Any) -> None:
    async with app.state.db.sessionmaker() as session:
        entry = await session.get(ScheduleEntry, entry_id)
        assert entry is not None
        for k, v in values.items():
            setattr(entry, k, v)
        await session.commit()


def _span(pl: m3u8.M3U8) -> tuple[datetime, datetime]:
    first = pl.segments[0].current_program_date_time
    last = pl.segments[-1]
    return first, last.current_program_date_time + timedelta(seconds=last.duration)


async def test_a_range_across_two_programmes_plays_from_second_n_of_the_first_to_the_end_of_the_second(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], channel: ArchiveChannel, on_air: datetime
) -> None:
    p1, p2 = channel.entries[1], channel.entries[2]
    n = 21  # not on a segment boundary: the playlist starts at the segment holding it, 3 s before
    start = p1.start_time + timedelta(seconds=n)
    master, media = await media_playlists(
        client,
        range_url(channel, start.isoformat().replace("+00:00", "Z"), epoch(p2.end_time)),
        viewer_headers,
    )
    assert len(master.playlists) >= 1 and master.media[0].uri
    for rendition, pl in media.items():
        assert pl.playlist_type == "vod" and pl.is_endlist, rendition
        assert _span(pl) == (p1.start_time + timedelta(seconds=18), p2.end_time), rendition
        assert pl.start is not None and pl.start.time_offset == pytest.approx(3.0), rendition
        assert sum(s.duration for s in pl.segments) == pytest.approx(2 * PROG - 18), rendition
        assert pl.segments[0].key.method == "SAMPLE-AES-CTR"
    # The key URI works under the range's playback token (the licence reads the range's rights).
    key_uri = media["video"].segments[0].key.absolute_uri
    r = await client.get(key_uri, headers=viewer_headers)
    assert r.status_code == 200 and len(r.content) == 16
    # A media playlist asked without a token is new playback of the span its URL names.
    video_url = str(httpx.URL(master.playlists[0].absolute_uri).copy_remove_param("pb"))
    again = await get_playlist(client, video_url, viewer_headers)
    assert _span(again) == _span(media["video"])


async def test_the_last_two_hours_reach_into_the_programme_on_air(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], channel: ArchiveChannel, on_air: datetime
) -> None:
    start = on_air - timedelta(hours=2)
    _, media = await media_playlists(client, range_url(channel, epoch(start), epoch(on_air)), viewer_headers)
    first, last = _span(media["video"])
    # The archive begins at P0 (less than two hours back) and ends where it was written, now.
    assert first == channel.entries[0].start_time
    assert on_air - timedelta(seconds=6) <= last <= on_air


async def test_a_range_touching_a_locked_programme_is_refused_naming_it(
    client: httpx.AsyncClient,
    app: FastAPI,
    viewer_headers: dict[str, str],
    channel: ArchiveChannel,
    on_air: datetime,
) -> None:
    p1, p2, p5 = channel.entries[1], channel.entries[2], channel.entries[5]
    await _set_entry(app, p2.id, catchup_eligible=False)
    await _set_entry(app, p5.id, startover_eligible=False)
    try:
        r = await client.get(
            range_url(channel, epoch(p1.start_time), epoch(p2.start_time) + 1), headers=viewer_headers
        )
        assert r.status_code == 403
        assert r.json() == {"detail": "program_not_eligible", "schedule_entry_id": str(p2.id)}
        # Ending where the locked programme begins does not touch it.
        r = await client.get(
            range_url(channel, epoch(p1.start_time), epoch(p2.start_time)), headers=viewer_headers
        )
        assert r.status_code == 200, r.text
        # The programme on air is played by its start-over rights.
        r = await client.get(range_url(channel, epoch(p5.start_time), epoch(on_air)), headers=viewer_headers)
        assert r.status_code == 403
        assert r.json() == {"detail": "startover_not_allowed", "schedule_entry_id": str(p5.id)}
    finally:
        await _set_entry(app, p2.id, catchup_eligible=True)
        await _set_entry(app, p5.id, startover_eligible=True)


async def test_a_started_range_loses_its_keys_when_a_programme_in_it_is_locked(
    client: httpx.AsyncClient,
    app: FastAPI,
    viewer_headers: dict[str, str],
    channel: ArchiveChannel,
    on_air: datetime,
) -> None:
    p3 = channel.entries[3]
    _, media = await media_playlists(
        client, range_url(channel, epoch(p3.start_time), epoch(p3.end_time)), viewer_headers
    )
    key_uri = media["video"].segments[0].key.absolute_uri
    assert (await client.get(key_uri, headers=viewer_headers)).status_code == 200
    await _set_entry(app, p3.id, catchup_eligible=False)
    try:
        r = await client.get(key_uri, headers=viewer_headers)
        assert r.status_code == 403 and r.json()["detail"] == "program_not_eligible"
    finally:
        await _set_entry(app, p3.id, catchup_eligible=True)


async def test_bad_ranges_are_4xx_with_a_code(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], channel: ArchiveChannel, on_air: datetime
) -> None:
    p1 = channel.entries[1]
    a = epoch(p1.start_time)
    cases: list[tuple[Any, Any, int, str]] = [
        (a + 60, a, 422, "range_reversed"),
        (a, a, 422, "range_empty"),
        (a - 86_400, a + 1, 422, "range_too_long"),
        (epoch(on_air) - 8 * 86_400, epoch(on_air) - 8 * 86_400 + 60, 403, "range_outside_window"),
        (epoch(on_air) - 60, epoch(on_air) + 60, 403, "range_outside_window"),
    ]
    for start, end, status, detail in cases:
        r = await client.get(range_url(channel, start, end), headers=viewer_headers)
        assert r.status_code == status, (start, end, r.text)
        assert r.json()["detail"] == detail, (start, end)
    r = await client.get(range_url(channel, a, a + 60 + 86_400), headers=viewer_headers)
    assert r.json() == {"detail": "range_too_long", "loc": ["query", "end"], "max_seconds": 86_400}
    r = await client.get(range_url(channel, epoch(on_air) - 60, epoch(on_air) + 60), headers=viewer_headers)
    window = r.json()
    assert datetime.fromisoformat(window["window_end"]) == on_air
    assert datetime.fromisoformat(window["window_start"]) == on_air - timedelta(hours=168)
    # Not a time at all, or missing: FastAPI's 422 naming the field.
    r = await client.get(range_url(channel, "yesterday", a), headers=viewer_headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "start"]
    r = await client.get(
        f"{API}/tstv/archive/{channel.channel.id}/manifest?start={a}", headers=viewer_headers
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "end"]
    # An unknown channel, no token, nothing recorded in the range.
    unknown = str(
        httpx.URL(f"{API}/tstv/archive/{uuid.uuid4()}/manifest", params={"start": a, "end": a + 60})
    )
    assert (await client.get(unknown, headers=viewer_headers)).json()["detail"] == "channel_not_found"
    assert (await client.get(range_url(channel, a, a + 60))).status_code == 401
    before = epoch(channel.entries[0].start_time) - 3600
    r = await client.get(range_url(channel, before, before + 60), headers=viewer_headers)
    assert r.status_code == 404 and r.json()["detail"] == "not_recorded"


async def test_times_without_a_zone_are_utc_and_fractions_widen_to_whole_seconds(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], channel: ArchiveChannel, on_air: datetime
) -> None:
    p4 = channel.entries[4]
    naive = p4.start_time.astimezone(UTC).replace(tzinfo=None)
    url = range_url(channel, (naive + timedelta(seconds=6.5)).isoformat(), epoch(p4.end_time) - 0.5)
    _, media = await media_playlists(client, url, viewer_headers)
    pl = media["video"]
    assert _span(pl) == (p4.start_time + timedelta(seconds=6), p4.end_time)
    assert pl.start is not None and pl.start.time_offset == pytest.approx(0.001)


async def test_times_at_the_ends_of_the_calendar_are_422_not_500(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], channel: ArchiveChannel
) -> None:
    for start, end in (
        ("9999-12-31T23:59:58Z", "9999-12-31T23:59:59.5Z"),
        ("0001-01-01T00:00:00+01:00", "0001-01-01T00:10:00+01:00"),
    ):
        r = await client.get(range_url(channel, start, end), headers=viewer_headers)
        assert r.status_code == 422 and r.json()["detail"] == "time_out_of_range", (start, r.text)
    r = await client.get(
        range_url(channel, "0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z"), headers=viewer_headers
    )
    assert r.status_code == 403 and r.json()["detail"] == "range_outside_window"
