from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class IptvTokenOut(BaseModel):
    """An IPTV link as listed: never its secret, which only its creation shows."""

    id: uuid.UUID
    created_at: datetime


class IptvTokenCreatedOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    token: str = Field(description="The secret: shown once, only its hash is kept")
    playlist_url: str = Field(description="The M3U playlist for an IPTV player (absolute URL)")
    epg_url: str = Field(description="The XMLTV guide (absolute URL)")


class IptvTokensOut(BaseModel):
    tokens: list[IptvTokenOut]
