"""Backfill (app/services/encoders/backfill.py) against a running platform: real backend, nginx CDN,
PostgreSQL, FFmpeg and Chromium. The test process writes the archive, the running backend serves
it (its index picks new runs up by its poll), exactly as a backfill run from the CLI would.

Programmes last a minute (the loop), segments 6 s, two ladder rungs: a 30-minute backfill is a
few seconds of work.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import insert, select

from app.config import Settings
from app.db import Database, make_engine
from app.models import DrmKey, ScheduleEntry
from app.services.archive import archive_layout as layout
from app.services.encoders.backfill import BackfillResult, backfill_range, plan_fills
from app.services.encoders.sources import GEN_HEIGHT, GEN_WIDTH, decode_marker, marker_filters
from app.services.encoders.staging import STAGING
from tests.browser import chromium, new_viewer, screenshot, sign_in
from tests.conftest import API, BACKEND_DIR
from tests.media_factory import real_ffmpeg
from tests.stack import PASSWORD, Stack, running_stack, wait_until
from tests.web.test_thumbnails_in_chromium import _THUMB_JS, _archive_frame, _differences, _tile

LOOP = 60
SEG = 6
LADDER = "low:320x180:300k,mid:640x360:700k"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("backfill")
    with running_stack(tmp, loop_seconds=LOOP, env={"ABR_LADDER": LADDER}) as s:
        asyncio.run(_past_programmes(s, hours=2))
        yield s


async def _past_programmes(stack: Stack, hours: int) -> None:
    """The stack's schedule starts ten minutes ago: add the programmes of the `hours` before."""
    engine = make_engine(_settings(stack))
    try:
        async with engine.begin() as conn:
            first = await conn.scalar(
                select(ScheduleEntry.start_time)
                .where(ScheduleEntry.channel_id == stack.channel_id)
                .order_by(ScheduleEntry.start_time)
                .limit(1)
            )
            assert first is not None
            rows = [
                {
                    "id": uuid.uuid4(),
                    "channel_id": stack.channel_id,
                    "title": f"Earlier programme {k}",
                    "genre": "Test",
                    "start_time": first - timedelta(seconds=k * LOOP),
                    "end_time": first - timedelta(seconds=(k - 1) * LOOP),
                    "catchup_eligible": True,
                    "startover_eligible": True,
                }
                for k in range(1, hours * 3600 // LOOP + 1)
            ]
            await conn.execute(insert(ScheduleEntry), rows)
    finally:
        await engine.dispose()


def _settings(stack: Stack) -> Settings:
    """What the running backend uses: its database, archive, sources and ladder."""
    return Settings(
        database_url=stack.db_url,
        hls_segment_dir=stack.hls_dir,
        hls_sources_dir=stack.hls_dir.parent / "sources",
        abr_ladder=LADDER,
    )


def _backfill(stack: Stack, start: datetime, end: datetime, **kw: Any) -> BackfillResult:
    async def run() -> BackfillResult:
        db = Database(_settings(stack))
        try:
            return await backfill_range(_settings(stack), db, stack.channel_key, start, end, **kw)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _minute(ts: float) -> datetime:
    return datetime.fromtimestamp(ts // LOOP * LOOP, UTC)


def _programme_at(stack: Stack, at: datetime) -> dict[str, Any]:
    day = at.date().isoformat()
    entries = stack.get(f"{API}/epg/schedule?channel_id={stack.channel_id}&date={day}").json()["entries"]
    return next(e for e in entries if datetime.fromisoformat(e["start_time"]) == at)


def _playlist(stack: Stack, uri: str) -> m3u8.M3U8:
    return m3u8.loads(httpx.get(uri, headers=stack.headers(), timeout=10).text, uri=uri)


def _decoded_seconds(stack: Stack, playlist: m3u8.M3U8, tmp: Path) -> float:
    """Decode a media playlist run by run with its key from the API (as a player gets it): seconds
    of video FFmpeg decodes."""
    parts: list[tuple[str, str, list[str]]] = []
    for seg in playlist.segments:
        if not parts or seg.discontinuity:
            parts.append((seg.init_section.absolute_uri, seg.key.absolute_uri, []))
        parts[-1][2].append(seg.absolute_uri)
    frames = 0
    for init, key_uri, uris in parts:
        key = httpx.get(key_uri, headers=stack.headers(), timeout=10)
        assert key.status_code == 200 and len(key.content) == 16
        path = tmp / f"part-{uuid.uuid4().hex}.mp4"
        path.write_bytes(b"".join(httpx.get(u, timeout=10).raise_for_status().content for u in [init, *uris]))
        args = [real_ffmpeg(), "-hide_banner", "-decryption_key", key.content.hex(), "-i", str(path)]
        out = subprocess.run(
            [*args, "-map", "0:v", "-f", "framecrc", "-"], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr[-500:]
        frames += sum(1 for line in out.stdout.splitlines() if line and not line.startswith("#"))
    return frames / 25


def test_plan_cuts_a_range_to_whole_segments_in_the_gaps() -> None:
    fills, covered = plan_fills([(100.0, 200.0), (260.0, 1e12)], 40.0, 400.0, 6)
    assert fills == [(42.0, 96.0), (204.0, 258.0)]
    assert covered == [(100.0, 200.0), (260.0, 400.0)]
    assert plan_fills([], 0.0, 5.0, 6) == ([], [])


def test_a_backfilled_half_hour_plays_has_thumbnails_and_decodes_on_every_rung(
    stack: Stack, tmp_path: Path
) -> None:
    now = time.time()
    start, end = _minute(now - 45 * 60), _minute(now - 15 * 60)
    t0 = time.monotonic()
    result = _backfill(stack, start, end)
    took = time.monotonic() - t0
    print(f"\n{result.summary()}\nbackfill of 30 min: {took:.1f} s with source preparation")
    assert result.written == [(start, end)] and result.skipped == [], result.summary()
    assert result.rungs == ["low", "mid"]
    [rdir] = result.run_dirs
    info = layout.read_run_info(rdir)
    assert info is not None and info.backfilled and info.anchor == start.timestamp()
    assert not list(Path(rdir).parent.glob(".backfill-*"))  # the run was renamed into place whole

    programme = _programme_at(stack, start + timedelta(minutes=10))
    p_start = datetime.fromisoformat(programme["start_time"]).timestamp()
    path = f"{API}/tstv/catchup/{stack.channel_id}/manifest?schedule_entry_id={programme['id']}"

    def master_with_images() -> str | None:
        r = stack.get(path)
        return r.text if r.status_code == 200 and "EXT-X-IMAGE-STREAM-INF" in r.text else None

    # The backend's index takes the new run on its next poll (every second).
    master = m3u8.loads(str(wait_until(master_with_images, 10, "the catch-up master")), uri=stack.api + path)
    assert len(master.playlists) == 2, master.dumps()
    for variant in master.playlists:
        media = _playlist(stack, variant.absolute_uri)
        first = media.segments[0].current_program_date_time.timestamp()
        assert first == p_start and not any(s.discontinuity for s in media.segments)
        seconds = _decoded_seconds(stack, media, tmp_path)
        assert abs(seconds - LOOP) <= 0.5, (variant.uri, seconds)

    video = _playlist(stack, master.playlists[0].absolute_uri)
    audio = _playlist(stack, master.media[0].absolute_uri)
    images = _playlist(stack, master.image_playlists[0].absolute_uri)
    zero = min(p.segments[0].current_program_date_time.timestamp() for p in (video, audio, images))
    with chromium() as (_, browser):
        page: Page = browser.new_page()
        page.goto(f"{stack.page}/player.html")
        errors = page.evaluate(
            "([u, t, l]) => window.startPlayer(u, t, l, null)",
            [stack.api + path, stack.viewer_token, stack.api + "/api/v1/drm/license"],
        )
        assert errors == [], errors

        def playing() -> dict[str, Any] | None:
            s: dict[str, Any] = page.evaluate("window.playerState()")
            return s if s["currentTime"] >= 1.5 and not s["paused"] and s["errors"] == [] else None

        state = wait_until(playing, 30, "catch-up playing")
        assert isinstance(state, dict)
        # It started at the programme's first second: 1.5 s or more played, the playhead that far in.
        assert p_start + 1 <= state["playheadDate"] <= p_start + 8, (state, p_start)
        screenshot(page, "backfill-catchup-playing")
        t = 4.3
        near = page.evaluate(_THUMB_JS, t)
        far = page.evaluate(_THUMB_JS, t + SEG)
        assert page.evaluate("window.playerErrors") == []
    th = near["th"]
    assert th is not None and th["startTime"] <= t < th["startTime"] + th["duration"], near
    frame = _archive_frame(stack, video, zero + th["startTime"], tmp_path)
    whole, worst = _differences(_tile(th, tmp_path), frame)
    other_whole, other_worst = _differences(_tile(far["th"], tmp_path), frame)
    print(
        f"thumbnail vs archive: mean {whole:.2f}, worst {worst:.2f};"
        f" 6 s later {other_whole:.2f}/{other_worst:.2f}"
    )
    assert whole < 2.5 and worst < 12, (whole, worst)
    assert other_worst > 20 and other_whole > whole, (other_whole, other_worst)


def test_a_time_range_across_two_programmes_decodes_from_its_second_n_to_its_end(
    stack: Stack, tmp_path: Path
) -> None:
    """`/tstv/archive/{channel}/manifest?start=&end=` (docs/PRODUCT.md, 'Time ranges') over a
    backfilled stretch: from second 21 of one programme to the end of the next, FFmpeg decodes
    it with the keys the playlist's key URIs give, from the segment holding second 21 (18 s in)."""
    first = _minute(time.time() - 80 * 60)
    _backfill(stack, first, first + timedelta(minutes=4))
    a = first + timedelta(seconds=LOOP)
    start, end = int(a.timestamp()) + 21, int(a.timestamp()) + 2 * LOOP
    path = f"{API}/tstv/archive/{stack.channel_id}/manifest?start={start}&end={end}"

    def master() -> str | None:
        r = stack.get(path)
        return r.text if r.status_code == 200 else None

    # The backend's index takes the new run on its next poll (every second).
    variants = m3u8.loads(str(wait_until(master, 10, "the range's master")), uri=stack.api + path)
    media = _playlist(stack, variants.playlists[0].absolute_uri)
    assert media.segments[0].current_program_date_time == a + timedelta(seconds=18)
    assert media.start is not None and media.start.time_offset == 3.0
    seconds = _decoded_seconds(stack, media, tmp_path)
    assert abs(seconds - (2 * LOOP - 18)) <= 0.5, seconds


def _files(run_dir: Path) -> dict[str, str]:
    """The run's archive files (not the staging folder FFmpeg writes to: those are moved out)."""
    return {
        str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file()
        and not p.name.endswith(".tmp")
        and p.name != layout.PLAYLIST_NAME
        and STAGING not in p.relative_to(run_dir).parts
    }


def test_a_backfill_over_a_live_run_fills_only_the_gap_and_leaves_the_run_as_it_was(stack: Stack) -> None:
    r = stack.post(f"{API}/admin/simlive/{stack.channel_key}/start", stack.admin_token)
    assert r.status_code == 200, r.text
    cdir = stack.hls_dir / stack.channel_key

    def live_run() -> Path | None:
        for d in sorted(cdir.glob("r*")):
            info = layout.read_run_info(d)
            if info and not info.backfilled and len(list((d / "video").glob("*.m4s"))) >= 2:
                return d
        return None

    live = wait_until(live_run, 120, "two live segments")
    assert isinstance(live, Path)
    info = layout.read_run_info(live)
    assert info is not None
    before = _files(live)
    start = datetime.fromtimestamp(info.anchor - 120, UTC)
    result = _backfill(stack, start, datetime.now(UTC) + timedelta(minutes=5))
    print(f"\n{result.summary()}")
    assert result.written == [(start, datetime.fromtimestamp(info.anchor, UTC))], result.summary()
    assert result.skipped and result.skipped[0][0] == datetime.fromtimestamp(info.anchor, UTC)
    assert any("now" in n for n in result.notes)
    after = _files(live)
    assert {k: after[k] for k in before} == before  # every file it had, byte for byte
    filled = (start, datetime.fromtimestamp(info.anchor, UTC))

    def coverage() -> dict[str, Any] | None:
        c: dict[str, Any] = stack.get(
            f"{API}/admin/archive/coverage/{stack.channel_key}", stack.admin_token
        ).json()
        spans = [
            (datetime.fromisoformat(b["start"]), datetime.fromisoformat(b["end"])) for b in c["backfilled"]
        ]
        return c if filled in spans else None

    # The backend's index takes the new run on its next poll (every second).
    cov = wait_until(coverage, 10, "the backfilled run in the coverage")
    assert isinstance(cov, dict)
    # The recorded range runs through the backfill into the live run with no gap between them.
    assert any(
        datetime.fromisoformat(x["start"]) <= start
        and datetime.fromisoformat(x["end"]).timestamp() > info.anchor + SEG
        for x in cov["recorded"]
    ), cov["recorded"]
    # A second backfill of the same range has nothing left to write.
    again = _backfill(stack, start, datetime.fromtimestamp(info.anchor, UTC))
    assert again.written == [] and again.run_dirs == [], again.summary()


def _marker_file(path: Path, seconds: int) -> None:
    """A recording whose every frame carries its own number (the generated sources' marker)."""
    subprocess.run(
        [
            real_ffmpeg(),
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={GEN_WIDTH}x{GEN_HEIGHT}:rate=25:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=300:duration={seconds}",
            "-vf",
            marker_filters(),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "10",
            "-c:a",
            "aac",
            str(path),
        ],
        check=True,
        timeout=120,
    )


def _content_key(stack: Stack, kid: str) -> bytes:
    async def get() -> bytes:
        db = Database(_settings(stack))
        try:
            async with db.sessionmaker() as session:
                key = await session.scalar(select(DrmKey).where(DrmKey.key_id == uuid.UUID(hex=kid)))
                assert key is not None
                return bytes(key.key_value)
        finally:
            await db.dispose()

    return asyncio.run(get())


def test_a_backup_file_fills_a_gap_with_its_own_picture(stack: Stack, tmp_path: Path) -> None:
    backup = tmp_path / "backup.mp4"
    _marker_file(backup, 42)  # whole segments: a gap is filled segment by segment
    start = _minute(time.time() - 90 * 60) + timedelta(seconds=SEG * 3)
    end = start + timedelta(minutes=5)
    env = {
        **os.environ,
        "DATABASE_URL": stack.db_url,
        "HLS_SEGMENT_DIR": str(stack.hls_dir),
        "HLS_SOURCES_DIR": str(stack.hls_dir.parent / "sources"),
        "ABR_LADDER": LADDER,
    }
    cli = [sys.executable, "-m", "app.backfill", stack.channel_key, "--from", start.isoformat()]
    cli += ["--to", end.isoformat(), "--file", str(backup)]
    out = subprocess.run(cli, cwd=BACKEND_DIR, env=env, capture_output=True, text=True, timeout=300)
    print(out.stdout)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"written  {start.isoformat()} .. {(start + timedelta(seconds=42)).isoformat()}" in out.stdout
    assert "cut to the file's length (42 s)" in out.stdout
    [rdir] = [
        d
        for d in (stack.hls_dir / stack.channel_key).glob("r*")
        if (i := layout.read_run_info(d)) and i.anchor == start.timestamp()
    ]
    info = layout.read_run_info(rdir)
    assert info is not None and info.backfilled and info.kid
    key = _content_key(stack, info.kid)
    offset = 17.0  # seconds into the file: segment 2, 5 s in
    seg = next(p for p in (rdir / "video").glob(f"*_{int(offset // SEG):06d}_*.m4s"))
    joined = tmp_path / "seg.mp4"
    joined.write_bytes((rdir / "video" / info.init_name("video")).read_bytes() + seg.read_bytes())
    n = round((offset % SEG) * 25)
    args = [real_ffmpeg(), "-v", "error", "-decryption_key", key.hex(), "-i", str(joined)]
    args += ["-vf", f"select=eq(n\\,{n}),scale={GEN_WIDTH}:{GEN_HEIGHT}:flags=neighbor", "-frames:v", "1"]
    frame = subprocess.run(
        [*args, "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert len(frame) == GEN_WIDTH * GEN_HEIGHT
    assert decode_marker(frame) == round(offset * 25)


def test_the_operator_api_fills_a_range_in_the_background_and_reports_progress(stack: Stack) -> None:
    start, end = _minute(time.time() - 110 * 60), _minute(time.time() - 100 * 60)
    body = {"channel_key": stack.channel_key, "start": start.isoformat(), "end": end.isoformat()}
    headers = stack.headers(stack.admin_token)
    r = httpx.post(f"{stack.api}{API}/admin/archive/backfill", json=body, headers=headers, timeout=30)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] in ("queued", "running") and job["origin"] == "operator"
    seen: list[float] = []

    def finished() -> dict[str, Any] | None:
        j: dict[str, Any] = stack.get(f"{API}/admin/archive/backfill/{job['id']}", stack.admin_token).json()
        seen.append(j["progress"])
        return j if j["state"] in ("done", "failed") else None

    done = wait_until(finished, 120, "the backfill job", every=0.1)
    assert isinstance(done, dict)
    assert done["state"] == "done" and done["error"] is None, done
    assert done["progress"] == 1.0 and seen == sorted(seen), seen
    written = [
        (datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"])) for w in done["written"]
    ]
    assert written == [(start, end)], done
    assert done["speed"] > 1, done
    listed = stack.get(f"{API}/admin/archive/backfill", stack.admin_token).json()["jobs"]
    assert job["id"] in [j["id"] for j in listed]
    # Bad requests are clear 4xx.
    bad = {**body, "end": body["start"]}
    r = httpx.post(f"{stack.api}{API}/admin/archive/backfill", json=bad, headers=headers, timeout=30)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "end"], r.text
    r = httpx.post(
        f"{stack.api}{API}/admin/archive/backfill",
        json={**body, "channel_key": "nope"},
        headers=headers,
        timeout=30,
    )
    assert r.status_code == 404 and r.json()["detail"] == "channel_not_found", r.text
    assert stack.get(f"{API}/admin/archive/backfill/0123abcd", stack.admin_token).status_code == 404
    assert stack.get(f"{API}/admin/archive/backfill").status_code == 403  # a viewer's token


def test_fill_from_source_on_the_coverage_page_fills_a_gap_and_shows_it_backfilled(stack: Stack) -> None:
    name = f"E2E {stack.channel_key}"
    with chromium() as (_, browser):
        viewer = new_viewer(browser)
        page = viewer.page
        sign_in(page, stack.api, "admin@tstv.local", PASSWORD, "/admin/coverage")
        card = page.get_by_role("article", name=name)
        # The count the operator sees before filling (the API's, read a moment earlier, once
        # differed by a stretch the earlier tests' runs were still adding).
        heading = card.get_by_role("heading", name=re.compile(r"^Backfilled \((\d+)\)$"))
        expect(heading).to_be_visible(timeout=15_000)
        before = int(re.findall(r"\d+", heading.inner_text())[0])
        cov = stack.get(f"{API}/admin/archive/coverage/{stack.channel_key}", stack.admin_token).json()
        assert abs(len(cov["backfilled"]) - before) <= 1, (cov["backfilled"], before)
        fill = card.get_by_role("button", name=re.compile(r"^Fill from source"))
        expect(fill.first).to_be_visible()
        fill.first.click()
        # The job runs in the background; the page polls it and then shows what it wrote.
        expect(card.get_by_role("heading", name=f"Backfilled ({before + 1})")).to_be_visible(timeout=60_000)
        screenshot(page, "backfill-coverage")
        viewer.context.close()
    jobs = stack.get(f"{API}/admin/archive/backfill", stack.admin_token).json()["jobs"]
    assert jobs[-1]["state"] == "done" and jobs[-1]["written"], jobs[-1]


# ---- IPTV export: a player that is not ours, and the account page (docs/PRODUCT.md, 'IPTV export')


def _iptv_channel(stack: Stack, playlist_url: str) -> dict[str, str]:
    """The stack channel's `#EXTINF` attributes and live URL in the M3U an IPTV link gives."""
    text = httpx.get(playlist_url, timeout=10).raise_for_status().text
    assert text.startswith("#EXTM3U")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        attrs = dict(re.findall(r'([a-z-]+)="([^"]*)"', line))
        if line.startswith("#EXTINF") and attrs.get("tvg-id") == f"{stack.channel_key}.tstv":
            url = next(u for u in lines[i + 1 :] if not u.startswith("#"))
            return attrs | {"url": url}
    raise AssertionError(text)


def test_ffmpeg_plays_a_past_programme_from_the_m3u_catchup_source(stack: Stack, tmp_path: Path) -> None:
    """FFmpeg, given nothing but the URL the M3U's `catchup-source` makes for a past programme (no
    header, no key option), fetches the key from the playlists' EXT-X-KEY URI and decodes the
    programme to its length."""
    start = _minute(time.time() - 125 * 60)  # a range no other test of the module fills
    result = _backfill(stack, start, start + timedelta(minutes=3))
    assert result.written == [(start, start + timedelta(minutes=3))], result.summary()
    made = httpx.post(f"{stack.api}{API}/iptv/tokens", headers=stack.headers(), timeout=10).json()
    try:
        attrs = _iptv_channel(stack, made["playlist_url"])
        assert attrs["catchup"] == "default" and int(attrs["catchup-days"]) >= 1
        programme = _programme_at(stack, start + timedelta(seconds=LOOP))
        p_start = int(datetime.fromisoformat(programme["start_time"]).timestamp())
        p_end = int(datetime.fromisoformat(programme["end_time"]).timestamp())
        url = attrs["catchup-source"].replace("{utc}", str(p_start)).replace("{utcend}", str(p_end))
        # The index takes the backfilled run on its next poll.
        wait_until(lambda: httpx.get(url, timeout=10).status_code == 200 or None, 10, "the catch-up URL")
        out = subprocess.run(
            [real_ffmpeg(), "-v", "error", "-i", url, "-map", "0:v:0", "-f", "framecrc", "-"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        # FFmpeg's mov demuxer at times reports one CENC sample it reads across an HLS segment
        # boundary ("subsample size exceeds the packet size left"); the decoder must report nothing.
        errors = [ln for ln in out.stderr.splitlines() if "subsample size exceeds" not in ln]
        assert out.returncode == 0 and errors == [], out.stderr[-800:]
        frames = sum(1 for line in out.stdout.splitlines() if line and not line.startswith("#"))
        assert abs(frames / 25 - (p_end - p_start)) <= 1, frames
        # One rung (the master lists two), to the programme's length; the same segments without
        # their key do not decode cleanly, so FFmpeg did decrypt them.
        master = m3u8.loads(httpx.get(url, timeout=10).text, uri=url)
        media = m3u8.loads(httpx.get(master.playlists[0].absolute_uri, timeout=10).text, uri=url)
        first = [media.segments[0].init_section.absolute_uri, *(s.absolute_uri for s in media.segments[:2])]
        raw = tmp_path / "encrypted.mp4"
        raw.write_bytes(b"".join(httpx.get(u, timeout=10).raise_for_status().content for u in first))
        bare = subprocess.run(
            [real_ffmpeg(), "-v", "error", "-i", str(raw), "-map", "0:v", "-f", "framecrc", "-"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert bare.returncode != 0 or bare.stderr != ""
    finally:
        httpx.delete(f"{stack.api}{API}/iptv/tokens/{made['id']}", headers=stack.headers(), timeout=10)


def test_the_account_page_makes_an_iptv_link_to_copy_and_revokes_it(stack: Stack) -> None:
    with chromium() as (_, browser):
        viewer = new_viewer(browser, height=1200)  # the whole IPTV section on the screenshot
        page = viewer.page
        sign_in(page, stack.api, "viewer@tstv.local", PASSWORD, "/account")
        section = page.get_by_role("region", name="IPTV players")
        section.get_by_role("button", name="Create IPTV link").click()
        playlist = section.get_by_label("Playlist URL")
        expect(playlist).to_have_value(re.compile(r"/api/v1/iptv/playlist\.m3u\?token=[\w-]{40,}$"))
        expect(section.get_by_label("Guide URL")).to_have_value(re.compile(r"/api/v1/iptv/epg\.xml\?token="))
        expect(section.get_by_role("button", name="Copy playlist URL")).to_be_visible()
        expect(section.get_by_role("button", name="Copy guide URL")).to_be_visible()
        section.get_by_role("button", name="Revoke").scroll_into_view_if_needed()
        screenshot(page, "account-iptv-link")
        url = playlist.input_value()
        assert httpx.get(url, timeout=10).status_code == 200
        section.get_by_role("button", name="Revoke").click()
        expect(section.get_by_text("No IPTV links.")).to_be_visible()
        expect(playlist).to_have_count(0)
        r = httpx.get(url, timeout=10)
        assert r.status_code == 401 and r.json() == {"detail": "invalid_iptv_token"}
        screenshot(page, "account-iptv-revoked")
        viewer.context.close()
