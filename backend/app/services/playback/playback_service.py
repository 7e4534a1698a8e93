"""Playback: which playlist a viewer may have right now, built from the archive index.

The master request is where rights are decided (via `rights`). It hands out a short-lived playback
token inside the media playlist URLs, so a playback already started keeps refreshing even if the
rights are revoked meanwhile (J5), while any new playback is refused at once.

The rows the rights read come from `RightsCache` (kept per catalogue version, the version pushed by
LISTEN/NOTIFY on PostgreSQL): a master request makes no database round trip while the pushed
version is current, and reads the version (one query) while it is not. The subscription state is
the access token's claim (`sub_active`), as before.
"""

from __future__ import annotations

import math
import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import jwt

from app.config import Settings
from app.db import Database
from app.errors import ApiError
from app.services.accounts.auth_service import JWT_ALGORITHM, TokenClaims, verified_tokens
from app.services.catalogue.catalogue_feed import CatalogueFeed
from app.services.media.archive_index import ArchiveIndex, Segment
from app.services.media.archive_layout import AUDIO, BASE_VIDEO, RunInfo
from app.services.media.media_info import DEFAULT_MEDIA_INFO, MediaInfo, media_info_for_run
from app.services.media.thumbnails import (
    TILE_HEIGHT,
    TILE_WIDTH,
    SheetSet,
    ThumbnailStore,
    loop_position,
    sheet_set_of,
)
from app.services.playback import rights
from app.services.playback.manifest_generator import (
    OVERLAP_TOLERANCE_S,
    ImageSegment,
    ImageStream,
    MediaPlaylistSpec,
    PlaylistKind,
    render_image_playlist,
    render_master_playlist,
    render_media_playlist,
    sample_durations,
    select_segments,
)
from app.services.playback.rights_cache import ChannelRow, EntryRow, RightsCache

KEY_URI_TEMPLATE = "/api/v1/drm/keys/{kid}/raw"
IMAGES = "images"  # the thumbnails' image playlist, next to the renditions' media playlists
CATCHUP_PLAYBACK_GRACE = timedelta(hours=6)
# How long after a programme's end its start-over waits for the archive to reach the end.
END_OF_PROGRAMME_GRACE_SEGMENTS = 5
_CACHE_SIZE = 1024
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


class Mode:
    LIVE = "live"
    STARTOVER = "startover"
    CATCHUP = "catchup"
    # A cloud recording: the catch-up (VOD) playlist of its programme, past the catch-up window.
    RECORDING = "recording"


@dataclass(frozen=True)
class Target:
    """What a playlist covers. Carried inside the playback token, so media playlists of a started
    playback are served without touching the database."""

    mode: str
    channel_id: uuid.UUID
    channel_key: str
    entry_id: uuid.UUID | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class Resolved:
    target: Target
    channel: ChannelRow
    entry: EntryRow | None


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
        elif self.index.latest_end(key) is None:
            raise ApiError(404, rights.NOT_RECORDED)

    def issue_playback_token(self, claims: TokenClaims, target: Target, now: datetime) -> str:
        if target.start is None or target.end is None:
            exp = now + timedelta(hours=12)
        elif target.mode == Mode.STARTOVER:
            exp = target.end + timedelta(minutes=5)
        else:
            exp = now + (target.end - target.start) + CATCHUP_PLAYBACK_GRACE
        payload = {
            "typ": "playback",
            "sub": str(claims.user_id),
            "mode": target.mode,
            "ch": str(target.channel_id),
            "key": target.channel_key,
            "e": str(target.entry_id) if target.entry_id else None,
            "s": target.start.timestamp() if target.start else None,
            "t": target.end.timestamp() if target.end else None,
            "exp": int(exp.timestamp()),
        }
        return jwt.encode(payload, self.settings.jwt_secret, algorithm=JWT_ALGORITHM)

    def target_from_token(
        self,
        token: str | None,
        claims: TokenClaims,
        mode: str,
        channel_id: uuid.UUID,
        entry_id: uuid.UUID | None,
        now: datetime,
    ) -> Target | None:
        """The target of a playback already started, if `token` proves one for this user and URL."""
        if not token:
            return None
        try:
            # Expiry is checked against the service clock: it is tied to programme times.
            data = verified_tokens.decode(token, self.settings.jwt_secret, ["exp"])
            if not (
                data.get("typ") == "playback"
                and data.get("sub") == str(claims.user_id)
                and data.get("mode") == mode
                and data.get("ch") == str(channel_id)
                and data.get("e") == (str(entry_id) if entry_id else None)
                and int(data["exp"]) > now.timestamp()
            ):
                return None
            start, end = data.get("s"), data.get("t")
            return Target(
                mode,
                channel_id,
                str(data["key"]),
                entry_id,
                datetime.fromtimestamp(float(start), UTC) if start is not None else None,
                datetime.fromtimestamp(float(end), UTC) if end is not None else None,
            )
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            return None

    # ---- playlists -----------------------------------------------------------------------------

    def _spec(self, target: Target, rendition: str, now: datetime) -> MediaPlaylistSpec:
        key = target.channel_key
        if target.mode == Mode.LIVE or target.start is None or target.end is None:
            window = self.settings.live_window_minutes * 60
            t = now.timestamp()
            return MediaPlaylistSpec(key, rendition, t - window, t, PlaylistKind.LIVE, closed=False)
        start, end = target.start.timestamp(), target.end.timestamp()
        if target.mode == Mode.STARTOVER:
            ended = now >= target.end and self._archive_reached(key, rendition, end, now)
            stop = end if now >= target.end else now.timestamp()
            return MediaPlaylistSpec(
                key, rendition, start, stop, PlaylistKind.EVENT, closed=ended, start_at=start
            )
        return MediaPlaylistSpec(key, rendition, start, end, PlaylistKind.VOD, closed=True, start_at=start)

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
        self, target: Target, rendition: str, now: datetime, viewer_host: str | None = None
    ) -> str:
        if rendition not in (BASE_VIDEO, AUDIO) and rendition not in self.index.renditions(
            target.channel_key
        ):
            raise ApiError(404, "rendition_not_found")
        spec = self._spec(target, rendition, now)
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
        cache_key = (spec, version, cdn_base)
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._cache.move_to_end(cache_key)
            return cached
        segments = select_segments(self.index, key, rendition, spec.start, spec.end)
        text = render_media_playlist(
            spec,
            segments,
            cdn_base=cdn_base,
            key_uri=self._key_uri if self.settings.drm_enabled else None,
            discontinuity_sequence=lambda seg: self.index.run_ordinal(key, seg.run.run_id),
        )
        self._cache[cache_key] = text
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return text

    def master_playlist(self, target: Target, playback_token: str, now: datetime) -> str:
        params = {"pb": playback_token}
        if target.entry_id is not None:
            params["schedule_entry_id"] = str(target.entry_id)
        query = urlencode(params)
        return render_master_playlist(
            [(info, f"manifest/{info.rendition}.m3u8?{query}") for info in self._media_info(target, now)],
            f"manifest/{AUDIO}.m3u8?{query}",
            self._image_stream(target, now, f"manifest/{IMAGES}.m3u8?{query}"),
        )

    # ---- thumbnails (see app/services/media/thumbnails.py) --------------------------------------------

    def _image_stream(self, target: Target, now: datetime, uri: str) -> ImageStream | None:
        """The image playlist to announce: only when every run in range has its sheets (missing
        ones are asked for, so a later master has them)."""
        spec = self._spec(target, BASE_VIDEO, now)
        if not spec.closed:
            spec = replace(spec, start=math.floor(spec.start), end=math.floor(spec.end))
        cache_key = (spec.channel_key, spec.start, spec.end, self.index.version(spec.channel_key))
        sets = self._sheets_cache.get(cache_key)
        if sets is None:
            segments = select_segments(self.index, spec.channel_key, BASE_VIDEO, spec.start, spec.end)
            sets = self._sheets_cache[cache_key] = frozenset(sheet_set_of(s) for s in segments)
            if len(self._sheets_cache) > _CACHE_SIZE:
                del self._sheets_cache[next(iter(self._sheets_cache))]
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

    def playlist(self, target: Target, rendition: str, now: datetime, viewer_host: str | None = None) -> str:
        """A media playlist (`video`, `audio`) or the image playlist (`images`) of a playback."""
        if rendition == IMAGES:
            return self.image_playlist(target, now, viewer_host)
        return self.media_playlist(target, rendition, now, viewer_host)

    def image_playlist(self, target: Target, now: datetime, viewer_host: str | None = None) -> str:
        """The thumbnails' image playlist: the video playlist's segments, one sheet each."""
        spec = self._spec(target, BASE_VIDEO, now)
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
        self._cache[cache_key] = text
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return text

    def _media_info(self, target: Target, now: datetime) -> tuple[MediaInfo, ...]:
        """The variants of the range (one per ladder rung every run in it has), each with codecs,
        resolution, frame rate and bandwidth from the newest run in range (a few segments sampled),
        kept while the channel's index does not change (open ranges at a 1-second resolution)."""
        spec = self._spec(target, BASE_VIDEO, now)
        if not spec.closed:
            spec = replace(spec, start=math.floor(spec.start), end=math.floor(spec.end))
        cache_key = (spec.channel_key, spec.start, spec.end, self.index.version(spec.channel_key))
        info = self._info_cache.get(cache_key)
        if info is None:
            info = self._info_cache[cache_key] = self._read_media_info(spec)
            if len(self._info_cache) > _CACHE_SIZE:
                del self._info_cache[next(iter(self._info_cache))]  # the oldest
        return info

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
        return KEY_URI_TEMPLATE.format(kid=kid)
