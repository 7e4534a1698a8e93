"""One channel's encoder as operators and /metrics see it, the same whether the encoder runs in this
process (`EncoderSupervisor`) or on a worker (`ClusterEncoders`, which reads what the owning worker
publishes).

`ChannelEncoderStatus` declares the fields once and travels as itself: the routers, /metrics, the
benches and the tests read its attributes. Two edges turn it into JSON: the API's
`SimliveChannelStatus` (app/schemas/simlive.py, built in app/routers/admin_simlive.py) and the
cluster's `encoder_status` row (`published`, read back with `with_published`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class ChannelEncoderStatus:
    channel_key: str
    channel_name: str
    loop_seconds: int
    wanted: bool
    state: str = "stopped"  # stopped | starting | running | error
    running: bool = False
    pid: int | None = None
    uptime_seconds: float | None = None
    started_at: str | None = None  # ISO 8601
    restarts: int = 0  # unplanned exits since an operator last started the channel
    last_error: str | None = None
    last_exit_code: int | None = None
    run_id: str | None = None
    kid: str | None = None
    loop_offset: float | None = None
    source: str | None = None
    source_progress: float | None = None
    segment_count: int = 0
    disk_bytes: int = 0
    segments_written: int = 0
    # Only `ClusterEncoders` sets these two: they are not part of what a worker publishes.
    worker_id: str | None = None  # the worker running the encoder
    pending: bool = False  # an operator action's answer the owning worker has not confirmed yet

    def published(self) -> dict[str, Any]:
        """What a worker publishes of its encoder (JSON values only)."""
        return {name: getattr(self, name) for name in PUBLISHED}

    def with_published(self, seen: Mapping[str, Any], names: tuple[str, ...] = ()) -> ChannelEncoderStatus:
        """This status with the fields a worker published (only `names`, if given)."""
        return replace(self, **{k: seen[k] for k in names or PUBLISHED if k in seen})


PUBLISHED = tuple(f.name for f in fields(ChannelEncoderStatus) if f.name not in ("worker_id", "pending"))
