"""The web app's start-up configuration: public, no token (the sign-in page needs it)."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import SettingsDep
from app.schemas.app_config import AppConfigOut, DemoAccountOut
from app.services.catalogue.seed import DEMO_ACCOUNTS

router = APIRouter(tags=["app"])

_DESCRIPTIONS = {
    "viewer@tstv.local": "Viewer with a subscription",
    "nosub@tstv.local": "Viewer without a subscription",
    "admin@tstv.local": "Operator",
}


@router.get("/config", response_model=AppConfigOut)
async def app_config(settings: SettingsDep) -> AppConfigOut:
    development = settings.tstv_env == "development"
    accounts = [
        DemoAccountOut(
            email=a.email,
            password=settings.demo_password,
            role=a.role,
            description=_DESCRIPTIONS.get(a.email, a.profile_name),
        )
        for a in DEMO_ACCOUNTS
        if development and settings.seed_on_startup
    ]
    return AppConfigOut(
        environment=settings.tstv_env,
        demo_accounts=accounts,
        startover_prompt_after_seconds=settings.startover_prompt_after_seconds,
        live_window_seconds=settings.live_window_minutes * 60,
    )
