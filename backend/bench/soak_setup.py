"""What a soak's stack needs before viewers arrive: channels whose schedule covers the whole run, their
past backfilled (catch-up has aired programmes at once, as tests/stack.py's `backfilled` does), viewer
accounts, and each channel's programmes as the viewers will pick them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, insert, select

from app.config import Settings
from app.db import Database, make_engine
from app.domain.schedule import SCHEDULE_EPOCH
from app.models import Channel as ChannelRow
from app.models import ScheduleEntry
from app.services.accounts import accounts
from app.services.encoders.backfill import backfill_range
from bench.soak_viewer import VIEWER_EMAIL, Channel, Programme
from tests.stack import wait_until


async def add_channel(db_url: str, key: str, loop_s: int, since: float, until: float) -> uuid.UUID:
    """A channel of `loop_s`-second programmes aligned on the schedule epoch, scheduled over
    [since, until] (tests/stack.py's add_short_loop_channel covers one hour only: too short a soak)."""
    engine = make_engine(Settings(database_url=db_url))
    first = int(since - SCHEDULE_EPOCH.timestamp()) // loop_s
    last = int(until - SCHEDULE_EPOCH.timestamp()) // loop_s + 1
    try:
        async with engine.begin() as conn:
            channel_id = uuid.uuid4()
            taken = (await conn.execute(select(func.max(ChannelRow.number)))).scalar() or 0
            await conn.execute(
                insert(ChannelRow).values(
                    id=channel_id,
                    name=f"Soak {key}",
                    number=max(900, taken + 1),
                    genre="Soak",
                    loop_seconds=loop_s,
                    cdn_channel_key=key,
                    tstv_enabled=True,
                    startover_enabled=True,
                    catchup_enabled=True,
                    catchup_window_hours=168,
                    cutv_window_hours=168,
                )
            )
            rows = [
                {
                    "id": uuid.uuid4(),
                    "channel_id": channel_id,
                    "title": f"Soak programme {k}",
                    "genre": "Soak",
                    "start_time": SCHEDULE_EPOCH + timedelta(seconds=k * loop_s),
                    "end_time": SCHEDULE_EPOCH + timedelta(seconds=(k + 1) * loop_s),
                    "catchup_eligible": True,
                    "startover_eligible": True,
                }
                for k in range(first, last + 1)
            ]
            await conn.execute(insert(ScheduleEntry), rows)
    finally:
        await engine.dispose()
    return channel_id


async def add_viewers(db_url: str, password: str, first: int, count: int) -> None:
    """Viewer accounts soak{first}..soak{first + count - 1}, subscribed, as an operator adds them
    (app/services/accounts/accounts.py): one account per simulated viewer, so sessions and bookmarks
    are per viewer as in a real audience."""
    db = Database(Settings(database_url=db_url, jwt_secret="unused-" + "x" * 32))
    try:
        async with db.sessionmaker() as session:
            for n in range(first, first + count):
                await accounts.add_user(session, VIEWER_EMAIL.format(n=n), password, "viewer", True)
    finally:
        await db.dispose()


def backfill(settings: Settings, keys: list[str], since: float, until: float) -> None:
    """The channels' archive over [since, until) written at once (app/services/encoders/backfill.py)."""

    async def run() -> None:
        db = Database(settings)
        span = datetime.fromtimestamp(since, UTC), datetime.fromtimestamp(until, UTC)
        try:
            await asyncio.gather(*(backfill_range(settings, db, k, *span) for k in keys))
        finally:
            await db.dispose()

    asyncio.run(run())


def wait_recorded(api: str, admin_token: str, keys: list[str], since: float, until: float) -> None:
    """Until the API process at `api` serves each channel's archive over [since, until)."""
    headers = {"Authorization": f"Bearer {admin_token}"}

    def covered(key: str) -> bool:
        r = httpx.get(f"{api}/api/v1/admin/archive/coverage/{key}", headers=headers, timeout=10)
        r.raise_for_status()
        return any(
            datetime.fromisoformat(x["start"]).timestamp() <= since + 1
            and datetime.fromisoformat(x["end"]).timestamp() >= until - 1
            for x in r.json()["recorded"]
        )

    for key in keys:
        wait_until(lambda k=key: covered(k), 120, f"{api} to serve {key}'s backfilled archive", every=0.5)


def load_channels(api: str, token: str, ids: dict[str, uuid.UUID], around: float) -> list[Channel]:
    """Each channel's programmes from the guide (GET /api/v1/epg/schedule), the day before to the
    day after `around` (UTC days)."""
    out = []
    for key, channel_id in ids.items():
        seen: dict[str, Programme] = {}
        for days in (-1, 0, 1):
            day = (datetime.fromtimestamp(around, UTC) + timedelta(days=days)).date().isoformat()
            r = httpx.get(
                f"{api}/api/v1/epg/schedule",
                params={"channel_id": str(channel_id), "date": day},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            r.raise_for_status()
            for e in r.json()["entries"]:
                start = datetime.fromisoformat(e["start_time"]).timestamp()
                end = datetime.fromisoformat(e["end_time"]).timestamp()
                seen[e["id"]] = Programme(e["id"], start, end)
        programmes = tuple(sorted(seen.values(), key=lambda p: p.start))
        if not programmes:
            raise SystemExit(f"soak: channel {key} has no programmes in the guide: misconfigured")
        out.append(Channel(str(channel_id), key, programmes))
    return out
