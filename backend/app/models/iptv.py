from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models._types import UTCDateTime, new_uuid, utcnow


class IptvToken(Base):
    """A viewer's IPTV link (docs/PRODUCT.md, 'IPTV export'): only the SHA-256 of its secret is
    kept. It stands while its row exists and the user's `token_epoch` is the one it was made under
    (a new password or role ends it, as it ends the user's access tokens)."""

    __tablename__ = "iptv_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256
    token_epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
