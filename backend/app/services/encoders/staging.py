"""The private staging folder an encrypting FFmpeg writes into, and how its files reach the archive.

FFmpeg encrypts with the public placeholder key (app/services/archive/cenc_rekey.py), so what it
writes is as good as clear: it goes to `{run_dir}/.staging/{rendition}/` (mode 0700), never to
the folders the CDN serves. `StagedRun.drain` turns it into the archive contract of
app/services/archive/archive_layout.py, per rendition and in this order:

1. the init segment, copied as it is (its `tenc` already holds the real KID) once the rendition
   has a finished segment (FFmpeg writes the init before renaming its first segment into place);
2. every finished segment (FFmpeg's `temp_file` flag: a `.tmp` name until complete, then a name
   with duration 0 until renamed after its real duration), re-keyed to the real key under the same
   name, atomically, then removed from staging;
3. FFmpeg's short playlist `index.m3u8`, copied atomically once every segment it lists is in the
   archive. Its readers (the archive index's poll, segment counters, the handover) therefore
   never see a segment listed before its re-keyed file exists.

A segment that cannot be re-keyed (not a CENC segment: never seen from FFmpeg) is dropped from
the copied playlist and deleted; a write that fails (a full disk) keeps the staged file for the
next drain. `finish` drains a run whose FFmpeg has ended, discards the half-written `.tmp` files
and removes the staging folder when nothing is left in it; a run left with a staging folder (a
crash, a kill -9, a worker that lost its channel) is finished the same way when its channel's
encoder next starts (`recover_channel`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from app.services.archive import archive_layout as layout
from app.services.archive.cenc_rekey import PLACEHOLDER_KEY, RekeyError, rekey_file

log = logging.getLogger("tstv.simlive")

STAGING = ".staging"
_INIT_PREFIX = "init_"


def staging_dir(run_dir: Path) -> Path:
    return run_dir / STAGING


def make_staging(run_dir: Path, renditions: tuple[str, ...]) -> Path:
    """Create the run's private staging folders (0700 whatever the umask); returns the root."""
    root = staging_dir(run_dir)
    for path in (root, *(root / r for r in renditions)):
        path.mkdir(mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)
    return root


def _copy_atomic(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.copy.tmp")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_atomic(dst: Path, text: str) -> None:
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.copy.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass
class StagedRun:
    """One run's staging folder and the key its archive files are re-keyed to. Not thread-safe:
    one drainer at a time (the run's watcher thread, or the recovery before a start)."""

    run_dir: Path
    renditions: tuple[str, ...]
    key: bytes
    error: OSError | None = None  # the last failed write (ENOSPC...), None once a drain succeeds
    rekeyed: int = 0
    _mirrored: dict[str, str] = field(default_factory=dict)
    _seen_mtime: dict[str, int] = field(default_factory=dict)  # staged playlist, last drained
    _rejected: set[str] = field(default_factory=set)

    def drain(self, final: bool = False) -> int:
        """Move every finished staged file into the archive; returns segments re-keyed now."""
        before, error = self.rekeyed, None
        for rendition in self.renditions:
            try:
                self._drain_rendition(rendition, final)
            except OSError as exc:
                error = exc  # the staged files stay; the next drain tries again
        self.error = error
        return self.rekeyed - before

    def _drain_rendition(self, rendition: str, final: bool) -> None:
        src, dst = staging_dir(self.run_dir) / rendition, self.run_dir / rendition
        # FFmpeg rewrites its playlist right after renaming a finished segment into place: while
        # the playlist is unchanged there is nothing new (one stat per poll instead of a listing).
        try:
            mtime = (src / layout.PLAYLIST_NAME).stat().st_mtime_ns
        except FileNotFoundError:
            mtime = -1
        if not final and self.error is None and self._seen_mtime.get(rendition) == mtime:
            return
        try:
            names = os.listdir(src)
        except FileNotFoundError:
            return
        # A duration of 0 is FFmpeg's name between its two renames (`temp_file`, then the real
        # duration of `second_level_segment_duration`): only once it has exited is it final.
        segments = sorted(
            (seg.seq, name)
            for name in names
            if (seg := layout.parse_segment_name(name)) is not None and (seg.duration_us or final)
        )
        for name in names:
            if name.startswith(_INIT_PREFIX) and name.endswith(".mp4") and (segments or final):
                if not (dst / name).exists():
                    with contextlib.suppress(FileNotFoundError):
                        _copy_atomic(src / name, dst / name)
        for _, name in segments:
            try:
                rekey_file(src / name, dst / name, PLACEHOLDER_KEY, self.key)
            except FileNotFoundError:
                continue  # taken meanwhile by another drainer (a channel that moved worker)
            except RekeyError as exc:
                log.error("rekey: segment dropped", extra={"path": str(src / name), "error": str(exc)})
                self._rejected.add(name)
            else:
                self.rekeyed += 1
            (src / name).unlink(missing_ok=True)
        self._mirror_playlist(src, dst, rendition)
        self._seen_mtime[rendition] = mtime

    def _mirror_playlist(self, src: Path, dst: Path, rendition: str) -> None:
        try:
            text = (src / layout.PLAYLIST_NAME).read_text()
        except FileNotFoundError:
            return
        if self._mirrored.get(rendition) == text:
            return
        lines = [ln for ln in text.splitlines() if ln.strip() not in self._rejected]
        listed = [ln.strip() for ln in lines if layout.parse_segment_name(ln.strip()) is not None]
        if all((dst / name).exists() for name in listed):
            _write_atomic(dst / layout.PLAYLIST_NAME, "\n".join(lines) + "\n")
            self._mirrored[rendition] = text

    def finish(self) -> bool:
        """Drain a run whose FFmpeg has ended and remove its staging folder; False (folder kept)
        while a write still fails."""
        self.drain(final=True)
        if self.error is not None:
            return False
        root = staging_dir(self.run_dir)
        leftovers = [p for r in self.renditions for p in (root / r).glob("*.m4s")]
        if leftovers:  # named like a segment but not one (should not happen): keep for a look
            return False
        shutil.rmtree(root, ignore_errors=True)
        return True


def staged_runs(channel_dir: Path) -> list[str]:
    """Run ids of the channel that still have a staging folder."""
    try:
        return sorted(
            e.name
            for e in os.scandir(channel_dir)
            if layout.RUN_ID_RE.match(e.name) and os.path.isdir(os.path.join(e.path, STAGING))
        )
    except FileNotFoundError:
        return []


def recover_run(run_dir: Path, key: bytes | None) -> bool:
    """Finish a run left with a staging folder by an encoder that is gone: its finished segments
    are re-keyed, its half-written ones discarded. Without its key (or its run.json) the staged
    files are deleted: clear-as-placeholder media must not linger. True once the folder is gone."""
    info = layout.read_run_info(run_dir)
    if info is None or key is None:
        log.warning("rekey: staged files discarded (no run or key)", extra={"run": str(run_dir)})
        shutil.rmtree(staging_dir(run_dir), ignore_errors=True)
        return True
    staged = StagedRun(run_dir, info.renditions, key)
    done = staged.finish()
    log.info(
        "rekey: recovered a run's staged segments",
        extra={"run": str(run_dir), "segments": staged.rekeyed, "done": done},
    )
    return done
