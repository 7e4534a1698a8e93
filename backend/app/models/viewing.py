from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models._types import UTCDateTime, new_uuid, utcnow

BOOKMARK_CONTENT_TYPES = ("movie", "episode", "tstv_catchup", "tstv_startover")
SESSION_TYPES = ("startover", "catchup")


class Bookmark(Base):
    __tablename__ = "bookmarks"
    __table_args__ = (
        UniqueConstraint("profile_id", "content_id", "content_type", name="uq_bookmarks_profile_content"),
        CheckConstraint(
            "content_type IN ('movie', 'episode', 'tstv_catchup', 'tstv_startover')",
            name="ck_bookmarks_content_type",
        ),
        CheckConstraint("position_seconds >= 0", name="ck_bookmarks_position"),
        Index("ix_bookmarks_profile_updated", "profile_id", "updated_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    content_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    content_type: Mapped[str] = mapped_column(String(20))
    position_seconds: Mapped[float] = mapped_column(Float, default=0)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TstvSession(Base):
    __tablename__ = "tstv_sessions"
    __table_args__ = (
        CheckConstraint("session_type IN ('startover', 'catchup')", name="ck_tstv_sessions_type"),
        CheckConstraint("last_position_s >= 0", name="ck_tstv_sessions_position"),
        Index("ix_tstv_sessions_user", "user_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(20))  # the cdn key
    schedule_entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schedule_entries.id", ondelete="CASCADE"), index=True
    )
    session_type: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_position_s: Mapped[float] = mapped_column(Float, default=0)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SeriesRecording(Base):
    """A viewer's standing order for a series: every upcoming episode, and each new one as the
    schedule job adds it, until deleted. Episodes that no longer fit the quota are skipped (counted)."""

    __tablename__ = "series_recordings"
    __table_args__ = (UniqueConstraint("user_id", "series_id", name="uq_series_recordings_user_series"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    series_id: Mapped[str] = mapped_column(String(64))
    series_title: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The start of the newest episode already considered: the job looks only at later ones, so an
    # episode the viewer deleted (or one skipped) is not recorded again.
    considered_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    skipped_episodes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_skipped_entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    last_skipped_reason: Mapped[str | None] = mapped_column(String(40))


class Recording(Base):
    """A network recording: a pointer to a time range of the archive (the programme's), not a copy.
    Its status is computed from the archive index, never stored."""

    __tablename__ = "recordings"
    __table_args__ = (
        UniqueConstraint("user_id", "schedule_entry_id", name="uq_recordings_user_entry"),
        Index("ix_recordings_schedule_entry_id", "schedule_entry_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    schedule_entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schedule_entries.id", ondelete="CASCADE")
    )
    channel_id: Mapped[str] = mapped_column(String(20))  # the cdn key
    series_recording_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("series_recordings.id", ondelete="SET NULL"), index=True
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # One expiry notice per profile and programme, enforced by the database.
        UniqueConstraint(
            "profile_id", "kind", "schedule_entry_id", name="uq_notifications_profile_kind_entry"
        ),
        Index("ix_notifications_user_read", "user_id", "read", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    schedule_entry_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("schedule_entries.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    deep_link: Mapped[str | None] = mapped_column(String(500))
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
