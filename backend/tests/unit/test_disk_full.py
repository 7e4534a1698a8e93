"""A full disk is told apart from other encoder failures (app/services/encoders/run_loop.py): it is
retried at a short, fixed pace and shown as "disk full"; the pidfile write never leaves half a file;
a still that cannot be stored is a 503 (backed off), never a 500."""

from __future__ import annotations

import errno
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.services.archive.archive_index import ArchiveIndex
from app.services.archive.stills import StillTaker, StillUnavailable
from app.services.encoders import pidfile
from app.services.encoders.run_loop import is_disk_full


def test_disk_full_from_the_error_or_what_caused_it() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("run.json not written") from inner
    except RuntimeError as outer:
        assert is_disk_full(outer)
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(RuntimeError("source missing"))


def test_disk_full_from_the_encoders_log() -> None:
    log = "[hls @ 0x55] Failed to open file 'x.m4s.tmp': No space left on device\nConversion failed!"
    assert is_disk_full(detail=log)
    assert not is_disk_full(detail="Conversion failed!")


def test_a_failed_pidfile_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: Path, data: str) -> int:
        with self.open("w") as f:
            f.write(data[:3])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError):
        pidfile.atomic_write_json(tmp_path / "pids.json", {"ch1": {"pid": 1}})
    assert list(tmp_path.iterdir()) == []


async def _no_key(_kid: uuid.UUID) -> bytes | None:
    return None


def test_a_still_that_cannot_be_stored_is_unavailable_not_an_error(tmp_path: Path) -> None:
    blocked = tmp_path / "stills"
    blocked.write_text("a file where the stills directory should be")  # mkdir and writes fail
    taker = StillTaker(blocked, ArchiveIndex(tmp_path / "hls"), "ffmpeg", _no_key)
    entry = uuid.uuid4()
    with pytest.raises(StillUnavailable) as caught:
        taker._store(taker.path_for(entry), b"\xff\xd8jpeg", datetime.now(UTC))
    assert caught.value.retry_after > 0
    assert [p.name for p in tmp_path.iterdir()] == ["stills"]
