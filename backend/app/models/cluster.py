"""Shared state of api and worker processes (docs/SCALING.md): the operators' wanted encoder state, what
the owning workers publish about their encoders, and the workers' registrations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models._types import UTCDateTime, utcnow


class EncoderWanted(Base):
    """Per channel: running or stopped as operators want it (absent: running), and a counter every
    operator restart or key rotation bumps; the owning worker acts on a counter it has not done."""

    __tablename__ = "encoder_wanted"

    channel_key: Mapped[str] = mapped_column(String(20), primary_key=True)
    wanted: Mapped[bool] = mapped_column(Boolean)
    restart_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EncoderStatus(Base):
    """The owning worker's view of one channel's encoder, republished every second while it owns it
    (`status`: the JSON of the admin status row)."""

    __tablename__ = "encoder_status"

    channel_key: Mapped[str] = mapped_column(String(20), primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(Text)
    restart_seq_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClusterWorker(Base):
    """A worker process, with a heartbeat every second (who is alive is read from the workers'
    advisory locks; the table says who they are)."""

    __tablename__ = "cluster_workers"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    lock_id: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channels: Mapped[str] = mapped_column(Text, default="", server_default="")


class LoginFailure(Base):
    """A failed login (TSTV_ROLE=api): every API replica counts the same failures per e-mail."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    # The client address it came from (the throttle counts per address and per e-mail and address).
    address: Mapped[str] = mapped_column(String(64), default="", server_default="", index=True)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
