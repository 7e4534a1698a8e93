"""Archive coverage for operators: recorded ranges, gaps (a 2-minute outage yesterday), the windows,
hours recorded and key changes, from a synthetic archive in the real layout and the app's index."""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from app.models import Channel
from app.services.archive.archive_coverage import MAX_RANGES, channel_coverage, merge_shortest_gaps
from app.services.archive.archive_index import ArchiveIndex
from tests.archive_factory import index_channel, write_run
from tests.simlive_helpers import add_channel, remove_channels

SEG = 6
H = 3600


def _iso(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _span(item: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(item["start"]), datetime.fromisoformat(item["end"])


async def test_coverage_shows_a_two_minute_outage_yesterday_and_the_key_rotation(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    viewer_headers: dict[str, str],
    frozen_clock: Callable[[Any], None],
) -> None:
    key = "cov" + secrets.token_hex(3)
    await add_channel(
        app.state.db.sessionmaker,
        key,
        7_000_000 + secrets.randbelow(10**6),
        catchup_window_hours=48,
        cutv_window_hours=24,
    )
    root: Path = app.state.settings.hls_segment_dir
    t = math.floor(datetime.now(UTC).timestamp() / SEG) * SEG  # a segment boundary
    now = _iso(t + 3)
    k0, k1, k2 = (secrets.token_hex(16) for _ in range(3))
    try:
        write_run(root, key, _iso(t - 60 * H), _iso(t - 50 * H), kid=k0)  # past retention: not shown
        write_run(root, key, _iso(t - 30 * H), _iso(t - 26 * H), kid=k1)
        # The encoder was down for two minutes, then came back with the same key ...
        write_run(root, key, _iso(t - 26 * H + 120), _iso(t - 3 * H), kid=k1)
        # ... and a rotation replaced its run seamlessly (make-before-break) three hours ago.
        write_run(root, key, _iso(t - 3 * H), _iso(t), kid=k2)
        index_channel(app.state.archive, key)
        frozen_clock(now)

        r = await client.get(f"/api/v1/admin/archive/coverage/{key}", headers=admin_headers)
        assert r.status_code == 200, r.text
        cov = r.json()
        assert cov["channel_key"] == key
        assert _span(cov["retention_window"]) == (now - timedelta(hours=48), now)
        assert cov["retention_window"]["hours"] == 48
        assert _span(cov["viewer_window"]) == (now - timedelta(hours=24), now)
        assert cov["viewer_window"]["hours"] == 24
        assert [_span(x) for x in cov["recorded"]] == [
            (_iso(t - 30 * H), _iso(t - 26 * H)),
            (_iso(t - 26 * H + 120), _iso(t)),  # the seamless rotation is no gap
        ]
        assert [(_span(g), g["seconds"]) for g in cov["gaps"]] == [
            ((now - timedelta(hours=48), _iso(t - 30 * H)), 18 * H - 3),  # before the archive began
            ((_iso(t - 26 * H), _iso(t - 26 * H + 120)), 120),  # yesterday's outage
        ], "the segment being written at the live edge is not a gap"
        assert cov["recorded_hours"] == round((30 * H - 120) / H, 4)
        assert cov["merged_gaps"] == 0
        assert datetime.fromisoformat(cov["recorded_until"]) == _iso(t)
        changes = [
            (datetime.fromisoformat(c["at"]), c["key_id"], c["previous_key_id"]) for c in cov["key_changes"]
        ]
        assert changes == [
            (_iso(t - 30 * H), str(uuid.UUID(k1)), str(uuid.UUID(k0))),  # the oldest run shown had a new key
            (_iso(t - 3 * H), str(uuid.UUID(k2)), str(uuid.UUID(k1))),  # the rotation
        ]

        # Stopped for a minute now: the live edge becomes a gap.
        frozen_clock(now + timedelta(minutes=1))
        cov = (await client.get(f"/api/v1/admin/archive/coverage/{key}", headers=admin_headers)).json()
        assert _span(cov["gaps"][-1]) == (_iso(t), now + timedelta(minutes=1))

        # All channels at once: the same answer for this one, and the seeded channels are listed.
        r = await client.get("/api/v1/admin/archive/coverage", headers=admin_headers)
        assert r.status_code == 200, r.text
        rows = {c["channel_key"]: c for c in r.json()["channels"]}
        assert rows[key] == cov and {"ch1", "ch2", "ch3", "ch4", "ch5"} <= set(rows)
    finally:
        await remove_channels(app.state.db.sessionmaker, [key])

    assert (await client.get("/api/v1/admin/archive/coverage")).status_code == 401
    for path in ("/api/v1/admin/archive/coverage", "/api/v1/admin/archive/coverage/ch1"):
        r = await client.get(path, headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "admin_required")
    for bad in ("nope", "CH1", key, "%2E%2E", "a" * 64):
        r = await client.get(f"/api/v1/admin/archive/coverage/{bad}", headers=admin_headers)
        assert (r.status_code, r.json()["detail"]) == (404, "channel_not_found"), bad
    r = await client.get(f"/api/v1/admin/archive/coverage/{'a' * 65}", headers=admin_headers)
    assert r.status_code == 422


def test_a_flapping_encoder_is_bounded_by_merging_the_shortest_gaps(tmp_path: Path) -> None:
    """MAX_RANGES + 100 runs of one segment: the answer keeps the longest gaps and exact totals."""
    t0 = 1_800_000_000.0
    starts = []
    at = t0
    for i in range(MAX_RANGES + 100):
        starts.append(at)
        write_run(tmp_path, "flap", _iso(at), _iso(at + SEG), started_at=at)
        at += SEG + (600 if i % 50 == 0 else 10 + i % 7)  # every 50th outage lasts 10 minutes
    index = ArchiveIndex(tmp_path)
    index.rescan()
    channel = Channel(name="Flap", cdn_channel_key="flap", catchup_window_hours=168, cutv_window_hours=168)
    cov = channel_coverage(index, channel, _iso(at), SEG)
    assert len(cov.recorded) == MAX_RANGES and cov.merged_gaps == 100
    assert cov.recorded_seconds == (MAX_RANGES + 100) * SEG, "totals stay exact"
    long_gaps = [g for g in cov.gaps if g[1] - g[0] == 600]
    assert len(long_gaps) == len(range(0, MAX_RANGES + 99, 50)), "every long outage is still shown"
    assert cov.recorded[0][0] == t0 and cov.recorded[-1][1] == starts[-1] + SEG


def test_merge_shortest_gaps() -> None:
    ranges = [(0.0, 1.0), (2.0, 3.0), (13.0, 14.0), (14.5, 15.0)]  # gaps 1, 10, 0.5
    assert merge_shortest_gaps(ranges, 4) == (ranges, 0)
    assert merge_shortest_gaps(ranges, 3) == ([(0.0, 1.0), (2.0, 3.0), (13.0, 15.0)], 1)
    assert merge_shortest_gaps(ranges, 2) == ([(0.0, 3.0), (13.0, 15.0)], 2)
    assert merge_shortest_gaps(ranges, 1) == ([(0.0, 15.0)], 3)
