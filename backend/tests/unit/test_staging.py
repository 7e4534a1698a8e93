"""The staging folder's drain without processes (app/services/encoders/staging.py): a full disk keeps
the staged segment and is retried, and the encoder shows it as its disk-full state
(app/services/encoders/run_loop.py); a broken segment is dropped from the playlist; a crashed run's
leftovers are finished or, without their key, deleted."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from app.services.archive import archive_layout as layout
from app.services.archive.cenc_rekey import PLACEHOLDER_KEY, rekey_segment
from app.services.encoders.channel_runtime import ChannelRuntime
from app.services.encoders.rekey_watcher import RekeyWatcher
from app.services.encoders.run_loop import DISK_FULL, RunLoop
from app.services.encoders.staging import StagedRun, make_staging, recover_run, staging_dir
from tests.cenc_segments import fragment, samples

KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
NAMES = [f"20261205T0000{6 * i:02d}_{i:06d}_6000000.m4s" for i in range(3)]


def _run(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """A run folder whose staged video holds an init, three finished segments, a half-written one
    and FFmpeg's playlist listing the three."""
    info = layout.RunInfo("r0000000000001", "ch1", 0.0, 6, "ab" * 16, 0.0, 60, 0.0)
    run_dir = layout.write_run_info(tmp_path, info)
    stage = make_staging(run_dir, info.renditions) / "video"
    (stage / "init_0.mp4").write_bytes(b"init")
    staged = {name: fragment(PLACEHOLDER_KEY, samples(i, True)) for i, name in enumerate(NAMES)}
    for name, data in staged.items():
        (stage / name).write_bytes(data)
    (stage / f"{NAMES[-1][:-10]}9.m4s.tmp").write_bytes(b"half")
    (stage / layout.PLAYLIST_NAME).write_text("#EXTM3U\n" + "".join(f"#EXTINF:6.0,\n{n}\n" for n in NAMES))
    return run_dir, stage, staged


def test_a_full_disk_keeps_the_staged_segment_and_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir, stage, staged = _run(tmp_path)
    archive = run_dir / "video"

    def full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    run = StagedRun(run_dir, ("video", "audio"), KEY)
    run.drain()
    assert run.error is not None and run.error.errno == errno.ENOSPC
    assert sorted(p.name for p in stage.iterdir() if p.name.endswith(".m4s")) == NAMES  # all kept
    assert not any(layout.parse_segment_name(p.name) for p in archive.iterdir())
    assert not [p for p in archive.iterdir() if p.name.startswith(".")]  # no temp file left
    assert not (archive / layout.PLAYLIST_NAME).exists()  # lists nothing that is not there

    monkeypatch.undo()  # space again
    run.drain()
    assert run.error is None
    for name, data in staged.items():
        assert (archive / name).read_bytes() == rekey_segment(data, PLACEHOLDER_KEY, KEY)
    assert (archive / "init_0.mp4").read_bytes() == b"init"
    assert [ln for ln in (archive / layout.PLAYLIST_NAME).read_text().split() if ln.endswith(".m4s")] == NAMES
    assert run.finish() and not staging_dir(run_dir).exists()  # the half-written one discarded


def test_the_encoder_shows_a_failing_rekey_as_disk_full_until_it_succeeds(tmp_path: Path) -> None:
    loop = RunLoop()
    loop.root = tmp_path
    rt = ChannelRuntime("ch1", "Channel 1", 60, state="running")
    run = StagedRun(tmp_path / "r", ("video",), KEY)
    rt.rekeyers["r"] = RekeyWatcher(run, lambda: False)
    run.error = OSError(errno.ENOSPC, "No space left on device")
    loop._report_rekeying(rt)
    assert rt.state == "error" and (rt.last_error or "").startswith(f"{DISK_FULL}: ")
    run.error = None
    loop._report_rekeying(rt)
    assert rt.state == "running" and rt.last_error is None


def test_a_broken_segment_is_dropped_from_the_playlist(tmp_path: Path) -> None:
    run_dir, stage, _ = _run(tmp_path)
    (stage / NAMES[1]).write_bytes(b"not a segment")
    run = StagedRun(run_dir, ("video", "audio"), KEY)
    assert run.finish()
    archive = run_dir / "video"
    assert not (archive / NAMES[1]).exists()
    listed = [ln for ln in (archive / layout.PLAYLIST_NAME).read_text().split() if ln.endswith(".m4s")]
    assert listed == [NAMES[0], NAMES[2]]


def test_leftovers_are_recovered_with_their_key_or_deleted_without(tmp_path: Path) -> None:
    run_dir, _, staged = _run(tmp_path / "a")
    assert recover_run(run_dir, KEY)
    assert not staging_dir(run_dir).exists()
    assert (run_dir / "video" / NAMES[0]).read_bytes() == rekey_segment(
        staged[NAMES[0]], PLACEHOLDER_KEY, KEY
    )

    run_dir, _, _ = _run(tmp_path / "b")
    assert recover_run(run_dir, None)
    assert not staging_dir(run_dir).exists()
    assert not any(layout.parse_segment_name(p.name) for p in (run_dir / "video").iterdir())


def test_a_segment_between_ffmpegs_two_renames_waits_for_its_real_name(tmp_path: Path) -> None:
    """FFmpeg renames `x.m4s.tmp` to a name with duration 0, then to its real duration: the
    watcher must not take the first name (the archive would hold both) unless FFmpeg has ended."""
    run_dir, stage, staged = _run(tmp_path)
    interim = NAMES[-1].replace("_6000000.m4s", "_0.m4s")
    (stage / NAMES[-1]).rename(stage / interim)
    run = StagedRun(run_dir, ("video", "audio"), KEY)
    run.drain()
    assert (stage / interim).exists() and not (run_dir / "video" / interim).exists()
    (stage / interim).rename(stage / NAMES[-1])
    (stage / layout.PLAYLIST_NAME).touch()  # FFmpeg rewrites its playlist after the rename
    os.utime(stage / layout.PLAYLIST_NAME, ns=(1, 1))
    run.drain()
    assert (run_dir / "video" / NAMES[-1]).exists() and not (run_dir / "video" / interim).exists()
    # Left over once FFmpeg has ended, it is final under that name.
    (stage / interim).write_bytes(staged[NAMES[0]])
    assert run.finish() and (run_dir / "video" / interim).exists()
