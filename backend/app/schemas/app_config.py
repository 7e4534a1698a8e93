from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DemoAccountOut(BaseModel):
    email: str
    password: str
    role: str
    description: str


class AppConfigOut(BaseModel):
    """What the web app needs before anyone signs in."""

    environment: Literal["development", "production"]
    demo_accounts: list[DemoAccountOut] = Field(description="Listed in development only; empty otherwise")
    startover_prompt_after_seconds: int = Field(
        description="The Start Over prompt shows when the programme on air began longer ago than this"
    )
    live_window_seconds: int = Field(description="How far back the live playlist reaches")
