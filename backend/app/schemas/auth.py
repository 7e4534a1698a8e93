from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.patterns import NO_NUL


class LoginRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class ProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    is_default: bool


class MeOut(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    subscription_active: bool
    profile_id: uuid.UUID | None
    profiles: list[ProfileOut]


class ProfilesOut(BaseModel):
    profiles: list[ProfileOut]
