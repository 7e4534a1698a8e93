from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, Uuid, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.models._types import UTCDateTime, new_uuid


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(120))
    number: Mapped[int] = mapped_column(Integer, unique=True)
    logo_url: Mapped[str | None] = mapped_column(String(500))
    genre: Mapped[str | None] = mapped_column(String(60))
    # Length of the SimLive source loop; one schedule entry per loop (docs/PRODUCT.md, 'Media pipeline').
    loop_seconds: Mapped[int | None] = mapped_column(Integer)

    # TSTV additions
    cdn_channel_key: Mapped[str | None] = mapped_column(String(20), unique=True)
    tstv_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    startover_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    catchup_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    catchup_window_hours: Mapped[int] = mapped_column(Integer, default=168, server_default="168")
    cutv_window_hours: Mapped[int] = mapped_column(Integer, default=168, server_default="168")

    schedule: Mapped[list[ScheduleEntry]] = relationship(back_populates="channel")


class ScheduleEntry(Base):
    __tablename__ = "schedule_entries"
    __table_args__ = (Index("ix_schedule_channel_start", "channel_id", "start_time", "end_time"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    synopsis: Mapped[str | None] = mapped_column(Text)
    genre: Mapped[str | None] = mapped_column(String(60))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    series_title: Mapped[str | None] = mapped_column(String(200))
    season_number: Mapped[int | None] = mapped_column(Integer)
    episode_number: Mapped[int | None] = mapped_column(Integer)

    # TSTV additions
    series_id: Mapped[str | None] = mapped_column(String(64), index=True)
    catchup_eligible: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    startover_eligible: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    channel: Mapped[Channel] = relationship(back_populates="schedule")


class CatalogueState(Base):
    """One row whose `version` database triggers bump on every change to `channels` or
    `schedule_entries`, in the writer's transaction (migration 0002). Whatever is derived from
    those tables (the catch-up listings' cache) is tagged with the version it was read at and is
    stale as soon as the version moves, whoever wrote: this process, another one, or plain SQL."""

    __tablename__ = "catalogue_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
