"""The adaptive bitrate ladder (`ABR_LADDER`): every rung of a real encrypted archive (written by the
encoder's own FFmpeg arguments, `media_factory`) in every playlist form, aligned across rungs, each
decodable with its key; archives from before the ladder (one video rendition) still play; FFmpeg's
own DASH demuxer plays a catch-up MPD of it.

Programmes last 30 s (the loop), so a whole ladder of a programme is encoded in a few seconds.
"""

from __future__ import annotations

import asyncio
import base64
import math
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest
import uvicorn
from fastapi import FastAPI
from lxml import etree
from pydantic import ValidationError

from app.config import Settings
from app.ladder import DEFAULT_LADDER, Rung, parse_ladder
from app.models import Channel, ScheduleEntry
from app.services.archive import archive_layout as layout
from tests.api.test_recordings import record
from tests.archive_factory import create_recorded_channel
from tests.conftest import API
from tests.media_factory import real_ffmpeg, write_encoded_run
from tests.playlist_helpers import get_playlist
from tests.simlive_helpers import poll
from tests.stack import free_port
from tests.xml_paths import xpath

LOOP = 30
SEG = 6
ATTRS = ("bandwidth", "average_bandwidth", "resolution", "frame_rate", "codecs")


@dataclass
class Recorded:
    channel: Channel
    entries: list[ScheduleEntry]


def _boundary(ts: float) -> datetime:
    return datetime.fromtimestamp(math.floor(ts / SEG) * SEG, UTC)


@pytest.fixture(scope="module")
async def past(app: FastAPI) -> Recorded:
    """Three programmes an hour ago: 0 in one run, 1 across a restart (run A's first 12 s, then run
    B, a discontinuity), 2 in run B. Every run has the whole ladder."""
    start = _boundary(datetime.now(UTC).timestamp() - 3600)
    channel, entries = await create_recorded_channel(app, start, LOOP, 3)
    await write_encoded_run(app, channel, start, 2 * LOOP, LOOP, keep=(LOOP + 12) // SEG)
    await write_encoded_run(app, channel, start + timedelta(seconds=LOOP + 12), 2 * LOOP, LOOP)
    return Recorded(channel, entries)


@pytest.fixture(scope="module")
async def now_on_air(app: FastAPI) -> Recorded:
    """Programmes of the last 90 s and the next 60 s, in one run that reaches 60 s ahead (so the
    programme on air has its first part recorded whichever it is when the test asks)."""
    start = _boundary(datetime.now(UTC).timestamp() - 90)
    channel, entries = await create_recorded_channel(app, start, LOOP, 5)
    await write_encoded_run(app, channel, start, 5 * LOOP, LOOP)
    return Recorded(channel, entries)


@pytest.fixture(scope="module")
async def old_archive(app: FastAPI) -> Recorded:
    """An archive from before the ladder: programme 0 and the first 12 s of 1 in a single-rendition
    run (run.json without rungs), the rest of 1 and programme 2 in a run with the whole ladder."""
    start = _boundary(datetime.now(UTC).timestamp() - 2 * 3600)
    channel, entries = await create_recorded_channel(app, start, LOOP, 3)
    base = app.state.settings.ladder[:1]
    await write_encoded_run(app, channel, start, 2 * LOOP, LOOP, keep=(LOOP + 12) // SEG, rungs=base)
    await write_encoded_run(app, channel, start + timedelta(seconds=LOOP + 12), 2 * LOOP, LOOP)
    return Recorded(channel, entries)


@pytest.fixture(scope="module")
async def just_started(app: FastAPI) -> Recorded:
    """A channel whose run has base-rung segments indexed and none yet of its upper rungs: the moment
    after an encoder starts, when the index has seen the base rung's first file a scan before the
    others'."""
    start = _boundary(datetime.now(UTC).timestamp() - 2 * LOOP)
    channel, entries = await create_recorded_channel(app, start, LOOP, 4)
    await write_encoded_run(app, channel, start, 2 * LOOP, LOOP, keep_upper=0)
    return Recorded(channel, entries)


def _catchup(r: Recorded, i: int) -> str:
    return f"{API}/tstv/catchup/{r.channel.id}/manifest?schedule_entry_id={r.entries[i].id}"


async def _variants(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> tuple[m3u8.M3U8, list[m3u8.M3U8]]:
    master = await get_playlist(client, url, headers)
    media = [await get_playlist(client, p.absolute_uri, headers) for p in master.playlists]
    return master, media


def _timeline(playlist: m3u8.M3U8) -> list[tuple[int, float, float, bool, str]]:
    """(media sequence number, programme-date-time, duration, discontinuity, key) of each segment."""
    return [
        (
            playlist.media_sequence + i,
            s.current_program_date_time.timestamp(),
            round(s.duration, 6),
            bool(s.discontinuity),
            s.key.uri if s.key else "",
        )
        for i, s in enumerate(playlist.segments)
    ]


def _assert_ladder(master: m3u8.M3U8, ladder: tuple[Rung, ...]) -> None:
    """The master lists every rung once, by bandwidth ascending, with every attribute measured."""
    infos = [p.stream_info for p in master.playlists]
    assert sorted(inf.resolution for inf in infos) == sorted((r.width, r.height) for r in ladder)
    bandwidths = [inf.bandwidth for inf in infos]
    assert bandwidths == sorted(bandwidths)
    for inf in infos:
        assert all(getattr(inf, a) for a in ATTRS), inf
        assert inf.average_bandwidth <= inf.bandwidth
        assert inf.frame_rate == pytest.approx(25, abs=0.01)
        assert inf.codecs.startswith("avc1.") and inf.codecs.endswith(",mp4a.40.2")
        # The ladder's bitrates are caps (-maxrate): on average what was written is within it + audio.
        rung = next(r for r in ladder if (r.width, r.height) == inf.resolution)
        assert inf.average_bandwidth <= rung.bitrate * 1.1 + 150_000
    rendition_names = [p.uri.split("?")[0].rsplit("/", 1)[1] for p in master.playlists]
    assert len(set(rendition_names)) == len(ladder) and "video.m3u8" in rendition_names


async def _aligned(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> tuple[m3u8.M3U8, list[m3u8.M3U8]]:
    """The master and its rungs' media playlists once they agree (an open playlist grows as time
    passes, so fetches a second apart may differ by the newest segment): poll, do not sleep."""
    got: list[tuple[m3u8.M3U8, list[m3u8.M3U8]]] = []

    async def agree() -> bool:
        master, media = await _variants(client, url, headers)
        got[:] = [(master, media)]
        return all(_timeline(m) == _timeline(media[0]) for m in media) and bool(media[0].segments)

    await poll(agree, 20, f"the rungs of {url} to list the same segments")
    return got[0]


async def test_catchup_master_lists_the_ladder_and_rungs_align_and_decode(
    app: FastAPI, client: httpx.AsyncClient, viewer_headers: dict[str, str], past: Recorded, tmp_path: Path
) -> None:
    ladder = app.state.settings.ladder
    assert len(ladder) == 3, "the default ladder"
    for i in range(3):
        master, media = await _variants(client, _catchup(past, i), viewer_headers)
        _assert_ladder(master, ladder)
        first = _timeline(media[0])
        assert len(first) == LOOP // SEG
        for m in media[1:]:
            assert _timeline(m) == first, "same boundaries, numbers, discontinuities and keys"
            assert m.discontinuity_sequence == media[0].discontinuity_sequence
            assert m.is_endlist and m.playlist_type == "vod"
        assert sum(d for *_, d, _ in first) == (1 if i == 1 else 0)  # the restart inside programme 1
        # Every rung's init segment is its own (one track per rendition, docs/MEDIA.md, M3).
        assert len({m.segments[0].init_section.uri for m in media}) == len(ladder)

    master, media = await _variants(client, _catchup(past, 1), viewer_headers)
    for info, playlist in zip(master.playlists, media, strict=True):
        seconds, size = await _decoded(client, viewer_headers, app, playlist, tmp_path)
        assert seconds == pytest.approx(LOOP, abs=0.5), info.stream_info.resolution
        assert size == info.stream_info.resolution


async def test_live_and_startover_masters_list_the_ladder(
    app: FastAPI, client: httpx.AsyncClient, viewer_headers: dict[str, str], now_on_air: Recorded
) -> None:
    ladder = app.state.settings.ladder
    master, media = await _aligned(
        client, f"{API}/tstv/live/{now_on_air.channel.id}/manifest", viewer_headers
    )
    _assert_ladder(master, ladder)
    assert not media[0].is_endlist and len(media[0].segments) >= 90 // SEG

    now = datetime.now(UTC)
    on_air = next(e for e in now_on_air.entries if e.start_time <= now < e.end_time)
    url = f"{API}/tstv/startover/{now_on_air.channel.id}/manifest?schedule_entry_id={on_air.id}"
    master, media = await _aligned(client, url, viewer_headers)
    _assert_ladder(master, ladder)
    assert media[0].playlist_type == "event"
    assert media[0].segments[0].current_program_date_time == on_air.start_time


async def test_a_rung_not_yet_indexed_is_left_out_of_the_master(
    app: FastAPI, client: httpx.AsyncClient, viewer_headers: dict[str, str], just_started: Recorded
) -> None:
    """Listed, it would be an empty media playlist, and (nothing measured) the lowest bandwidth: the
    variant a player starts on."""
    base = app.state.settings.ladder[0]
    for url in (f"{API}/tstv/live/{just_started.channel.id}/manifest", _catchup(just_started, 0)):
        master, media = await _variants(client, url, viewer_headers)
        assert [p.stream_info.resolution for p in master.playlists] == [(base.width, base.height)], url
        assert master.playlists[0].uri.startswith("manifest/video.m3u8?")
        assert media[0].segments, url


async def test_recording_master_lists_the_ladder(
    app: FastAPI, client: httpx.AsyncClient, viewer_headers: dict[str, str], past: Recorded
) -> None:
    r = await record(client, viewer_headers, past.entries[2].id)
    assert r.status_code == 201, r.text
    master, media = await _variants(client, f"{API}/recordings/{r.json()['id']}/manifest", viewer_headers)
    _assert_ladder(master, app.state.settings.ladder)
    assert all(_timeline(m) == _timeline(media[0]) for m in media) and len(media[0].segments) == LOOP // SEG


async def test_an_archive_from_before_the_ladder_still_plays(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    old_archive: Recorded,
    tmp_path: Path,
) -> None:
    old_run = layout.read_run_info(
        next(
            d
            for d in (app.state.settings.hls_segment_dir / old_archive.channel.cdn_channel_key).iterdir()
            if layout.read_run_info(d) and not layout.read_run_info(d).rungs  # type: ignore[union-attr]
        )
    )
    assert old_run is not None and "rungs" not in old_run.to_json()
    base = app.state.settings.ladder[0]
    # Programme 0: only the old run; programme 1: old run then a ladder run (only the base rung is in
    # both, so only it is listed: an upper rung would have a hole where the old run plays).
    for i in (0, 1):
        master, media = await _variants(client, _catchup(old_archive, i), viewer_headers)
        assert [p.stream_info.resolution for p in master.playlists] == [(base.width, base.height)]
        assert master.playlists[0].uri.startswith("manifest/video.m3u8?")
        assert len(media[0].segments) == LOOP // SEG
        seconds, _ = await _decoded(client, viewer_headers, app, media[0], tmp_path)
        assert seconds == pytest.approx(LOOP, abs=0.5)
    # Programme 2 lies in the ladder run alone: every rung.
    master, _ = await _variants(client, _catchup(old_archive, 2), viewer_headers)
    _assert_ladder(master, app.state.settings.ladder)


async def test_unknown_rung_is_a_clear_404_and_a_malformed_one_422(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], past: Recorded
) -> None:
    master = await get_playlist(client, _catchup(past, 0), viewer_headers)
    query = master.playlists[0].uri.split("?", 1)[1]
    base = f"{API}/tstv/catchup/{past.channel.id}/manifest"
    r = await client.get(f"{base}/video_4k.m3u8?{query}", headers=viewer_headers)
    assert r.status_code == 404 and r.json()["detail"] == "rendition_not_found"
    r = await client.get(f"{base}/video_..%2f.m3u8?{query}", headers=viewer_headers)
    assert r.status_code in (404, 422)
    r = await client.get(f"{base}/subtitles.m3u8?{query}", headers=viewer_headers)
    assert r.status_code == 422


async def test_ffmpeg_plays_the_catchup_mpd_with_its_key_to_the_programme_length(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    past: Recorded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second DASH client, not ours: FFmpeg's DASH demuxer opens the catch-up MPD over HTTP (the
    app served by uvicorn, whose CDN fallback serves the signed segments by nginx's rules), and
    decodes the programme with the key the MPD's ClearKey licence URL gives."""
    port = free_port()
    monkeypatch.setattr(app.state.settings, "cdn_base_url", f"http://{{host}}:{port}/hls")
    url = f"{_catchup(past, 0)}&format=dash"
    # The key, as a DASH player gets it: the KID from the MPD, the licence from its licence URL.
    mpd = etree.fromstring((await client.get(url, headers=viewer_headers)).content)
    ns = {"m": "urn:mpeg:dash:schema:mpd:2011", "cenc": "urn:mpeg:cenc:2013", "d": "https://dashif.org/CPS"}
    (kid,) = set(xpath(mpd, "//m:ContentProtection/@cenc:default_KID", ns))
    licence = xpath(mpd, "//m:ContentProtection/d:Laurl/text()", ns)[0]
    kid_b64 = base64.urlsafe_b64encode(uuid.UUID(kid).bytes).rstrip(b"=").decode()
    got = await client.post(licence, json={"kids": [kid_b64], "type": "temporary"}, headers=viewer_headers)
    assert got.status_code == 200, got.text
    key = base64.urlsafe_b64decode(got.json()["keys"][0]["k"] + "==").hex()

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:

        async def started() -> bool:
            return server.started

        await poll(started, 10, "uvicorn to listen")
        header = f"Authorization: {viewer_headers['Authorization']}\r\n"
        args = [real_ffmpeg(), "-hide_banner", "-headers", header, "-cenc_decryption_key", key]
        args += ["-i", f"http://127.0.0.1:{port}{url}"]
        out = await asyncio.to_thread(
            subprocess.run,
            [*args, "-map", "0:v:0", "-map", "0:a:0", "-f", "framecrc", "-"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.should_exit = True
        await serving
    assert out.returncode == 0, out.stderr[-800:]
    assert "Input #0, dash, from" in out.stderr, "read by FFmpeg's DASH demuxer"
    video = [ln for ln in out.stdout.splitlines() if ln.startswith("0,")]
    audio = [ln for ln in out.stdout.splitlines() if ln.startswith("1,")]
    assert len(video) / 25 == pytest.approx(LOOP, abs=0.5), "the programme's length of decoded video"
    assert audio, "and its audio"


def test_ladder_setting_parses_and_refuses_bad_values() -> None:
    rungs = parse_ladder(DEFAULT_LADDER)
    assert [(r.name, r.width, r.height, r.bitrate) for r in rungs] == [
        ("360p", 640, 360, 500_000),
        ("540p", 960, 540, 1_200_000),
        ("720p", 1280, 720, 2_500_000),
    ]
    # Order in the setting does not matter; one rung is allowed; M and plain bits per second too.
    assert [r.name for r in parse_ladder("hd:1280x720:2.5M, sd:640x360:400000")] == ["sd", "hd"]
    assert len(parse_ladder("only:640x360:500k")) == 1
    for bad, why in (
        ("", "at least one rung"),
        ("360p:640x360", "name:WIDTHxHEIGHT:BITRATE"),
        ("360p:641x360:500k", "even"),
        ("a:640x360:500k,a:960x540:900k", "distinct"),
        ("a:640x360:500k,b:960x540:500k", "distinct bitrates"),
        ("a:640x360:10k", "50k..50M"),
        ("A B:640x360:500k", "name:WIDTHxHEIGHT:BITRATE"),
    ):
        with pytest.raises(ValidationError, match=why):
            Settings(abr_ladder=bad)


async def _decoded(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    app: FastAPI,
    playlist: m3u8.M3U8,
    tmp: Path,
) -> tuple[float, tuple[int, int]]:
    """Decode a media playlist run by run with each run's key (from the KMS, as a player gets it):
    the decoded video's length in seconds and its frame size."""
    parts: list[tuple[str, str, list[str]]] = []
    for seg in playlist.segments:
        if not parts or seg.discontinuity:
            parts.append((seg.init_section.uri, seg.key.uri, []))
        parts[-1][2].append(seg.uri)
    frames, size = 0, (0, 0)
    for init, key_uri, uris in parts:
        key = await client.get(key_uri, headers=headers)
        assert key.status_code == 200 and len(key.content) == 16
        path = tmp / f"part-{uuid.uuid4().hex}.mp4"
        # Through the signed URLs, from the backend's CDN fallback (nginx's rules: test_cdn).
        files = [await client.get(u) for u in [init, *uris]]
        assert all(f.status_code == 200 for f in files), [f.status_code for f in files]
        path.write_bytes(b"".join(f.content for f in files))
        args = [real_ffmpeg(), "-hide_banner", "-decryption_key", key.content.hex(), "-i", str(path)]
        out = await asyncio.to_thread(
            subprocess.run, [*args, "-map", "0:v", "-f", "framecrc", "-"], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr[-500:]
        frames += sum(1 for line in out.stdout.splitlines() if line and not line.startswith("#"))
        size = _frame_size(out.stderr)
    return frames / 25, size


def _frame_size(stderr: str) -> tuple[int, int]:
    line: Any = next(ln for ln in stderr.splitlines() if "Video:" in ln)
    for token in line.replace(",", " ").split():
        w, _, h = token.partition("x")
        if w.isdigit() and h.isdigit():
            return int(w), int(h)
    raise AssertionError(line)
