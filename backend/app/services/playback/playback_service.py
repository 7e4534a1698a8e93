"""Playback: which playlist a viewer may have right now, built from the archive index.

The master request is where rights are decided (via `rights`). It hands out a short-lived playback
token (`pb`) inside the media playlist URLs, so a playback already started keeps refreshing even if
the rights are revoked meanwhile (docs/PRODUCT.md, J5), while any new playback is refused at once.
The same token binds what the playback may fetch: the media playlists sign the CDN URLs of exactly
the files in its range (app/services/archive/url_signing.py), and carry it in their key URIs; the licence
(`app/routers/drm.py`) gives only the keys of the runs in its range (`licensable_kids`), after
checking the programme's rights again (`recheck_rights`).

The rows the rights read come from `RightsCache` (kept per catalogue version, the version pushed by
LISTEN/NOTIFY on PostgreSQL): a master request makes no database round trip while the pushed
version is current, and reads the version (one query) while it is not. The subscription state is
the user's current one (app/services/accounts/user_state.py); the playback token names its holder
(user, access token id, token epoch), so a running playback's media playlists and licences stop
the moment that user is disabled, signs out of that token, changes password or loses the
subscription.
"""

from __future__ import annotations

import math
import re
import uuid
from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import jwt

from app import clock
from app.catalogue_version import CatalogueFeed
from app.config import Settings
from app.db import Database
from app.domain import rights
from app.errors import ApiError
from app.services.accounts.auth_service import JWT_ALGORITHM, TokenClaims, verified_tokens
from app.services.archive import url_signing
from app.services.archive.archive_index import ArchiveIndex, Segment
from app.services.archive.archive_layout import AUDIO, BASE_VIDEO, RunInfo
from app.services.archive.media_info import DEFAULT_MEDIA_INFO, MediaInfo, media_info_for_run
from app.services.archive.thumbnails import (
    TILE_HEIGHT,
    TILE_WIDTH,
    SheetSet,
    ThumbnailStore,
    loop_position,
    sheet_set_of,
)
from app.services.playback.bounded_cache import kept
from app.services.playback.manifest_generator import (
    OVERLAP_TOLERANCE_S,
    ImageSegment,
    ImageStream,
    MediaPlaylistSpec,
    PlaylistKind,
    live_window_start,
    render_image_playlist,
    render_master_playlist,
    render_media_playlist,
    sample_durations,
    select_segments,
)
from app.services.playback.rights_cache import EntryRow, RightsCache
from app.services.playback.targets import Grant, Mode, Resolved, Target

# Segments a player stays behind the end of a live playlist (HLS's and Shaka's default).
LIVE_DELAY_SEGMENTS = 3
KEY_URI_TEMPLATE = "/api/v1/drm/keys/{kid}/raw?pb={pb}"
# Where a cached media playlist takes the viewer's playback token (a NUL never occurs in a playlist).
PB_SLOT = "\0"
IMAGES = "images"  # the thumbnails' image playlist, next to the renditions' media playlists
CATCHUP_PLAYBACK_GRACE = timedelta(hours=6)
# The longest time range one playlist may cover (docs/PRODUCT.md, 'Time ranges').
MAX_RANGE = timedelta(hours=24)
# How long after a programme's end its start-over waits for the archive to reach the end.
END_OF_PROGRAMME_GRACE_SEGMENTS = 5
# Forms whose playlist is an EVENT one growing to the programme's end while it airs.
GROWING_WHILE_ON_AIR = frozenset({Mode.STARTOVER, Mode.RECORDING})
# A host name (or IPv4 address) or an IPv6 address, as Starlette gives it without brackets.
_HOST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$")
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]{2,45}$")


def cdn_base_for(template: str, viewer_host: str | None) -> str:
    """Fill `{host}` in a CDN base URL. Anything that is not a plain host name or address (the Host
    header is the client's to write) falls back to localhost rather than reach the playlist."""
    if "{host}" not in template:
        return template
    host = "localhost"
    if viewer_host and _HOST_NAME.match(viewer_host):
        host = viewer_host
    elif viewer_host and ":" in viewer_host and _IPV6.match(viewer_host):
        host = f"[{viewer_host}]"
    return template.replace("{host}", host)


def whole_second_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """A range in UTC and whole seconds (a time without a zone is UTC), the start floored and the
    end rounded up, so it covers what was asked and its URLs and token name it exactly."""
    try:
        start, end = (t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC) for t in (start, end))
        ceil = end.replace(microsecond=0) + (timedelta(seconds=1) if end.microsecond else timedelta())
    except OverflowError:  # a time at the very end of the calendar, or shifted past it by its zone
        raise ApiError(422, "time_out_of_range", loc=["query", "end"]) from None
    return start.replace(microsecond=0), ceil


def _range_refusal(r: rights.RangeDecision[EntryRow]) -> dict[str, object]:
    """What a refused range's answer names: the programme, or the viewer window."""
    extra: dict[str, object] = {}
    if r.entry is not None:
        extra["schedule_entry_id"] = str(r.entry.id)
    if r.window is not None:
        extra["window_start"] = r.window[0].isoformat()
        extra["window_end"] = r.window[1].isoformat()
    return extra


class PlaybackService:
    def __init__(
        self,
        settings: Settings,
        index: ArchiveIndex,
        feed: CatalogueFeed | None = None,
        thumbnails: ThumbnailStore | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.rights = RightsCache(feed or CatalogueFeed())
        self.thumbnails = thumbnails or ThumbnailStore(settings)
        self._cache: OrderedDict[tuple[object, ...], str] = OrderedDict()
        # Media playlists: the text split where each viewer's playback token goes (key URIs).
        self._media_cache: OrderedDict[tuple[object, ...], tuple[str, ...]] = OrderedDict()
        self._info_cache: dict[tuple[object, ...], tuple[MediaInfo, ...]] = {}
        self._sheets_cache: dict[tuple[object, ...], frozenset[SheetSet | None]] = {}

    # ---- resolving and authorising -------------------------------------------------------------

    async def resolve(
        self, db: Database, mode: str, channel_id: uuid.UUID, entry_id: uuid.UUID | None
    ) -> Resolved:
        if mode != Mode.LIVE and entry_id is None:
            raise ApiError(422, "schedule_entry_id_required")
        # An entry of another channel comes back and is refused below.
        channel, entry = await self.rights.rows(db, channel_id, None if mode == Mode.LIVE else entry_id)
        if channel is None or not channel.cdn_channel_key:
            raise ApiError(404, "channel_not_found")
        if mode != Mode.LIVE and (entry is None or entry.channel_id != channel.id):
            raise ApiError(404, "schedule_entry_not_found")
        target = Target(
            mode,
            channel.id,
            channel.cdn_channel_key,
            entry.id if entry else None,
            entry.start_time if entry else None,
            entry.end_time if entry else None,
        )
        return Resolved(target, channel, entry)

    async def resolve_range(
        self, db: Database, channel_id: uuid.UUID, start: datetime, end: datetime
    ) -> Resolved:
        """A time range of a channel's archive: [start, end) in whole seconds (the start floored,
        the end rounded up; a time without a zone is UTC), the programmes it touches with it.
        Reversed, empty or longer than `MAX_RANGE` is a 422 naming the field."""
        start, end = whole_second_range(start, end)
        if end < start:
            raise ApiError(422, "range_reversed", loc=["query", "end"])
        if end == start:
            raise ApiError(422, "range_empty", loc=["query", "end"])
        if end - start > MAX_RANGE:
            raise ApiError(
                422, "range_too_long", loc=["query", "end"], max_seconds=int(MAX_RANGE.total_seconds())
            )
        channel, entries = await self.rights.range_rows(db, channel_id, start, end)
        if channel is None or not channel.cdn_channel_key:
            raise ApiError(404, "channel_not_found")
        target = Target(Mode.RANGE, channel.id, channel.cdn_channel_key, None, start, end)
        return Resolved(target, channel, None, entries)

    def authorise_new_playback(self, claims: TokenClaims, resolved: Resolved, now: datetime) -> None:
        """Rights for starting playback (the master playlist). Raises ApiError when refused."""
        if not claims.subscription_active:
            raise ApiError(403, "subscription_required")
        channel, entry, key = resolved.channel, resolved.entry, resolved.target.channel_key
        mode = resolved.target.mode
        if mode == Mode.STARTOVER:
            assert entry is not None
            d = rights.startover_decision(channel, entry, now)
            if not d.allowed:
                raise ApiError(403, d.reason or rights.STARTOVER_NOT_ALLOWED)
            if not self.index.holds(key, entry.start_time, now):
                raise ApiError(404, rights.NOT_RECORDED)
        elif mode == Mode.CATCHUP:
            assert entry is not None
            d = rights.catchup_decision(channel, entry, now, self.index)
            if not d.allowed:
                status = 404 if d.reason == rights.NOT_RECORDED else 403
                extra = {"expires_at": d.expires_at.isoformat()} if d.expires_at else {}
                raise ApiError(status, d.reason or rights.PROGRAM_NOT_ELIGIBLE, **extra)
        elif mode == Mode.RECORDING:
            assert entry is not None
            d = rights.recording_playback_decision(
                channel, entry, now, self.index, self.settings.recording_retention_days
            )
            if not d.allowed:
                status = {rights.NOT_RECORDED: 404, rights.PROGRAM_NOT_ELIGIBLE: 403}.get(d.reason or "", 409)
                extra = {"expires_at": d.expires_at.isoformat()} if d.expires_at else {}
                raise ApiError(status, d.reason or rights.NOT_RECORDED, **extra)
        elif mode == Mode.RANGE:
            start, end = resolved.target.start, resolved.target.end
            assert start is not None and end is not None
            r = rights.range_decision(channel, resolved.entries, start, end, now)
            if not r.allowed:
                raise ApiError(403, r.reason or rights.PROGRAM_NOT_ELIGIBLE, **_range_refusal(r))
            if not self.index.holds(key, start, end):
                raise ApiError(404, rights.NOT_RECORDED)
        elif self.index.latest_end(key) is None:
            raise ApiError(404, rights.NOT_RECORDED)

    def issue_playback_token(self, claims: TokenClaims, target: Target, now: datetime) -> str:
        return self.new_grant(claims, target, now).token

    def new_grant(self, claims: TokenClaims, target: Target, now: datetime) -> Grant:
        """A playback token for a playback whose rights were just checked."""
        if target.start is None or target.end is None:
            exp = now + timedelta(hours=12)
        elif target.mode == Mode.STARTOVER:
            exp = target.end + timedelta(minutes=5)
        else:
            exp = now + (target.end - target.start) + CATCHUP_PLAYBACK_GRACE
        payload = {
            "typ": "playback",
            "sub": str(claims.user_id),
            "jti": claims.token_id,  # the access token it was started with, and its epoch
            "ep": claims.epoch,
            "mode": target.mode,
            "ch": str(target.channel_id),
            "key": target.channel_key,
            "e": str(target.entry_id) if target.entry_id else None,
            "s": target.start.timestamp() if target.start else None,
            "t": target.end.timestamp() if target.end else None,
            "exp": int(exp.timestamp()),
        }
        token = jwt.encode(payload, self.settings.jwt_secret, algorithm=JWT_ALGORITHM)
        return Grant(target, token, int(exp.timestamp()))

    def grant_from_token(self, token: str | None, claims: TokenClaims, now: datetime) -> Grant | None:
        """The playback `token` proves for this user, if it is one of ours and has not expired."""
        if not token:
            return None
        try:
            # Expiry is checked against the service clock: it is tied to programme times.
            data = verified_tokens.decode(token, self.settings.jwt_secret, ["exp"])
            if not (
                data.get("typ") == "playback"
                and data.get("sub") == str(claims.user_id)
                and int(data["exp"]) > now.timestamp()
            ):
                return None
            start, end, entry = data.get("s"), data.get("t"), data.get("e")
            target = Target(
                str(data["mode"]),
                uuid.UUID(str(data["ch"])),
                str(data["key"]),
                uuid.UUID(str(entry)) if entry is not None else None,
                datetime.fromtimestamp(float(start), UTC) if start is not None else None,
                datetime.fromtimestamp(float(end), UTC) if end is not None else None,
            )
            return Grant(target, token, int(data["exp"]))
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            return None

    def grant_for(
        self,
        token: str | None,
        claims: TokenClaims,
        mode: str,
        channel_id: uuid.UUID,
        entry_id: uuid.UUID | None,
        now: datetime,
        span: tuple[datetime, datetime] | None = None,
    ) -> Grant | None:
        """The grant of a playback already started, if `token` proves one for this user and URL
        (a range's URL also names its span: the token's must be the same)."""
        grant = self.grant_from_token(token, claims, now)
        if grant is None:
            return None
        t = grant.target
        if t.mode != mode or t.channel_id != channel_id or t.entry_id != entry_id:
            return None
        if span is not None and (t.start, t.end) != whole_second_range(*span):
            return None
        return grant

    # ---- licences ------------------------------------------------------------------------------

    def licence_range(self, target: Target, now: datetime) -> tuple[float, float]:
        """The time (epoch seconds) whose keys a playback token may have: its programme (while a
        start-over's programme airs, up to now: a key rotated after the token was issued is in
        it), or for live the rewind window up to now."""
        d = self.settings.hls_segment_duration
        t = now.timestamp()
        if target.mode == Mode.LIVE or target.start is None or target.end is None:
            return t - self.settings.live_window_minutes * 60 - d, t + d
        end = target.end.timestamp()
        if target.mode in GROWING_WHILE_ON_AIR:
            end = min(end, t + d)
        return target.start.timestamp(), end

    def licensable_kids(self, target: Target, now: datetime) -> frozenset[str]:
        """The KIDs (32 hex digits) of the keys encrypting the archive in the token's range."""
        start, end = self.licence_range(target, now)
        return self.index.kids_between(target.channel_key, start, end, OVERLAP_TOLERANCE_S)

    async def recheck_rights(self, db: Database, target: Target) -> None:
        """The rights of a started playback, read again (a licence): the operator may have revoked
        them since the master. What a playing viewer keeps is time (the token's expiry covers the
        programme), not a switched-off right. Raises ApiError when refused."""
        channel, entry = await self.rights.rows(db, target.channel_id, target.entry_id)
        if channel is None or channel.cdn_channel_key != target.channel_key:
            raise ApiError(403, "channel_not_found")
        if target.mode == Mode.LIVE:
            return
        if target.mode == Mode.RANGE:
            assert target.start is not None and target.end is not None
            channel, entries = await self.rights.range_rows(db, target.channel_id, target.start, target.end)
            assert channel is not None  # the same channel as above, from the same version
            r = rights.range_switched_on(channel, entries, clock.now())
            if not r.allowed:
                raise ApiError(403, r.reason or rights.PROGRAM_NOT_ELIGIBLE, **_range_refusal(r))
            return
        if entry is None or entry.channel_id != channel.id:
            raise ApiError(403, "schedule_entry_not_found")
        if target.mode == Mode.STARTOVER:
            if not rights.startover_switched_on(channel, entry):
                raise ApiError(403, rights.STARTOVER_NOT_ALLOWED)
        elif not rights.catchup_switched_on(channel, entry):  # catch-up and recordings
            raise ApiError(403, rights.PROGRAM_NOT_ELIGIBLE)

    def playback_holder(self, token: str) -> tuple[uuid.UUID, str, int] | None:
        """Who holds a playback token (user, access token id, token epoch): None if it is not a
        valid playback token. Expiry is the caller's (`target_from_token`)."""
        try:
            data = verified_tokens.decode(token, self.settings.jwt_secret, ["exp"])
            if data.get("typ") != "playback":
                return None
            return uuid.UUID(str(data["sub"])), str(data.get("jti", "")), int(data.get("ep", 0))
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            return None

    # ---- playlists -----------------------------------------------------------------------------

    def playlist_spec(self, target: Target, rendition: str, now: datetime) -> MediaPlaylistSpec:
        key = target.channel_key
        if target.mode == Mode.LIVE or target.start is None or target.end is None:
            t = now.timestamp()
            spans = ((s.start, s.end) for s in self.index.run_spans(key))
            # Holes up to Shaka's presentation delay (three segments) only add latency: a restart's
            # seconds stay in the window, an outage's minutes do not.
            max_holes = LIVE_DELAY_SEGMENTS * self.settings.hls_segment_duration
            since = live_window_start(spans, t - self.settings.live_window_minutes * 60, t, max_holes)
            return MediaPlaylistSpec(key, rendition, since, t, PlaylistKind.LIVE, closed=False)
        start, end = target.start.timestamp(), target.end.timestamp()
        if target.mode in GROWING_WHILE_ON_AIR:
            ended = now >= target.end and self._archive_reached(key, rendition, end, now)
            # A recording that has ended plays as catch-up does; one still airing as start-over.
            if not (target.mode == Mode.RECORDING and ended):
                stop = end if now >= target.end else now.timestamp()
                return MediaPlaylistSpec(
                    key, rendition, start, stop, PlaylistKind.EVENT, closed=ended, start_at=start
                )
        return MediaPlaylistSpec(key, rendition, start, end, PlaylistKind.VOD, closed=True, start_at=start)

    def growing(self, target: Target, now: datetime) -> bool:
        """Whether a playback's playlists still grow (live, start-over, a recording on air): such a
        text must not be cached, a closed one may be."""
        return not self.playlist_spec(target, BASE_VIDEO, now).closed

    def cdn_base(self, viewer_host: str | None) -> str:
        """`CDN_BASE_URL` with `{host}` replaced by the host name the viewer reached the API with, so
        the app plays whether it was opened as localhost, 127.0.0.1 or a LAN address."""
        return cdn_base_for(self.settings.cdn_base_url, viewer_host)

    def _archive_reached(self, key: str, rendition: str, end: float, now: datetime) -> bool:
        """Whether the archive holds a programme's last instant, so its start-over may close. The
        segment with the programme's end is written seconds after the end airs: a playlist closed
        before would lose it for good (a player does not refresh a closed playlist). An encoder
        that stopped for good closes it after a grace period instead."""
        latest = self.index.latest_end(key, rendition)
        grace = END_OF_PROGRAMME_GRACE_SEGMENTS * self.settings.hls_segment_duration
        return (latest is not None and latest >= end - 0.25) or now.timestamp() >= end + grace

    def media_playlist(
        self,
        grant: Grant,
        rendition: str,
        now: datetime,
        viewer_host: str | None = None,
        iptv_token: str | None = None,
    ) -> str:
        """One rendition's media playlist of a playback: its files signed for the CDN until the
        token expires (rounded up: see url_signing), its key URIs carrying the token (and the
        IPTV token the playback was asked with, if any)."""
        target = grant.target
        if rendition not in (BASE_VIDEO, AUDIO) and rendition not in self.index.renditions(
            target.channel_key
        ):
            raise ApiError(404, "rendition_not_found")
        spec = self.playlist_spec(target, rendition, now)
        cdn_base = self.cdn_base(viewer_host)
        key = spec.channel_key
        if not spec.closed:
            # Open playlists move with the clock: a 1-second resolution lets refreshes share work.
            spec = replace(spec, start=math.floor(spec.start), end=math.floor(spec.end))
        latest = self.index.latest_end(key, rendition)
        settled = (
            spec.closed and latest is not None and latest > spec.end + self.settings.hls_segment_duration
        )
        # A settled playlist changes only if already-indexed time does (retention); others on any change.
        version = self.index.history_version(key) if settled else self.index.version(key)
        expires = url_signing.url_expiry(grant.expires)
        cache_key = (spec, version, cdn_base, expires)
        slot = grant.token if iptv_token is None else f"{grant.token}&{urlencode({'token': iptv_token})}"
        chunks = self._media_cache.get(cache_key)
        if chunks is not None:
            self._media_cache.move_to_end(cache_key)
            return slot.join(chunks)
        segments = select_segments(self.index, key, rendition, spec.start, spec.end)
        base = cdn_base.rstrip("/")
        secret = self.settings.url_signing_secret

        def file_url(path: str) -> str:
            return f"{base}/{path}?{url_signing.signed_query(secret, path, expires)}"

        text = render_media_playlist(
            spec,
            segments,
            file_url=file_url,
            key_uri=self._key_uri if self.settings.drm_enabled else None,
            discontinuity_sequence=lambda seg: self.index.run_ordinal(key, seg.run.run_id),
        )
        chunks = kept(self._media_cache, cache_key, tuple(text.split(PB_SLOT)))
        return slot.join(chunks)

    def master_playlist(
        self, target: Target, playback_token: str, now: datetime, iptv_token: str | None = None
    ) -> str:
        params = {"pb": playback_token}
        if iptv_token is not None:
            params["token"] = iptv_token
        if target.entry_id is not None:
            params["schedule_entry_id"] = str(target.entry_id)
        if target.mode == Mode.RANGE and target.start is not None and target.end is not None:
            # Epoch seconds: a media playlist asked without a valid token is new playback of them.
            params["start"] = str(int(target.start.timestamp()))
            params["end"] = str(int(target.end.timestamp()))
        query = urlencode(params)
        return render_master_playlist(
            [(info, f"manifest/{info.rendition}.m3u8?{query}") for info in self.variants(target, now)],
            f"manifest/{AUDIO}.m3u8?{query}",
            self._image_stream(target, now, f"manifest/{IMAGES}.m3u8?{query}"),
        )

    # ---- thumbnails (see app/services/archive/thumbnails.py) --------------------------------------------

    def thumbnails_ready(self, target: Target, now: datetime) -> bool:
        """Whether every run in range has its thumbnail sheets (those missing are asked for)."""
        return self._image_stream(target, now, "") is not None

    def _image_stream(self, target: Target, now: datetime, uri: str) -> ImageStream | None:
        """The image playlist to announce: only when every run in range has its sheets (missing
        ones are asked for, so a later master has them)."""
        spec, cache_key = self._base_range(target, now)
        sets = self._sheets_cache.get(cache_key)
        if sets is None:
            segments = select_segments(self.index, spec.channel_key, BASE_VIDEO, spec.start, spec.end)
            sets = kept(self._sheets_cache, cache_key, frozenset(sheet_set_of(s) for s in segments))
        known = [s for s in sets if s is not None]
        if not known or len(known) < len(sets):
            return None  # nothing recorded, or a run that does not say what it played
        missing = [s for s in known if not self.thumbnails.ready(s)]
        for sheets in missing:
            self.thumbnails.request(sheets)
        if missing:
            return None
        bandwidth = max(s.bandwidth for s in known)
        return ImageStream(uri=uri, bandwidth=bandwidth, resolution=f"{TILE_WIDTH}x{TILE_HEIGHT}")

    def playlist(
        self,
        grant: Grant,
        rendition: str,
        now: datetime,
        viewer_host: str | None = None,
        iptv_token: str | None = None,
    ) -> str:
        """A media playlist (`video`, `audio`) or the image playlist (`images`) of a playback."""
        if rendition == IMAGES:
            return self.image_playlist(grant.target, now, viewer_host)
        return self.media_playlist(grant, rendition, now, viewer_host, iptv_token)

    def image_playlist(self, target: Target, now: datetime, viewer_host: str | None = None) -> str:
        """The thumbnails' image playlist: the video playlist's segments, one sheet each."""
        spec = self.playlist_spec(target, BASE_VIDEO, now)
        cdn_base = self.cdn_base(viewer_host).rstrip("/")
        key = spec.channel_key
        if not spec.closed:
            spec = replace(spec, start=math.floor(spec.start), end=math.floor(spec.end))
        segments = select_segments(self.index, key, BASE_VIDEO, spec.start, spec.end)
        sets = {sheet_set_of(s) for s in segments}
        ready = frozenset(s.tag for s in sets if s is not None and self.thumbnails.ready(s))
        for sheets in sets:
            if sheets is not None and sheets.tag not in ready:
                self.thumbnails.request(sheets)
        cache_key = (IMAGES, spec, self.index.version(key), cdn_base, ready)
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._cache.move_to_end(cache_key)
            return cached
        tile = f"{TILE_WIDTH}x{TILE_HEIGHT}"

        def sheet_of(seg: Segment) -> ImageSegment:
            sheets = sheet_set_of(seg)
            if sheets is None or sheets.tag not in ready:
                return ImageSegment(None, "1x1", tile, seg.duration)
            uri = f"{cdn_base}/{sheets.url_path(sheets.sheet_index(loop_position(seg)))}"
            return ImageSegment(uri, sheets.layout, tile, sheets.tile_seconds)

        text = render_image_playlist(
            spec,
            segments,
            sheet_of,
            discontinuity_sequence=lambda seg: self.index.run_ordinal(key, seg.run.run_id),
        )
        return kept(self._cache, cache_key, text)

    def variants(self, target: Target, now: datetime) -> tuple[MediaInfo, ...]:
        """The variants of the range (one per ladder rung every run in it has), each with codecs,
        resolution, frame rate and bandwidth from the newest run in range (a few segments sampled),
        kept while the channel's index does not change (open ranges at a 1-second resolution)."""
        spec, cache_key = self._base_range(target, now)
        info = self._info_cache.get(cache_key)
        if info is None:
            info = kept(self._info_cache, cache_key, self._read_media_info(spec))
        return info

    def _base_range(self, target: Target, now: datetime) -> tuple[MediaPlaylistSpec, tuple[object, ...]]:
        """The base rung's range of `target` (an open one at a 1-second resolution) and the key of
        what is cached about it while the channel's index does not change."""
        spec = self.playlist_spec(target, BASE_VIDEO, now)
        if not spec.closed:
            spec = replace(spec, start=math.floor(spec.start), end=math.floor(spec.end))
        return spec, (spec.channel_key, spec.start, spec.end, self.index.version(spec.channel_key))

    def runs_in_range(self, channel_key: str, start: float, end: float) -> list[RunInfo]:
        """The runs whose video plays in [start, end) (more than the overlap tolerance of it), in
        timeline order: O(runs), from the index's run spans."""
        return [
            span.run
            for span in self.index.run_spans(channel_key)
            if min(end, span.end) - max(start, span.start) > OVERLAP_TOLERANCE_S
        ]

    def _read_media_info(self, spec: MediaPlaylistSpec) -> tuple[MediaInfo, ...]:
        """A run without a rung (written before the ladder, or before an upper rung was prepared) has
        no segments of it: a variant listing that rung would have a hole where that run plays. So the
        master lists only the rungs every run in the range has, and of those only the ones whose
        segments the index already holds (an upper rung's first file may be indexed a scan after the
        base rung's; listed before, it would be an empty playlist and, nothing measured, the lowest
        bandwidth: the variant a player starts on). The base rung (`video`) is in every run, old or
        new, and the newest video segment is one of its, so there is always at least one variant."""
        d = self.settings.hls_segment_duration
        key = spec.channel_key
        runs = self.runs_in_range(key, spec.start, spec.end)
        tail = spec.end - 10 * d
        video = list(self.index.iter_range(key, BASE_VIDEO, max(spec.start, tail), spec.end))
        if not video or not runs:
            return (DEFAULT_MEDIA_INFO,)
        newest = video[-1].run
        renditions = [r for r in newest.video_renditions if all(r in run.video_renditions for run in runs)]
        if BASE_VIDEO not in renditions:
            renditions.insert(0, BASE_VIDEO)
        lo, hi = video[0].start, video[-1].end
        audio = sample_durations(s for s in self.index.iter_range(key, AUDIO, lo, hi) if s.run == newest)
        path = self.settings.hls_segment_dir / newest.channel_key / newest.run_id
        samples = {
            r: sample_durations(s for s in self.index.iter_range(key, r, lo, hi) if s.run == newest)
            for r in renditions
        }
        return tuple(
            media_info_for_run(path, samples[r], audio, r, newest.init_name(r))
            for r in renditions
            if samples[r]
        )

    @staticmethod
    def _key_uri(kid: str) -> str:
        return KEY_URI_TEMPLATE.format(kid=kid, pb=PB_SLOT)
