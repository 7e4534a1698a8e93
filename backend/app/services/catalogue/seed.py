"""Idempotent seed: the five SimLive channels and their schedule, and in development only the demo
accounts (elsewhere accounts are made with `python -m app.users`, app/services/accounts/accounts.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import clock
from app.config import Settings
from app.models import Channel, Profile, User
from app.services.accounts.auth_service import hash_password_async, verify_password_async
from app.services.catalogue.channel_catalogue import CHANNELS
from app.services.catalogue.schedule_service import fill_schedule

log = logging.getLogger("tstv.seed")


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    subscription_active: bool
    profile_name: str


DEMO_ACCOUNTS = (
    DemoAccount("viewer@tstv.local", "viewer", True, "Viewer"),
    DemoAccount("nosub@tstv.local", "viewer", False, "No Subscription"),
    DemoAccount("admin@tstv.local", "admin", True, "Operator"),
)


async def seed_channels(session: AsyncSession) -> None:
    existing = {c.id for c in (await session.scalars(select(Channel))).all()}
    for cdef in CHANNELS:
        if cdef.id in existing:
            continue
        session.add(
            Channel(
                id=cdef.id,
                name=cdef.name,
                number=cdef.number,
                genre=cdef.genre,
                logo_url=cdef.logo_url,
                loop_seconds=cdef.loop_seconds,
                cdn_channel_key=cdef.key,
                cutv_window_hours=cdef.cutv_window_hours,
                catchup_window_hours=168,
            )
        )
    await session.commit()


async def seed_accounts(session: AsyncSession, password: str) -> None:
    for acct in DEMO_ACCOUNTS:
        user = await session.scalar(
            select(User).options(selectinload(User.profiles)).where(User.email == acct.email)
        )
        if user is None:
            user = User(
                email=acct.email,
                password_hash=await hash_password_async(password),
                role=acct.role,
                subscription_active=acct.subscription_active,
            )
            user.profiles = [Profile(name=acct.profile_name, is_default=True)]
            session.add(user)
        elif not await verify_password_async(password, user.password_hash):
            user.password_hash = await hash_password_async(password)
    await session.commit()


async def seed_all(session: AsyncSession, settings: Settings) -> None:
    await seed_channels(session)
    if settings.tstv_env == "development":
        await seed_accounts(session, settings.demo_password)
    added = await fill_schedule(session, clock.now())
    log.info("seed complete", extra={"schedule_rows_added": added})
