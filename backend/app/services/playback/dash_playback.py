"""The MPD of a playback (`?format=dash` on a manifest route): what its HLS media playlists list,
as one MPEG-DASH document (rendered by app/services/playback/dash_manifest.py).

The request is judged as a media playlist's (app/services/playback/playlist_requests.py): a valid
playback token of this playback continues it, anything else is new playback under the rights. The
MPD then carries the token where HLS carries it: in the licence URL (HLS: the key URIs) and, for
the forms that grow (live, start-over), in the `Location` the player fetches updates from (HLS: the
media playlist URLs). Segment URLs are the CDN's signed ones, signed until the token expires.

Rendered MPDs are kept and shared like media playlists: per range, archive version, CDN and API
host and signing expiry, with the token put in per request.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlencode

from app.services.archive import url_signing
from app.services.archive.archive_index import Segment
from app.services.archive.archive_layout import AUDIO, BASE_VIDEO
from app.services.archive.media_info import MediaInfo
from app.services.archive.thumbnails import TILE_HEIGHT, TILE_WIDTH, loop_position, sheet_set_of
from app.services.playback.bounded_cache import kept
from app.services.playback.dash_manifest import DashPeriod, ImageTrack, MpdSpec, periods_of, render_mpd
from app.services.playback.manifest_generator import (
    OVERLAP_TOLERANCE_S,
    MediaPlaylistSpec,
    PlaylistKind,
    select_segments,
)
from app.services.playback.playback_service import (
    LIVE_DELAY_SEGMENTS,
    PB_SLOT,
    PlaybackService,
    cdn_base_for,
)
from app.services.playback.targets import Grant

DASH = "dash"  # the `format` of a manifest request answered with an MPD
MPD_TYPE = "application/dash+xml"
LICENCE_PATH = "/api/v1/drm/license"


def api_base_for(scheme: str, viewer_host: str | None, port: int | None) -> str:
    """The API's origin as the viewer reached it (an MPD's licence URL is absolute: players other
    than ours do not resolve it against the MPD), with `cdn_base_for`'s care about Host headers."""
    host = cdn_base_for("{host}", viewer_host)
    scheme = scheme if scheme in ("http", "https") else "http"
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


class DashManifests:
    def __init__(self, playback: PlaybackService) -> None:
        self.playback = playback
        self._cache: OrderedDict[tuple[object, ...], tuple[str, ...]] = OrderedDict()

    def mpd(self, grant: Grant, now: datetime, viewer_host: str | None, api_base: str) -> str:
        pbs = self.playback
        target, index = grant.target, pbs.index
        key = target.channel_key
        spec = pbs.playlist_spec(target, BASE_VIDEO, now)
        closed = spec.closed and pbs.playlist_spec(target, AUDIO, now).closed
        spec = replace(spec, closed=closed)
        if not closed:  # open ranges move with the clock: a 1-second resolution shares the work
            spec = replace(spec, start=math.floor(spec.start), end=math.floor(spec.end))
        infos = pbs.variants(target, now)
        images = pbs.thumbnails_ready(target, now)
        cdn_base = pbs.cdn_base(viewer_host)
        latest = index.latest_end(key, BASE_VIDEO)
        settled = closed and latest is not None and latest > spec.end + pbs.settings.hls_segment_duration
        # A settled MPD changes only if already-indexed time does (retention); others on any change.
        version = index.history_version(key) if settled else index.version(key)
        expires = url_signing.url_expiry(grant.expires)
        cache_key = (spec, version, cdn_base, api_base, expires, target.entry_id, infos, images)
        chunks = self._cache.get(cache_key)
        if chunks is not None:
            self._cache.move_to_end(cache_key)
            return grant.token.join(chunks)
        text = self._render(grant, spec, infos, cdn_base, api_base, expires, images)
        chunks = kept(self._cache, cache_key, tuple(text.split(PB_SLOT)))
        return grant.token.join(chunks)

    def _render(
        self,
        grant: Grant,
        spec: MediaPlaylistSpec,
        infos: tuple[MediaInfo, ...],
        cdn_base: str,
        api_base: str,
        expires: int,
        images: bool,
    ) -> str:
        pbs = self.playback
        settings, key = pbs.settings, spec.channel_key
        d = settings.hls_segment_duration
        renditions = dict.fromkeys((*(info.rendition for info in infos), AUDIO))
        tracks = {r: select_segments(pbs.index, key, r, spec.start, spec.end) for r in renditions}
        base = tracks.get(BASE_VIDEO) or tracks[infos[0].rendition]
        audio = tracks[AUDIO]
        live = spec.kind is PlaylistKind.LIVE
        dynamic = not spec.closed
        # Presentation time 0: the epoch for live (its window slides, its origin must not), else
        # the programme's start. A programme's presentation is exactly the programme: its first
        # Period begins at the programme start even when its first segment began before (the
        # presentation time offset puts the programme start inside it; players cut what precedes),
        # and a static one ends at the programme end.
        origin = 0.0 if live else spec.start
        first_start = None
        if base:
            first_start = self._stretch_start(key, base[0]) if live else max(base[0].start, spec.start)
        periods = periods_of(base, tracks, infos, AUDIO, first_start)
        if images:
            periods = [replace(p, images=self._images(p, cdn_base)) for p in periods]
        last_end = max((s.end for s in base[-1:] + audio[-1:]), default=origin)
        query = {"format": DASH}
        if grant.target.entry_id is not None:
            query["schedule_entry_id"] = str(grant.target.entry_id)
        # Live keeps its rewind window; start-over its programme start for as long as the playback
        # token lets the programme play (to the signed URLs' expiry: the same for the viewers who
        # share this text).
        depth = settings.live_window_minutes * 60 if live else max(expires - origin, d)
        mpd = MpdSpec(
            dynamic=dynamic,
            origin=origin,
            published=spec.end if dynamic else max(origin, spec.start),
            max_segment_duration=max((s.duration for s in base), default=d),
            end=None if dynamic else min(last_end, spec.end),
            time_shift_depth=float(depth) if dynamic else None,
            update_period=float(d) if dynamic else None,
            presentation_delay=float(LIVE_DELAY_SEGMENTS * d) if dynamic else None,
            location=f"manifest?{urlencode(query)}&pb={PB_SLOT}" if dynamic else None,
            licence_url=f"{api_base}{LICENCE_PATH}?pb={PB_SLOT}" if settings.drm_enabled else None,
            audio_bandwidth=max(info.audio_bandwidth for info in infos),
        )
        base_url = cdn_base.rstrip("/")
        secret = settings.url_signing_secret

        def file_url(path: str) -> str:
            return f"{base_url}/{path}?{url_signing.signed_query(secret, path, expires)}"

        return render_mpd(mpd, periods, file_url)

    def _images(self, period: DashPeriod, cdn_base: str) -> ImageTrack | None:
        """The thumbnails over a Period's base rung, one sheet a segment (as the HLS image
        playlist lists them); none unless every segment has its sheet."""
        segments = next((segs for info, segs in period.video if info.rendition == BASE_VIDEO), ())
        sets = [sheet_set_of(seg) for seg in segments]
        known = [s for s in sets if s is not None and self.playback.thumbnails.ready(s)]
        if not segments or len(known) < len(segments):
            return None
        base = cdn_base.rstrip("/")
        first = known[0]
        return ImageTrack(
            layout=first.layout,
            width=TILE_WIDTH * first.columns,
            height=TILE_HEIGHT * first.rows,
            bandwidth=max(s.bandwidth for s in known),
            segments=segments,
            urls=[
                f"{base}/{s.url_path(s.sheet_index(loop_position(seg)))}"
                for s, seg in zip(known, segments, strict=True)
            ],
        )

    def _stretch_start(self, key: str, seg: Segment) -> float:
        """Where the stretch of `seg`'s run that holds it began: the run's start, or the end of the
        last hole before it. A live window's first Period starts there, whatever has slid out of
        the window, so its start and id stay the same across updates."""
        index = self.playback.index
        start = next((s.start for s in index.run_spans(key) if s.run.run_id == seg.run.run_id), seg.start)
        for a, b in index.covered_ranges(key):
            if a - OVERLAP_TOLERANCE_S <= seg.start < b:
                start = max(start, a)
                break
        return min(start, seg.start)
