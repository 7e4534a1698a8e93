"""The playback protocol: what a playlist request of each form (live, start-over, catch-up,
recording) gets, decided in one place so the routers make one call.

- A master playlist is always new playback: the target is resolved from the database, the rights
  decide (`PlaybackService.authorise_new_playback`, refusals as `ApiError`), and the master carries
  a fresh playback token (`pb`) in its media playlists' URLs.
- A media playlist with a valid `pb` for the same form, channel and programme continues a started
  playback without a database read: the token skips the rights (a programme may finish after its
  window closed). For the forms in `HOLDER_RECHECKED` the token's holder must still stand (signed
  in, enabled, subscribed). Without a valid token the request is new playback, as for a master.
- An MPD (`?format=dash`) is all of a playback in one document, fetched again as it grows: it is
  judged as a media playlist is (its refreshes carry the token it handed out) and cached like one.
- Caching: masters never; media playlists and MPDs of the forms in `CACHEABLE_MEDIA` for 30 s, once
  closed (a recording of a programme on air grows as start-over does).
- A time range (`Mode.RANGE`) is played as catch-up is: its span stands where a programme does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app import clock
from app.db import Database
from app.services.accounts.auth_service import TokenClaims
from app.services.accounts.user_state import UserStateCache, check_user
from app.services.playback.dash_playback import MPD_TYPE, DashManifests
from app.services.playback.playback_service import PlaybackService
from app.services.playback.targets import Grant, Mode, Resolved

# VOD playlists (the programme is over or recorded) stay valid; live and start-over grow, and so
# does a recording while its programme airs (`PlaybackService.growing`).
CACHEABLE_MEDIA = frozenset({Mode.CATCHUP, Mode.RECORDING, Mode.RANGE})
# A started live, start-over or catch-up playback ends when its holder signs out, is disabled,
# changes password or loses the subscription. A recording's media playlists are checked against
# its owner on every request instead (the recording router looks the recording up first).
HOLDER_RECHECKED = frozenset({Mode.LIVE, Mode.STARTOVER, Mode.CATCHUP, Mode.RANGE})


@dataclass(frozen=True)
class PlaylistRequest:
    mode: str  # a `Mode`
    channel_id: uuid.UUID
    entry_id: uuid.UUID | None  # the programme; None for live and ranges
    span: tuple[datetime, datetime] | None = None  # a range's [start, end)
    # An IPTV token the request came with, carried into the URLs its playlists name (docs/PRODUCT.md,
    # 'IPTV export'): an IPTV player sends no header, so each URL must authenticate itself.
    iptv_token: str | None = None


HLS_TYPE = "application/vnd.apple.mpegurl"


@dataclass(frozen=True)
class Playlist:
    text: str
    cacheable: bool
    media_type: str = HLS_TYPE


class PlaylistRequests:
    def __init__(self, playback: PlaybackService, users: UserStateCache) -> None:
        self.playback = playback
        self.users = users
        self.mpds = DashManifests(playback)

    async def master(self, db: Database, req: PlaylistRequest, claims: TokenClaims) -> Playlist:
        pbs = self.playback
        resolved = await self._resolve(db, req)
        now = clock.now()
        pbs.authorise_new_playback(claims, resolved, now)
        token = pbs.issue_playback_token(claims, resolved.target, now)
        text = pbs.master_playlist(resolved.target, token, now, req.iptv_token)
        return Playlist(text, cacheable=False)

    async def media(
        self,
        db: Database,
        req: PlaylistRequest,
        rendition: str,
        pb: str | None,
        claims: TokenClaims,
        viewer_host: str | None,
    ) -> Playlist:
        now = clock.now()
        grant, _ = await self._grant(db, req, pb, claims, now)
        text = self.playback.playlist(grant, rendition, now, viewer_host, req.iptv_token)
        return Playlist(text, cacheable=self._cacheable(req, grant, now))

    async def mpd(
        self,
        db: Database,
        req: PlaylistRequest,
        pb: str | None,
        claims: TokenClaims,
        viewer_host: str | None,
        api_base: str,
    ) -> Playlist:
        """The MPEG-DASH MPD of a playback (app/services/playback/dash_playback.py). Without a
        token it starts a playback, as a master does, and is not cached."""
        now = clock.now()
        grant, continued = await self._grant(db, req, pb, claims, now)
        text = self.mpds.mpd(grant, now, viewer_host, api_base)
        return Playlist(text, cacheable=continued and self._cacheable(req, grant, now), media_type=MPD_TYPE)

    def _cacheable(self, req: PlaylistRequest, grant: Grant, now: datetime) -> bool:
        return req.mode in CACHEABLE_MEDIA and not self.playback.growing(grant.target, now)

    async def _grant(
        self, db: Database, req: PlaylistRequest, pb: str | None, claims: TokenClaims, now: datetime
    ) -> tuple[Grant, bool]:
        """The playback `pb` continues (its holder still standing; True), or a new one under the
        rights (False)."""
        pbs = self.playback
        grant = pbs.grant_for(pb, claims, req.mode, req.channel_id, req.entry_id, now, req.span)
        if grant is not None and pb is not None and req.mode in HOLDER_RECHECKED:
            holder = pbs.playback_holder(pb)
            if holder:
                user_id, token_id, epoch = holder
                await check_user(self.users, db, user_id, token_id, epoch, subscription=True)
        if grant is None:
            resolved = await self._resolve(db, req)
            pbs.authorise_new_playback(claims, resolved, now)
            return pbs.new_grant(claims, resolved.target, now), False
        return grant, True

    async def _resolve(self, db: Database, req: PlaylistRequest) -> Resolved:
        if req.mode == Mode.RANGE:
            if req.span is None:
                raise ValueError("a range request needs its span")
            return await self.playback.resolve_range(db, req.channel_id, *req.span)
        return await self.playback.resolve(db, req.mode, req.channel_id, req.entry_id)
