"""The one source of "now". Tests swap it to probe time rules at their edges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Install a clock (None restores the real one)."""
    global _now
    _now = fn if fn is not None else (lambda: datetime.now(UTC))
