"""`Encoders`: what the routers, /metrics and retention ask of the encoders, whoever runs them:
the local `EncoderSupervisor` (roles all and worker) or `ClusterEncoders` (role api, which controls
the workers' encoders through the database)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from app.services.archive import retention
from app.services.encoders.encoder_log import LogTail
from app.services.encoders.encoder_status import ChannelEncoderStatus


class Encoders(Protocol):
    async def refresh_channels(self) -> None:
        """Pick up channels added or removed since the last look."""

    def status(self) -> list[ChannelEncoderStatus]: ...

    def status_of(self, key: str) -> ChannelEncoderStatus: ...

    async def start(self, key: str) -> ChannelEncoderStatus:
        """409 `already_running`; 404 `channel_not_found` for a key that is not a channel's."""

    async def stop(self, key: str) -> ChannelEncoderStatus:
        """409 `not_running`."""

    async def restart(self, key: str) -> ChannelEncoderStatus:
        """Make-before-break for a running encoder; 503 `encoder_restart_failed` keeps the old run."""

    async def restart_if_running(self, key: str) -> bool:
        """Restart (after a key rotation) only a channel that is on; whether it was."""

    async def log_tail(self, key: str, lines: int) -> LogTail: ...

    def add_retention_listener(self, listener: retention.Listener) -> None:
        """Called per channel after each clean-up (the archive index forgets what was deleted)."""

    async def cleanup(self, now: datetime | None = None) -> retention.CleanupResult: ...
