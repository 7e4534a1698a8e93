"""The encoder log tail (bounded, from the end, only the channel's own log) and the programme on air
in the operators' status, without running encoders."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from app.services.encoders.encoder_log import MAX_BYTES, MAX_LINES, read_tail
from app.services.encoders.supervisor import EncoderSupervisor
from tests.simlive_helpers import add_channel, remove_channels


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{ln}\n" for ln in lines))


def test_tail_reads_the_newest_lines_within_the_byte_bound(tmp_path: Path) -> None:
    log = tmp_path / "encoder.log"
    _write(log, [f"line {i}" for i in range(10)])
    tail = read_tail(log, 3)
    assert (tail.lines, tail.truncated, tail.size_bytes) == (
        ["line 7", "line 8", "line 9"],
        True,
        log.stat().st_size,
    )
    assert read_tail(log, 50).lines == [f"line {i}" for i in range(10)]
    assert not read_tail(log, 50).truncated

    # 4 MiB of log: only the end is read, and the first (cut) line is dropped, never shown in part.
    big = [f"[hls @ 0x55] warning {i:07d} " + "x" * 60 for i in range(60_000)]
    _write(log, big)
    tail = read_tail(log, MAX_LINES)
    assert tail.truncated and 0 < len(tail.lines) <= MAX_LINES
    assert tail.lines == big[-len(tail.lines) :]
    small = read_tail(log, MAX_LINES, max_bytes=1000)
    assert small.truncated and small.lines == big[-len(small.lines) :]
    assert sum(len(ln) + 1 for ln in small.lines) <= 1000
    assert len(read_tail(log, MAX_LINES + 500).lines) <= MAX_LINES

    # Bytes that are not UTF-8 come out replaced, not as an error.
    log.write_bytes(b"ok\n\xff\xfe bad\n")
    assert read_tail(log, 10).lines == ["ok", "\ufffd\ufffd bad"]
    assert read_tail(tmp_path / "missing.log", 10).lines == []
    assert MAX_BYTES <= 1024 * 1024


def test_tail_continues_into_the_rotated_log(tmp_path: Path) -> None:
    log = tmp_path / "encoder.log"
    _write(log.with_name("encoder.log.1"), [f"old {i}" for i in range(5)])
    _write(log, ["new 0", "new 1"])
    tail = read_tail(log, 4)
    assert (tail.lines, tail.truncated) == (["old 3", "old 4", "new 0", "new 1"], True)
    tail = read_tail(log, 100)
    assert (len(tail.lines), tail.truncated) == (7, False)
    assert read_tail(log, 2).truncated, "the rotated log is older than what was returned"


def test_tail_reads_only_a_regular_file_of_its_own(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not show\n")
    log = tmp_path / "ch" / "encoder.log"
    log.parent.mkdir()
    log.symlink_to(secret)
    assert read_tail(log, 10).lines == [], "a symlinked log is not followed"
    log.unlink()
    os.mkfifo(log)  # would block a plain open()
    assert read_tail(log, 10).lines == []


async def test_log_endpoint(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    manager: EncoderSupervisor = app.state.simlive
    key = "log" + secrets.token_hex(3)
    await add_channel(app.state.db.sessionmaker, key, 7_100_000 + secrets.randbelow(10**6))
    url = f"/api/v1/admin/simlive/{key}/log"
    try:
        r = await client.get(url, headers=admin_headers)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "channel_key": key,
            "lines": [],
            "truncated": False,
            "size_bytes": 0,
            "modified_at": None,
        }

        lines = [
            f"--- 2026-12-01T10:00:0{i}+00:00 run r{i:013d} anchor 0 offset 0 kid None" for i in range(5)
        ]
        _write(manager.log_path(key), lines)
        r = await client.get(url, params={"lines": 2}, headers=admin_headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["lines"], body["truncated"]) == (lines[-2:], True)
        assert body["size_bytes"] == manager.log_path(key).stat().st_size
        assert (
            abs(datetime.fromisoformat(body["modified_at"]).timestamp() - datetime.now(UTC).timestamp()) < 60
        )
        assert (await client.get(url, headers=admin_headers)).json()["lines"] == lines  # 200 by default

        for bad in (0, -1, MAX_LINES + 1, "x"):
            r = await client.get(url, params={"lines": bad}, headers=admin_headers)
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "lines"], bad
        assert (await client.get(url)).status_code == 401
        r = await client.get(url, headers=viewer_headers)
        assert (r.status_code, r.json()["detail"]) == (403, "admin_required")
    finally:
        await remove_channels(app.state.db.sessionmaker, [key])
    # A key that is no channel's, however it is spelt, never names a file.
    for bad in (key, "nope", "CH1", "%2E%2E", ".simlive", "a" * 64):
        r = await client.get(f"/api/v1/admin/simlive/{bad}/log", headers=admin_headers)
        assert (r.status_code, r.json()["detail"]) == (404, "channel_not_found"), bad
    r = await client.get("/api/v1/admin/simlive/ch1%2F..%2F..%2Fch2/log", headers=admin_headers)
    assert (r.status_code, r.json()["detail"]) == (404, "not_found"), "a slash is no key: no route"


async def test_status_shows_the_programme_on_air(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    viewer_headers: dict[str, str],
    frozen_clock: Callable[[Any], None],
) -> None:
    frozen_clock(datetime.now(UTC))  # one instant for both answers
    key = "air" + secrets.token_hex(3)
    await add_channel(app.state.db.sessionmaker, key, 7_200_000 + secrets.randbelow(10**6))  # no schedule
    try:
        r = await client.get("/api/v1/admin/simlive/status", headers=admin_headers)
        assert r.status_code == 200, r.text
        rows = {c["channel_key"]: c for c in r.json()["channels"]}
        assert rows[key]["on_air"] is None
        channels = (await client.get("/api/v1/tstv/channels", headers=viewer_headers)).json()["channels"]
        for ch in channels:
            if not re.fullmatch(r"ch[1-5]", ch["cdn_channel_key"]):
                continue
            r = await client.get(f"/api/v1/tstv/startover/{ch['id']}", headers=viewer_headers)
            assert r.status_code == 200, r.text
            entry = r.json()["schedule_entry"]
            on_air = rows[ch["cdn_channel_key"]]["on_air"]
            assert on_air == {
                "schedule_entry_id": entry["id"],
                "title": entry["title"],
                "start_time": entry["start_time"],
                "end_time": entry["end_time"],
            }
    finally:
        await remove_channels(app.state.db.sessionmaker, [key])
