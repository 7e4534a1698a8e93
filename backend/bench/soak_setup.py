"""What a soak's stack needs before viewers arrive: channels whose schedule covers the whole run, their
past backfilled (catch-up has aired programmes at once, as tests/stack.py's `backfilled` does), viewer
accounts, and each channel's programmes as the viewers will pick them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from app.config import Settings
from app.db import Database
from app.services.accounts import accounts
from app.services.encoders.backfill import backfill_range
from bench.soak_viewer import VIEWER_EMAIL, Channel, Programme
from tests.stack import add_short_loop_channel, wait_until


async def add_channel(db_url: str, key: str, loop_s: int, since: float, until: float) -> uuid.UUID:
    """A channel of `loop_s`-second programmes aligned on the schedule epoch, scheduled over
    [since, until] (tests/stack.py's add_short_loop_channel, for the soak's whole length)."""
    return await add_short_loop_channel(
        db_url,
        key,
        loop_s,
        datetime.fromtimestamp(since, UTC) + timedelta(minutes=10),
        genre="Soak",
        title="Soak programme",
        name=f"Soak {key}",
        until=datetime.fromtimestamp(until, UTC),
    )


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
