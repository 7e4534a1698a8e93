"""The catch-up catalogue: what a viewer can play now, by channel or by day.

After the channel row(s), one SQL statement per listing does the filtering, counting and paging:
the programme's eligibility flag, the viewer window (ended, and ended less than the channel's
`cutv_window_hours` ago) and "the archive holds at least part of it", which is the programme
overlapping one of the archive index's covered ranges (a handful per channel, passed as bound
values). The per-channel switches are checked on the channel rows. The statement counts the
matches (`COUNT(*) OVER ()`) and cuts the page on narrow rows, then reads the full programmes for
the page's rows only. Statements are built once per shape and rows come back as plain Core rows,
not ORM entities.

Every listed row is passed through `rights.catchup_decision`, the one eligibility function, which
has the last word and supplies `expires_at`; the SQL only agrees with it so that `total` and
paging are exact without reading the whole window. An archive that cannot list its covered
ranges, or channels with very many of them, fall back to an exact check in Python over the
window's light rows.

Pages are the same for every viewer but for the bookmarks: they are kept in a `ListingCache` (see
there for when a page is reused), so a request normally costs one small query, which reads the
catalogue version and the profile's bookmarks of the page's programmes together.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Float,
    Integer,
    Row,
    Select,
    UnaryExpression,
    Uuid,
    and_,
    bindparam,
    case,
    func,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db import DriverQuery
from app.domain import rights
from app.domain.bookmarks import TSTV_TYPES
from app.models import Bookmark, CatalogueState, Channel, ScheduleEntry
from app.services.catalogue.catalogue_cache import ListingCache, Miss, Timed

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
_T = TypeVar("_T")


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


@dataclass(frozen=True, slots=True, weakref_slot=True, eq=False)
class SharedPage:
    """A listing page as every viewer sees it (no bookmarks). Cached pages are shared between
    requests, so whatever is derived from one alone can be memoised against it."""

    items: list[CatchupItem]
    total: int
    ids: list[uuid.UUID]  # of the items' programmes

    @classmethod
    def of(cls, items: list[CatchupItem], total: int) -> SharedPage:
        return cls(items, total, [item.entry.id for item in items])


@dataclass(frozen=True, slots=True)
class CatchupPage:
    """A page for one profile: the shared page and the profile's bookmark positions in it."""

    shared: SharedPage
    bookmarks: dict[uuid.UUID, float]

    @property
    def total(self) -> int:
        return self.shared.total


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


# Range ends as datetimes, rounded outwards to whole µs; the same few values come back on every
# request, so the conversions are kept (a bounded table, emptied when full).
_as_datetime: dict[tuple[float, bool], datetime] = {}


def _to_us(ts: float, up: bool) -> datetime:
    found = _as_datetime.get((ts, up))
    if found is None:
        if len(_as_datetime) >= 4096:
            _as_datetime.clear()
        us = math.ceil(ts * 1e6) if up else math.floor(ts * 1e6)
        found = _as_datetime[(ts, up)] = _EPOCH + timedelta(microseconds=us)
    return found


def _floor_us(ts: float) -> datetime:
    return _to_us(ts, False)


def _ceil_us(ts: float) -> datetime:
    return _to_us(ts, True)


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
# However long nothing in a listing's channels ends, a cached page is recomputed after this.
MAX_PAGE_AGE = timedelta(hours=1)


def _order(columns: Any, spec: Order) -> list[UnaryExpression[Any]]:
    return [columns[name].desc() if desc else columns[name].asc() for name, desc in spec]


def _listing(
    where: Sequence[ColumnElement[bool]],
    order: Order,
    limit: ColumnElement[int] | None,
    offset: ColumnElement[int] | None,
) -> Select[Any]:
    """The page of matching programmes with the match count. The database counts, sorts and cuts
    narrow rows (id and sort keys), then reads the full programme for the page's rows only."""
    keys = [_se.id, *(_se[name] for name, _ in order if name != "id")]
    page = select(*keys, func.count().over().label("total")).where(*where).order_by(*_order(_se, order))
    if limit is not None:
        page = page.limit(limit)
    if offset is not None:
        page = page.offset(offset)
    cut = page.subquery("page")
    entry = ScheduleEntry.__table__.alias("entry")
    listed = select(*(entry.c[c.name] for c in ENTRY_COLUMNS), cut.c.total).select_from(
        cut.join(entry, entry.c.id == cut.c.id)
    )
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


_boundary_statements: dict[int, Select[Any]] = {}


def _boundaries_statement(n_channels: int) -> Select[Any]:
    """Per channel c0..cn: the first programme end inside its window (one leaves the listing then),
    the next end after now (one joins), and the first start at or after the live edge `cj_live`
    (the end of its last recorded range: the listing only changes as that edge grows past a
    programme start)."""
    found = _boundary_statements.get(n_channels)
    if found is not None:
        return found
    in_windows = (
        and_(_se.channel_id == bindparam(f"c{j}"), _se.end_time > bindparam(f"c{j}_cutoff"))
        for j in range(n_channels)
    )
    after_edge = (
        (
            and_(_se.channel_id == bindparam(f"c{j}"), _se.start_time >= bindparam(f"c{j}_live")),
            _se.start_time,
        )
        for j in range(n_channels)
    )
    built: Select[Any] = (
        select(
            _se.channel_id,
            func.min(_se.end_time),
            func.min(case((_se.end_time > bindparam("now"), _se.end_time))),
            func.min(case(*after_edge)),
        )
        .where(or_(*in_windows))
        .group_by(_se.channel_id)
    )
    if len(_boundary_statements) < 64:
        _boundary_statements[n_channels] = built
    return built


@dataclass(frozen=True, slots=True)
class _Cached:
    """A computed page and how far each channel's live edge may grow before it could change."""

    page: SharedPage
    edges: tuple[datetime, ...]  # each channel's live edge when computed
    limits: tuple[datetime | None, ...]  # ... and the first programme start at or after it

    def fits(self, edges: tuple[datetime, ...]) -> bool:
        return all(
            old <= edge and (limit is None or edge <= limit)
            for edge, old, limit in zip(edges, self.edges, self.limits, strict=True)
        )


async def _cached_page(
    conn: AsyncConnection,
    page: SharedPage,
    params: dict[str, Any],
    channels: Sequence[CatchupChannel],
    now: datetime,
) -> Timed:
    """`page` with the time span in which time alone cannot change it (the next programme end or
    the first window end of its channels c0..cn, whichever is first) and its live-edge limits."""
    until = now + MAX_PAGE_AGE
    found: dict[uuid.UUID, datetime | None] = {}
    for channel_id, first_in_window, next_end, after_edge in await conn.execute(
        _boundaries_statement(len(channels)), params
    ):
        window = timedelta(hours=next(c for c in channels if c.id == channel_id).cutv_window_hours)
        until = min(until, first_in_window + window, next_end or until)
        found[channel_id] = after_edge
    edges = tuple(params[f"c{j}_live"] for j in range(len(channels)))
    cached = _Cached(page, edges, tuple(found.get(c.id) for c in channels))
    return Timed(cached, now, until, weight=len(page.items) + 1)


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
            items.append(CatchupItem(row, channel, decision.expires_at))
    return items


@dataclass(frozen=True, slots=True)
class _Recorded:
    """A channel with something recorded in its window, and those recorded ranges."""

    channel: CatchupChannel
    cutoff: datetime
    ranges: list[Range]


def _recorded(
    channels: Sequence[CatchupChannel],
    covered: Callable[[str], list[tuple[float, float]]],
    now: datetime,
    not_before: datetime | None,
) -> list[_Recorded]:
    out = []
    for c in channels:
        cutoff = now - timedelta(hours=c.cutv_window_hours)
        ranges = recorded_ranges(covered(c.cdn_channel_key or ""), now, cutoff, not_before)
        if ranges:  # else nothing of this channel's window was recorded
            out.append(_Recorded(c, cutoff, ranges))
    return out


def _bound_values(recorded: list[_Recorded], now: datetime) -> dict[str, Any]:
    """The listing's bound values: channels c0, c1, ... with their cutoff, ranges and live edge."""
    params: dict[str, Any] = {"now": now}
    for j, r in enumerate(recorded):
        params[f"c{j}"] = r.channel.id
        params[f"c{j}_cutoff"] = r.cutoff
        for i, (start, end) in enumerate(r.ranges):
            params[f"c{j}_r{i}_s"] = start
            params[f"c{j}_r{i}_e"] = end
        params[f"c{j}_live"] = r.ranges[-1][1]
    return params


_EMPTY = SharedPage.of([], 0)


async def _page(
    conn: AsyncConnection,
    cache: ListingCache,
    archive: rights.ArchiveView,
    channels: Sequence[CatchupChannel],
    order: Order,
    now: datetime,
    limit: int,
    offset: int,
    cached_only: bool,
    day: tuple[datetime, datetime] | None = None,
    genre: str | None = None,
) -> SharedPage:
    by_id = {c.id: c for c in channels}
    covered = _covered_ranges(archive)
    recorded = _recorded(channels, covered, now, day[0] if day else None) if covered else []
    counts = tuple(len(r.ranges) for r in recorded)
    if covered is None or sum(counts) > MAX_RANGE_TERMS:
        if cached_only:
            raise Miss
        return await _list_filtered(conn, archive, by_id, order, now, limit, offset, day, genre)
    if not counts:
        return _EMPTY

    async def compute() -> Timed:
        params = _bound_values(recorded, now)
        if day is not None:
            params["day_start"], params["day_end"] = day
        if genre:
            params["genre"] = genre.lower()
        statements = _statements_for(_Shape(order, counts, day is not None, bool(genre)))
        rows = (await conn.execute(statements.listing, {**params, "limit": limit, "offset": offset})).all()
        if rows:
            total = int(rows[0].total)
        elif offset:  # past the end: the window count had no row to ride on
            total = int((await conn.execute(statements.count, params)).scalar_one())
        else:
            total = 0
        page = SharedPage.of(_decide(rows, by_id, archive, now), total)
        return await _cached_page(conn, page, params, [r.channel for r in recorded], now)

    # The page depends on the recorded ranges but for each channel's live edge (the end of its last
    # range), which `_Cached.fits` checks.
    key_ranges = tuple((r.channel.id, tuple(r.ranges[:-1]), r.ranges[-1][0]) for r in recorded)
    edges = tuple(r.ranges[-1][1] for r in recorded)
    cached: _Cached = await cache.timed(
        ("page", order, key_ranges, day, genre, limit, offset),
        now,
        None if cached_only else compute,
        lambda found: cast(_Cached, found).fits(edges),
    )
    return cached.page


async def _list_filtered(
    conn: AsyncConnection,
    archive: rights.ArchiveView,
    channels: dict[uuid.UUID, CatchupChannel],
    order: Order,
    now: datetime,
    limit: int,
    offset: int,
    day: tuple[datetime, datetime] | None,
    genre: str | None,
) -> SharedPage:
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
        return SharedPage.of([], len(recorded))
    rows = (await conn.execute(_listing([_se.id.in_(page_ids)], order, None, None))).all()
    return SharedPage.of(_decide(rows, channels, archive, now), len(recorded))


# ---- the version check and the bookmarks: the only per-request query ---------------------------

_cs = CatalogueState.__table__.c
_VERSION = select(_cs.version).where(_cs.id == 1)


def _positions_statement(bookmarks: Select[Any]) -> CompoundSelect[Any]:
    """The catalogue version and the profile's TSTV bookmarks (furthest of catch-up and start-over)
    of the page's programmes (`bookmarks`: the page's bookmark rows), in one statement, so both
    come from one snapshot."""
    return union_all(
        select(_cs.version, sql_cast(null(), Uuid), sql_cast(null(), Float)).where(_cs.id == 1),
        bookmarks.add_columns(sql_cast(null(), BigInteger), _bm.content_id, func.max(_bm.position_seconds))
        .where(
            _bm.profile_id == bindparam("profile_id"),
            # Fixed values, not an "expanding" IN list re-rendered at every execution.
            _bm.content_type.in_([bindparam(f"bookmark_type_{t}", t) for t in TSTV_TYPES]),
        )
        .group_by(_bm.content_id),
    )


# PostgreSQL takes the page's ids as one array value, joined as a table (index lookups, not a
# scan of the profile's bookmarks); elsewhere an IN list rendered per execution.
_page_ids = func.unnest(bindparam("ids", type_=ARRAY(Uuid))).table_valued("id").render_derived("page_ids")
_POSITIONS_PG = DriverQuery(
    _positions_statement(
        select().select_from(_page_ids.join(Bookmark.__table__, _bm.content_id == _page_ids.c.id))
    )
)
_POSITIONS = DriverQuery(
    _positions_statement(
        select().select_from(Bookmark.__table__).where(_bm.content_id.in_(bindparam("ids", expanding=True)))
    )
)


async def _positions(
    conn: AsyncConnection, profile_id: uuid.UUID, page: SharedPage
) -> tuple[int | None, dict[uuid.UUID, float]]:
    version: int | None = None
    positions: dict[uuid.UUID, float] = {}
    stmt = _POSITIONS_PG if conn.dialect.name == "postgresql" else _POSITIONS
    for seen, content_id, position in await stmt.rows(conn, {"profile_id": profile_id, "ids": page.ids}):
        if content_id is None:
            version = seen
        else:
            positions[content_id] = position
    return version, positions


async def _serve(
    conn: AsyncConnection,
    cache: ListingCache,
    profile_id: uuid.UUID,
    resolve: Callable[[bool], Awaitable[tuple[_T, SharedPage]]],
) -> tuple[_T, CatchupPage]:
    """Serve from the cache when it is at the database's version (one query: the version and the
    bookmarks), else read the version first, then the data, then the bookmarks."""
    held = cache.version
    if held is not None:
        try:
            found, page = await resolve(True)
        except Miss:
            cache.observe(await _scalar(conn, _VERSION))
        else:
            seen, positions = await _positions(conn, profile_id, page)
            # Compared with the version the page was taken at, not `cache.version`: a notification
            # arriving during the query moves that to the new version while `page` stays the old one.
            if seen == held:
                return found, CatchupPage(page, positions)
            cache.observe(seen)
    else:
        cache.observe(await _scalar(conn, _VERSION))
    found, page = await resolve(False)
    return found, CatchupPage(page, (await _positions(conn, profile_id, page))[1])


async def _scalar(conn: AsyncConnection, stmt: Select[Any]) -> Any:
    return (await conn.execute(stmt)).scalar()


async def channel_catchup(
    conn: AsyncConnection,
    cache: ListingCache,
    archive: rights.ArchiveView,
    channel_ref: str,
    profile_id: uuid.UUID,
    now: datetime,
    limit: int,
    offset: int,
) -> tuple[CatchupChannel | None, CatchupPage]:
    """The channel (id or CDN key; None if unknown) and its programmes available on catch-up now,
    newest first."""

    async def resolve(cached_only: bool) -> tuple[CatchupChannel | None, SharedPage]:
        channel: CatchupChannel | None = await cache.value(
            ("channel", channel_ref), None if cached_only else lambda: channel_row(conn, channel_ref)
        )
        if channel is None or not offers_catchup(channel):
            return channel, _EMPTY
        return channel, await _page(
            conn, cache, archive, [channel], CHANNEL_ORDER, now, limit, offset, cached_only
        )

    return await _serve(conn, cache, profile_id, resolve)


async def day_catchup(
    conn: AsyncConnection,
    cache: ListingCache,
    archive: rights.ArchiveView,
    profile_id: uuid.UUID,
    now: datetime,
    day_start: datetime,
    day_end: datetime,
    limit: int,
    offset: int,
    channel_ref: str | None = None,
    genre: str | None = None,
) -> CatchupPage | None:
    """Programmes that started in [day_start, day_end) on any channel (or the one named: None if
    unknown) and are available now, newest first."""

    async def resolve(cached_only: bool) -> tuple[bool, SharedPage]:
        if channel_ref is not None:
            channel: CatchupChannel | None = await cache.value(
                ("channel", channel_ref), None if cached_only else lambda: channel_row(conn, channel_ref)
            )
            if channel is None:
                return False, _EMPTY
            candidates = [channel]
        else:
            candidates = await cache.value(
                "catchup channels", None if cached_only else lambda: catchup_channel_rows(conn)
            )
        channels = [c for c in candidates if offers_catchup(c)]
        if not channels:
            return True, _EMPTY
        page = await _page(
            conn,
            cache,
            archive,
            channels,
            DAY_ORDER,
            now,
            limit,
            offset,
            cached_only,
            (day_start, day_end),
            genre,
        )
        return True, page

    found, page = await _serve(conn, cache, profile_id, resolve)
    return page if found else None


async def recent_catchup(
    conn: AsyncConnection,
    cache: ListingCache,
    archive: rights.ArchiveView,
    profile_id: uuid.UUID,
    now: datetime,
    limit: int,
    offset: int,
) -> CatchupPage:
    """Programmes available on catch-up now on any channel, the most recently ended first (the
    home page's *Recently aired*: unlike a day's listing, not empty just after midnight)."""

    async def resolve(cached_only: bool) -> tuple[None, SharedPage]:
        candidates: list[CatchupChannel] = await cache.value(
            "catchup channels", None if cached_only else lambda: catchup_channel_rows(conn)
        )
        channels = [c for c in candidates if offers_catchup(c)]
        if not channels:
            return None, _EMPTY
        return None, await _page(
            conn, cache, archive, channels, CHANNEL_ORDER, now, limit, offset, cached_only
        )

    return (await _serve(conn, cache, profile_id, resolve))[1]
