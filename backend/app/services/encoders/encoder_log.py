"""The tail of an encoder's log, bounded in lines and bytes and read from the end of the file.

The log is rotated to `encoder.log.1` when a run starts on a log over 2 MiB, so a tail asked for right
after a rotation continues into the rotated file. Files are opened without following symlinks and
only if they are regular files: nothing but the log itself is ever read.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_LINES = 1000
MAX_BYTES = 256 * 1024
ROTATED_SUFFIX = ".1"


@dataclass(frozen=True)
class LogTail:
    lines: list[str]
    truncated: bool  # older lines exist than the ones returned
    size_bytes: int  # of the current log file
    modified_at: float | None  # of the current log file (epoch seconds)


@dataclass(frozen=True)
class _Chunk:
    lines: list[str]
    from_start: bool  # the chunk begins at the start of the file
    bytes_read: int
    size: int
    mtime: float


def _read_end(path: Path, max_bytes: int) -> _Chunk | None:
    """The last whole lines within `max_bytes` of a regular file; None when there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.EACCES):
            return None
        raise
    with contextlib.closing(os.fdopen(fd, "rb")) as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            return None
        offset = max(0, st.st_size - max_bytes)
        f.seek(offset)
        data = f.read(max_bytes)
    if offset > 0:  # the first line is cut: drop it
        cut = data.find(b"\n")
        data = data[cut + 1 :] if cut >= 0 else b""
    text = data.decode("utf-8", "replace")
    return _Chunk(
        [ln for ln in text.splitlines() if ln.strip()], offset == 0, len(data), st.st_size, st.st_mtime
    )


def read_tail(path: Path, lines: int, max_bytes: int = MAX_BYTES) -> LogTail:
    """The last `lines` lines of the log at `path` (then of its rotated predecessor), reading at most
    `max_bytes` in all. Blocking: run it in a worker thread."""
    lines = max(1, min(lines, MAX_LINES))
    current = _read_end(path, max_bytes)
    if current is None:
        return LogTail([], False, 0, None)
    rotated = path.with_name(path.name + ROTATED_SUFFIX)
    out, complete = current.lines, current.from_start
    if complete and len(out) < lines and max_bytes > current.bytes_read:
        older = _read_end(rotated, max_bytes - current.bytes_read)
        if older is not None:
            out, complete = older.lines + out, older.from_start
    elif complete:
        complete = not rotated.exists()
    truncated = not complete or len(out) > lines
    return LogTail(out[-lines:], truncated, current.size, current.mtime)
