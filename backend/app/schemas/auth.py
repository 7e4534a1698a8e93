from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

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


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=10, max_length=1024, description="At least 10 characters")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: Literal["viewer", "admin"]
    subscription_active: bool
    disabled: bool
    created_at: datetime


class UsersOut(BaseModel):
    users: list[UserOut]


class UserPatchIn(BaseModel):
    """What an operator changes; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["viewer", "admin"] | None = Field(
        default=None, description="A new role also signs the user out everywhere"
    )
    subscription_active: StrictBool | None = None
    disabled: StrictBool | None = Field(default=None, description="A disabled user is refused everywhere")
