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


class KeyInfoOut(BaseModel):
    """A content key without its value (unless `reveal=true` was asked)."""

    key_id: str = Field(description="UUID of the key (the KID)")
    kid_hex: str = Field(description="the KID as 32 hex digits")
    active: bool
    created_at: datetime
    age_seconds: float = Field(description="Seconds since `created_at`")
    rotated_at: datetime | None = Field(description="When a rotation replaced it (null while active)")
    expires_at: datetime | None = Field(description="When retention has deleted every segment under it")
    key_value_hex: str | None = Field(description="The key itself: only with `reveal=true`, else null")


class ChannelKeysOut(BaseModel):
    channel_key: str
    active: KeyInfoOut | None = Field(description="The key new segments are encrypted with (null: none yet)")
    rotated: list[KeyInfoOut] = Field(description="Keys replaced by a rotation, newest first")
    rotated_total: int = Field(description="How many rotated keys exist (`rotated` holds up to `limit`)")
