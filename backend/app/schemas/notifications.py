from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    profile_id: uuid.UUID | None
    schedule_entry_id: uuid.UUID | None
    kind: str
    title: str
    body: str
    deep_link: str | None
    read: bool
    created_at: datetime


class NotificationsOut(BaseModel):
    notifications: list[NotificationOut]
    unread: int
