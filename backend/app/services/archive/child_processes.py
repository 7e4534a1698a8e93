"""FFmpeg children that do not outlive their backend process.

Each child asks Linux for PR_SET_PDEATHSIG (SIGKILL), so even `kill -9` of a worker takes its
encoders, source preparations, thumbnail and still decodes with it: the worker that takes the
channels over starts its own, and nothing left behind writes to the shared archive or the source
cache: no orphan FFmpeg after any kill. Both functions run in the child between fork and exec
(`preexec_fn`)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from app.config import Settings

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # pragma: no cover - runs in the child
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def die_with_parent_niced() -> None:  # pragma: no cover - runs in the child
    """For background work (source preparation, thumbnails, stills, backfill) that must never slow
    serving or the live encoders down: the lowest CPU priority."""
    die_with_parent()
    with contextlib.suppress(OSError):
        os.nice(19)


async def follow_progress(
    proc: asyncio.subprocess.Process,
    total_seconds: float,
    progress: Callable[[float], None] | None,
    log: logging.Logger,
    message: str,
    extra: dict[str, Any],
) -> None:
    """Drain FFmpeg's `-progress pipe:1` (a pipe left unread blocks the child once full), report the
    fraction of `total_seconds` written, and log `message` every few seconds."""
    assert proc.stdout is not None
    last_log = time.monotonic()
    while True:
        line = await proc.stdout.readline()
        if not line:
            return
        if not line.startswith(b"out_time_us="):
            continue
        try:
            frac = min(1.0, max(0.0, int(line.split(b"=", 1)[1]) / 1e6 / total_seconds))
        except ValueError:
            continue
        if progress:
            progress(frac)
        if time.monotonic() - last_log >= 5:
            last_log = time.monotonic()
            log.info(message, extra={**extra, "percent": round(frac * 100)})


def ffmpeg_exe(settings: Settings) -> str:
    """The FFmpeg every child runs: FFMPEG_BINARY, else the one imageio-ffmpeg ships."""
    if settings.ffmpeg_binary:
        return settings.ffmpeg_binary
    import imageio_ffmpeg

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe
