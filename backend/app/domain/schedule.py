"""When the demo schedule starts: every channel's programme k airs from here + k * loop length."""

from __future__ import annotations

from datetime import UTC, datetime

# Programme k of a channel airs from SCHEDULE_EPOCH + k * loop_seconds. The epoch is a multiple of
# every segment duration we use, so programme starts fall on segment boundaries.
SCHEDULE_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
