"""The catch-up catalogue: what a viewer can play now, by channel or by day.

After the channel row(s), one SQL statement per listing does the filtering, counting and paging:
the programme's eligibility flag, the viewer window (ended, and ended less than the channel's
`cutv_window_hours` ago) and "the archive holds at least part of it", which is the programme
overlapping one of the archive index's covered ranges (a handful per channel, passed as bound
values). The per-channel switches are checked on the channel rows. The statement counts the
matches (`COUNT(*) OVER ()`) and cuts the page on narrow rows, then reads the full programmes and
the profile's bookmark for the page's rows only. Statements are built once per shape and rows come
back as plain Core rows, not ORM entities.

Every returned row is still passed through `rights.catchup_decision`, the one eligibility
function, which has the last word and supplies `expires_at`; the SQL only agrees with it so that
`total` and paging are exact without reading the whole window. An archive that cannot list its
covered ranges, or channels with very many of them, fall back to an exact check in Python over
the window's light rows.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    UnaryExpression,
    and_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.models import Bookmark, Channel, ScheduleEntry
from app.services import rights

TSTV_BOOKMARK_TYPES = ("tstv_catchup", "tstv_startover")
# Above this many range terms in one statement, check the archive in Python instead.
MAX_RANGE_TERMS = 64

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_se = ScheduleEntry.__table__.c
_ch = Channel.__table__.c
_bm = Bookmark.__table__.c

# What a listed programme carries (the fields of `ScheduleEntryOut`, plus what the rights read).
ENTRY_COLUMNS = (
    _se.id,
    _se.channel_id,
    _se.title,
    _se.synopsis,
    _se.genre,
    _se.start_time,
    _se.end_time,
    _se.series_title,
    _se.series_id,
    _se.season_number,
    _se.episode_number,
    _se.catchup_eligible,
    _se.startover_eligible,
)
CHANNEL_COLUMNS = (
    _ch.id,
    _ch.name,
    _ch.number,
    _ch.logo_url,
    _ch.cdn_channel_key,
    _ch.tstv_enabled,
    _ch.startover_enabled,
    _ch.catchup_enabled,
    _ch.cutv_window_hours,
)

# A listed programme: a Core row of ENTRY_COLUMNS, `total` and `bookmark_position_seconds`,
# whose attribute names are those of the model (what the rights read).
EntryRow = Row[*tuple[Any, ...]]
Range = tuple[datetime, datetime]


@dataclass(slots=True)
class CatchupChannel:
    """A channel as the listings need it (CHANNEL_COLUMNS, in order): what the rights read and
    what every listed item carries."""

    id: uuid.UUID
    name: str
    number: int
    logo_url: str | None
    cdn_channel_key: str | None
    tstv_enabled: bool
    startover_enabled: bool
    catchup_enabled: bool
    cutv_window_hours: int


@dataclass(slots=True)
class CatchupItem:
    entry: EntryRow
    channel: CatchupChannel
    expires_at: datetime
    bookmark_position_seconds: float | None


@dataclass(frozen=True)
class CatchupPage:
    items: list[CatchupItem]
    total: int


# ---- channels -------------------------------------------------------------------------------


async def tstv_channels(session: AsyncSession) -> Sequence[Channel]:
    return (
        await session.scalars(
            select(Channel)
            .where(Channel.tstv_enabled.is_(True), Channel.cdn_channel_key.is_not(None))
            .order_by(Channel.number)
        )
    ).all()


async def find_channel(session: AsyncSession, ref: str) -> Channel | None:
    """A channel by its id (UUID) or its CDN key."""
    try:
        channel_uuid = uuid.UUID(ref)
    except ValueError:
        return await session.scalar(select(Channel).where(Channel.cdn_channel_key == ref))
    return await session.get(Channel, channel_uuid)


_CHANNEL_BY_ID = select(*CHANNEL_COLUMNS).where(_ch.id == bindparam("ref"))
_CHANNEL_BY_KEY = select(*CHANNEL_COLUMNS).where(_ch.cdn_channel_key == bindparam("ref"))
_CATCHUP_CHANNELS = (
    select(*CHANNEL_COLUMNS)
    .where(_ch.tstv_enabled.is_(True), _ch.catchup_enabled.is_(True), _ch.cdn_channel_key.is_not(None))
    .order_by(_ch.number)
)


async def channel_row(conn: AsyncConnection, ref: str) -> CatchupChannel | None:
    """`find_channel` without the ORM (id or CDN key)."""
    try:
        params: dict[str, Any] = {"ref": uuid.UUID(ref)}
        stmt = _CHANNEL_BY_ID
    except ValueError:
        params, stmt = {"ref": ref}, _CHANNEL_BY_KEY
    row = (await conn.execute(stmt, params)).first()
    return CatchupChannel(*row) if row is not None else None


async def catchup_channel_rows(conn: AsyncConnection) -> list[CatchupChannel]:
    """The channels that offer catch-up (the channel half of the rights)."""
    return [CatchupChannel(*row) for row in await conn.execute(_CATCHUP_CHANNELS)]


def offers_catchup(channel: CatchupChannel | Channel) -> bool:
    return bool(channel.cdn_channel_key) and bool(channel.tstv_enabled) and bool(channel.catchup_enabled)


# ---- the archive as SQL ---------------------------------------------------------------------


def _floor_us(ts: float) -> datetime:
    return _EPOCH + timedelta(microseconds=math.floor(ts * 1e6))


def _ceil_us(ts: float) -> datetime:
    return _EPOCH + timedelta(microseconds=math.ceil(ts * 1e6))


def _covered_ranges(archive: rights.ArchiveView) -> Callable[[str], list[tuple[float, float]]] | None:
    fn = getattr(archive, "covered_ranges", None)
    return cast("Callable[[str], list[tuple[float, float]]]", fn) if callable(fn) else None


def recorded_ranges(
    ranges: Sequence[tuple[float, float]], now: datetime, cutoff: datetime, not_before: datetime | None
) -> list[Range]:
    """The covered ranges a programme with `cutoff < end_time <= now` (and, for a day listing,
    `start_time >= not_before`) can overlap, as µs datetimes rounded outwards (so the SQL never
    misses what `archive.holds` would find; the rights function has the last word anyway).

    Exact simplifications: a range starting at or after `now` cannot overlap a programme that has
    ended; one ending at or before `not_before` cannot overlap one that starts later; and of the
    ranges ending at or before `cutoff`, only the last one matters (a programme ending after
    `cutoff` that overlaps an earlier one also overlaps the last)."""
    now_ts, cutoff_ts = now.timestamp(), cutoff.timestamp()
    floor_ts = not_before.timestamp() if not_before is not None else -math.inf
    last_old: tuple[float, float] | None = None
    out: list[Range] = []
    for s, e in ranges:
        if s >= now_ts or e <= floor_ts:
            continue
        if e <= cutoff_ts:
            last_old = (s, e)
            continue
        out.append((_floor_us(s), _ceil_us(e)))
    if last_old is not None:
        out.insert(0, (_floor_us(last_old[0]), _ceil_us(last_old[1])))
    return out


# ---- listings -------------------------------------------------------------------------------

# (column, newest first?) for each listing; the id makes the order total, so pages never overlap.
CHANNEL_ORDER = (("end_time", True), ("start_time", True), ("id", True))
DAY_ORDER = (("start_time", True), ("end_time", True), ("channel_id", False), ("id", False))
Order = tuple[tuple[str, bool], ...]


def _order(columns: Any, spec: Order) -> list[UnaryExpression[Any]]:
    return [columns[name].desc() if desc else columns[name].asc() for name, desc in spec]


def _listing(
    where: Sequence[ColumnElement[bool]],
    order: Order,
    limit: ColumnElement[int] | None,
    offset: ColumnElement[int] | None,
) -> Select[Any]:
    """The page of matching programmes with the match count and the profile's TSTV bookmark
    (the furthest of catch-up and start-over). The database counts, sorts and cuts narrow rows
    (id and sort keys), then reads the full programme and the bookmark for the page's rows only."""
    keys = [_se.id, *(_se[name] for name, _ in order if name != "id")]
    page = select(*keys, func.count().over().label("total")).where(*where).order_by(*_order(_se, order))
    if limit is not None:
        page = page.limit(limit)
    if offset is not None:
        page = page.offset(offset)
    cut = page.subquery("page")
    entry = ScheduleEntry.__table__.alias("entry")
    position = (
        select(func.max(_bm.position_seconds))
        .where(
            _bm.profile_id == bindparam("profile_id"),
            # Fixed values, not an "expanding" IN list re-rendered at every execution.
            _bm.content_type.in_([bindparam(f"bookmark_type_{t}", t) for t in TSTV_BOOKMARK_TYPES]),
            _bm.content_id == cut.c.id,
        )
        .scalar_subquery()
    )
    listed = select(
        *(entry.c[c.name] for c in ENTRY_COLUMNS),
        cut.c.total,
        position.label("bookmark_position_seconds"),
    ).select_from(cut.join(entry, entry.c.id == cut.c.id))
    return listed.order_by(*_order(cut.c, order))


@dataclass(frozen=True)
class _Shape:
    """What a listing statement looks like apart from its bound values: the number of channels,
    of recorded ranges per channel, whether it is cut to a day and filtered by genre."""

    order: Order
    ranges: tuple[int, ...]
    day: bool = False
    genre: bool = False


@dataclass(frozen=True)
class _Statements:
    listing: Select[Any]
    count: Select[Any]


_statements: dict[_Shape, _Statements] = {}


def _channel_clause(j: int, n_ranges: int) -> ColumnElement[bool]:
    """Programme of channel j, inside its viewer window, overlapping one of its recorded ranges
    (the SQL side of `archive.holds`: a range [s, e) overlaps [start_time, end_time))."""
    return and_(
        _se.channel_id == bindparam(f"c{j}"),
        _se.end_time > bindparam(f"c{j}_cutoff"),
        or_(
            *(
                and_(_se.start_time < bindparam(f"c{j}_r{i}_e"), _se.end_time > bindparam(f"c{j}_r{i}_s"))
                for i in range(n_ranges)
            )
        ),
    )


def _statements_for(shape: _Shape) -> _Statements:
    """Built once per shape and reused: SQLAlchemy's compiled cache and asyncpg's prepared
    statements then serve every request of that shape."""
    found = _statements.get(shape)
    if found is not None:
        return found
    where: list[ColumnElement[bool]] = [
        _se.catchup_eligible.is_(True),
        _se.end_time <= bindparam("now"),
        _se.channel_id.in_([bindparam(f"c{j}") for j in range(len(shape.ranges))]),
    ]
    if shape.day:
        where += [_se.start_time >= bindparam("day_start"), _se.start_time < bindparam("day_end")]
    if shape.genre:
        where.append(func.lower(_se.genre) == bindparam("genre"))
    where.append(or_(*(_channel_clause(j, n) for j, n in enumerate(shape.ranges))))
    limit, offset = bindparam("limit", type_=Integer), bindparam("offset", type_=Integer)
    built = _Statements(
        _listing(where, shape.order, limit, offset),
        select(func.count()).select_from(ScheduleEntry.__table__).where(*where),
    )
    if len(_statements) < 1024:
        _statements[shape] = built
    return built


def _decide(
    rows: Sequence[EntryRow],
    channels: dict[uuid.UUID, CatchupChannel],
    archive: rights.ArchiveView,
    now: datetime,
) -> list[CatchupItem]:
    """Every listed row through the one eligibility function (it has the last word)."""
    items = []
    decide = rights.catchup_decision
    for row in rows:
        channel = channels[row.channel_id]
        decision = decide(channel, row, now, archive)
        if decision.allowed and decision.expires_at is not None:
            items.append(CatchupItem(row, channel, decision.expires_at, row.bookmark_position_seconds))
    return items


def _range_params(
    channels: Sequence[CatchupChannel],
    covered: Callable[[str], list[tuple[float, float]]],
    now: datetime,
    not_before: datetime | None,
) -> tuple[dict[str, Any], list[int]]:
    """Bound values for the channels with something recorded in their window (numbered c0, c1,
    ... in order), and how many ranges each one has."""
    params: dict[str, Any] = {"now": now}
    counts: list[int] = []
    for c in channels:
        cutoff = now - timedelta(hours=c.cutv_window_hours)
        ranges = recorded_ranges(covered(c.cdn_channel_key or ""), now, cutoff, not_before)
        if not ranges:
            continue  # nothing of this channel's window was recorded
        j = len(counts)
        params[f"c{j}"] = c.id
        params[f"c{j}_cutoff"] = cutoff
        for i, (start, end) in enumerate(ranges):
            params[f"c{j}_r{i}_s"] = start
            params[f"c{j}_r{i}_e"] = end
        counts.append(len(ranges))
    return params, counts


async def _list(
    conn: AsyncConnection,
    archive: rights.ArchiveView,
    channels: Sequence[CatchupChannel],
    order: Order,
    profile_id: uuid.UUID,
    now: datetime,
    limit: int,
    offset: int,
    day: tuple[datetime, datetime] | None = None,
    genre: str | None = None,
) -> CatchupPage:
    by_id = {c.id: c for c in channels}
    covered = _covered_ranges(archive)
    if covered is None:
        return await _list_filtered(conn, archive, by_id, order, profile_id, now, limit, offset, day, genre)
    params, counts = _range_params(channels, covered, now, day[0] if day else None)
    if sum(counts) > MAX_RANGE_TERMS:
        return await _list_filtered(conn, archive, by_id, order, profile_id, now, limit, offset, day, genre)
    if not counts:
        return CatchupPage([], 0)
    if day is not None:
        params["day_start"], params["day_end"] = day
    if genre:
        params["genre"] = genre.lower()
    statements = _statements_for(_Shape(order, tuple(counts), day is not None, bool(genre)))
    rows = (
        await conn.execute(
            statements.listing, {**params, "profile_id": profile_id, "limit": limit, "offset": offset}
        )
    ).all()
    if rows:
        total = int(rows[0].total)
    elif offset:  # past the end: the window count had no row to ride on
        total = int((await conn.execute(statements.count, params)).scalar_one())
    else:
        total = 0
    return CatchupPage(_decide(rows, by_id, archive, now), total)


async def _list_filtered(
    conn: AsyncConnection,
    archive: rights.ArchiveView,
    channels: dict[uuid.UUID, CatchupChannel],
    order: Order,
    profile_id: uuid.UUID,
    now: datetime,
    limit: int,
    offset: int,
    day: tuple[datetime, datetime] | None,
    genre: str | None,
) -> CatchupPage:
    """The fallback: light rows of the whole window, `archive.holds` on each, then the page."""
    stmt = (
        select(_se.id, _se.channel_id, _se.start_time, _se.end_time)
        .where(
            _se.catchup_eligible.is_(True),
            _se.end_time <= now,
            or_(
                *(
                    and_(_se.channel_id == c.id, _se.end_time > now - timedelta(hours=c.cutv_window_hours))
                    for c in channels.values()
                )
            ),
        )
        .order_by(*_order(_se, order))
    )
    if day is not None:
        stmt = stmt.where(_se.start_time >= day[0], _se.start_time < day[1])
    if genre:
        stmt = stmt.where(func.lower(_se.genre) == genre.lower())
    recorded = [
        r.id
        for r in (await conn.execute(stmt)).all()
        if archive.holds(channels[r.channel_id].cdn_channel_key or "", r.start_time, r.end_time)
    ]
    page_ids = recorded[offset : offset + limit]
    if not page_ids:
        return CatchupPage([], len(recorded))
    page = _listing([_se.id.in_(page_ids)], order, None, None)
    rows = (await conn.execute(page, {"profile_id": profile_id})).all()
    return CatchupPage(_decide(rows, channels, archive, now), len(recorded))


async def channel_catchup(
    conn: AsyncConnection,
    archive: rights.ArchiveView,
    channel: CatchupChannel,
    profile_id: uuid.UUID,
    now: datetime,
    limit: int,
    offset: int,
) -> CatchupPage:
    """Programmes of one channel available on catch-up now, newest first."""
    if not offers_catchup(channel):
        return CatchupPage([], 0)
    return await _list(conn, archive, [channel], CHANNEL_ORDER, profile_id, now, limit, offset)


async def day_catchup(
    conn: AsyncConnection,
    archive: rights.ArchiveView,
    profile_id: uuid.UUID,
    now: datetime,
    day_start: datetime,
    day_end: datetime,
    limit: int,
    offset: int,
    channel: CatchupChannel | None = None,
    genre: str | None = None,
) -> CatchupPage:
    """Programmes that started in [day_start, day_end) on any (or one) channel and are available
    now, newest first."""
    candidates = [channel] if channel is not None else await catchup_channel_rows(conn)
    channels = [c for c in candidates if offers_catchup(c)]
    if not channels:
        return CatchupPage([], 0)
    return await _list(
        conn, archive, channels, DAY_ORDER, profile_id, now, limit, offset, (day_start, day_end), genre
    )
