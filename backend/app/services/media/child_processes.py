"""FFmpeg children that do not outlive their backend process.

Each child asks Linux for PR_SET_PDEATHSIG (SIGKILL), so even `kill -9` of a worker takes its
encoders, source preparations, thumbnail and still decodes with it: the worker that takes the
channels over starts its own, and nothing left behind writes to the shared archive or the source
cache (issue 13: no orphan FFmpeg after any kill). Both functions run in the child between fork
and exec (`preexec_fn`)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # pragma: no cover - runs in the child
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def die_with_parent_niced() -> None:  # pragma: no cover - runs in the child
    """For background work (thumbnails) that must not slow the encoders down."""
    die_with_parent()
    with contextlib.suppress(OSError):
        os.nice(10)
