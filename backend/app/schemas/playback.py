from __future__ import annotations

import uuid

from pydantic import BaseModel

from app.schemas.epg import ScheduleEntryOut


class StartoverInfoOut(BaseModel):
    channel_id: uuid.UUID
    schedule_entry: ScheduleEntryOut
    startover_available: bool
    elapsed_seconds: int
