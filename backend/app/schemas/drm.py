from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from app.schemas.patterns import KID_BASE64URL


class DrmKeyOut(BaseModel):
    key_id: str = Field(description="UUID of the key (the KID)")
    kid_hex: str = Field(description="the KID as 32 hex digits, as in the init segment and run.json")
    key_value_hex: str
    channel_key: str
    active: bool
    created_at: datetime
    rotated_at: datetime | None = None
    expires_at: datetime | None = None


class LicenseRequest(BaseModel):
    """W3C ClearKey licence request."""

    kids: list[Annotated[str, Field(pattern=KID_BASE64URL)]] = Field(
        min_length=1, max_length=32, description="base64url KIDs (16 bytes each)"
    )
    type: str = Field(default="temporary", max_length=40)


class LicenseKey(BaseModel):
    kty: str = "oct"
    kid: str
    k: str


class LicenseResponse(BaseModel):
    keys: list[LicenseKey]
    type: str = "temporary"


class RotateOut(BaseModel):
    channel_key: str
    key_id: str
    kid_hex: str
    previous_key_id: str | None
    rotated_at: datetime
    encoder_restarted: bool
