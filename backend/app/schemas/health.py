from __future__ import annotations

from pydantic import BaseModel, Field


class HealthOut(BaseModel):
    status: str = Field(description="`ok`, or `unavailable` when the database does not answer")
    detail: str | None = Field(default=None, description="Why it is unavailable")
