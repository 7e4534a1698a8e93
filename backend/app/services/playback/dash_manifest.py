"""MPEG-DASH MPDs rendered from the same archive index segments as the HLS playlists
(docs/MEDIA.md, M22-M24): the same files, the same signed CDN URLs, the same keys.

One Period per stretch of one encoder run (a new run is a restart or a key rotation: new init
segments, a new KID), one video AdaptationSet with every ladder rung, one audio AdaptationSet and,
once they exist, the seek-bar thumbnails as an image AdaptationSet (DASH-IF tiles) per Period.
Segments are addressed with a `SegmentList`: every segment URL carries its own CDN signature
(app/services/archive/url_signing.py) and its name a wall-clock second that jitters
(docs/MEDIA.md, M4), so no `SegmentTemplate` can spell them. Its `SegmentTimeline` gives each
segment's exact duration in microseconds, as the file names do.

Times: presentation time 0 is `availabilityStartTime` (`origin`), a wall-clock instant, so a player
maps presentation time to the programme clock as it does with HLS's PROGRAM-DATE-TIME. Period starts
are the true wall-clock offsets of their first segments (a programme's first Period: the programme
start): a hole in the archive stays a hole in the timeline (players skip it). A run's media timeline
begins at 0 at its anchor (docs/MEDIA.md, M22), so a segment's media time is its start less its
run's anchor.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from app.services.archive.archive_index import Segment
from app.services.archive.media_info import MediaInfo
from app.services.playback.manifest_generator import OVERLAP_TOLERANCE_S

CLEARKEY_SCHEME = "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e"
CENC_SCHEME = "urn:mpeg:dash:mp4protection:2011"
# ISO BMFF main profile: SegmentList addressing (the live profile allows only SegmentTemplate).
PROFILE = "urn:mpeg:dash:profile:isoff-main:2011"
TIMESCALE = 1_000_000  # microseconds: the segment names' duration unit
_CHANNELS_SCHEME = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"
_UTC_DIRECT = "urn:mpeg:dash:utc:direct:2014"
THUMBNAIL_TILE_SCHEME = "http://dashif.org/thumbnail_tile"
_NAMESPACES = (
    'xmlns="urn:mpeg:dash:schema:mpd:2011" '
    'xmlns:cenc="urn:mpeg:cenc:2013" '
    'xmlns:dashif="https://dashif.org/CPS" '
    'xmlns:clearkey="http://dashif.org/guidelines/clearKey"'
)


@dataclass(frozen=True)
class ImageTrack:
    """A Period's thumbnails (DASH-IF tiled images): one sheet of `layout` tiles per segment of the
    base rung, shown over that segment's time (app/services/archive/thumbnails.py)."""

    layout: str  # columns x rows, e.g. 3x1
    width: int  # of a whole sheet
    height: int
    bandwidth: int
    segments: Sequence[Segment]  # the base rung's: their timeline is the images'
    urls: Sequence[str]  # one sheet per segment (public: not signed)


@dataclass(frozen=True)
class DashPeriod:
    """One Period: a stretch of one run, its video rungs (info, segments) and audio segments."""

    id: str
    start: float  # epoch seconds
    kid: str | None  # the run's KID (32 hex digits); None: not encrypted
    video: Sequence[tuple[MediaInfo, Sequence[Segment]]]
    audio: Sequence[Segment]
    images: ImageTrack | None = None


@dataclass(frozen=True)
class MpdSpec:
    dynamic: bool
    origin: float  # epoch seconds: availabilityStartTime, presentation time 0
    published: float  # epoch seconds: publishTime
    max_segment_duration: float
    end: float | None = None  # epoch seconds: end of a static presentation
    time_shift_depth: float | None = None  # dynamic: how far back segments stay available
    update_period: float | None = None  # dynamic: minimumUpdatePeriod
    presentation_delay: float | None = None  # dynamic: suggestedPresentationDelay
    location: str | None = None  # where to fetch updates (carries the playback token)
    licence_url: str | None = None  # ClearKey licence server (carries the playback token)
    audio_bandwidth: int = 128_000  # bits per second (the video rungs' bandwidth less this)


def xs_duration(seconds: float) -> str:
    """An xs:duration in seconds (`PT6S`, `PT1.5S`), to the microsecond."""
    text = f"{max(seconds, 0.0):.6f}".rstrip("0").rstrip(".")
    return f"PT{text}S"


def xs_datetime(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def uuid_text(kid_hex: str) -> str:
    """A KID as cenc:default_KID writes it (8-4-4-4-12)."""
    k = kid_hex.lower()
    return f"{k[:8]}-{k[8:12]}-{k[12:16]}-{k[16:20]}-{k[20:]}"


def media_time_us(seg: Segment) -> int:
    """Where a segment starts on its run's media timeline (docs/MEDIA.md, M22)."""
    return round((seg.start - seg.run.anchor) * TIMESCALE)


def _timeline(segments: Sequence[Segment]) -> list[str]:
    """`<S>` elements: the first with its media time (before the presentation time offset when the
    segment began before its Period), equal consecutive durations folded into @r."""
    out: list[str] = []
    run_d, run_n = -1, 0
    first_t: int | None = media_time_us(segments[0])
    for seg in segments:
        d = round(seg.duration * TIMESCALE)
        if d == run_d:
            run_n += 1
            continue
        if run_n:
            out.append(_s(first_t, run_d, run_n - 1))
            first_t = None
        run_d, run_n = d, 1
    if run_n:
        out.append(_s(first_t, run_d, run_n - 1))
    return out


def _s(t: int | None, d: int, r: int) -> str:
    attrs = "" if t is None else f' t="{t}"'
    attrs += f' d="{d}"'
    if r:
        attrs += f' r="{r}"'
    return f"<S{attrs}/>"


def _segment_list(
    period: DashPeriod,
    segments: Sequence[Segment],
    urls: Sequence[str],
    init_url: str | None,
    indent: str,
) -> list[str]:
    pto = round((period.start - segments[0].run.anchor) * TIMESCALE)
    init = [] if init_url is None else [f"{indent}  <Initialization sourceURL={quoteattr(init_url)}/>"]
    return [
        f'{indent}<SegmentList timescale="{TIMESCALE}" presentationTimeOffset="{pto}">',
        *init,
        f"{indent}  <SegmentTimeline>",
        *(f"{indent}    {s}" for s in _timeline(segments)),
        f"{indent}  </SegmentTimeline>",
        *(f"{indent}  <SegmentURL media={quoteattr(url)}/>" for url in urls),
        f"{indent}</SegmentList>",
    ]


def _media_list(
    period: DashPeriod, segments: Sequence[Segment], file_url: Callable[[str], str], indent: str
) -> list[str]:
    """A Representation's segments: its init segment and segments at their (signed) CDN URLs."""
    urls = [file_url(seg.path) for seg in segments]
    return _segment_list(period, segments, urls, file_url(segments[0].init_path), indent)


def _protection(kid: str | None, licence_url: str | None, indent: str) -> list[str]:
    """The CENC descriptor with the default KID, and the ClearKey system with its licence server
    (DASH-IF's `dashif:Laurl`, and the older `clearkey:Laurl` some players read)."""
    if not kid:
        return []
    lines = [
        f'{indent}<ContentProtection schemeIdUri="{CENC_SCHEME}" value="cenc" '
        f'cenc:default_KID="{uuid_text(kid)}"/>',
        f'{indent}<ContentProtection schemeIdUri="{CLEARKEY_SCHEME}" value="ClearKey1.0">',
    ]
    if licence_url:
        url = escape(licence_url)
        lines.append(f"{indent}  <dashif:Laurl>{url}</dashif:Laurl>")
        lines.append(f'{indent}  <clearkey:Laurl Lic_type="EME-1.0">{url}</clearkey:Laurl>')
    lines.append(f"{indent}</ContentProtection>")
    return lines


def _video_set(period: DashPeriod, spec: MpdSpec, file_url: Callable[[str], str]) -> list[str]:
    rungs = [(info, segs) for info, segs in period.video if segs]
    if not rungs:
        return []
    rungs.sort(key=lambda r: (r[0].bandwidth, r[0].width * r[0].height))
    max_w = max(info.width for info, _ in rungs)
    max_h = max(info.height for info, _ in rungs)
    fps = rungs[-1][0].frame_rate
    frame_rate = str(round(fps)) if abs(fps - round(fps)) < 0.001 else f"{round(fps * 1000)}/1000"
    lines = [
        '    <AdaptationSet id="1" contentType="video" mimeType="video/mp4" segmentAlignment="true" '
        f'startWithSAP="1" maxWidth="{max_w}" maxHeight="{max_h}" frameRate="{frame_rate}">',
        *_protection(period.kid, spec.licence_url, "      "),
        '      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>',
    ]
    for info, segs in rungs:
        bandwidth = max(info.bandwidth - spec.audio_bandwidth, 1)
        lines.append(
            f'      <Representation id={quoteattr(info.rendition)} bandwidth="{bandwidth}" '
            f'codecs="{info.video_codec}" width="{info.width}" height="{info.height}" sar="1:1">'
        )
        lines += _media_list(period, segs, file_url, "        ")
        lines.append("      </Representation>")
    lines.append("    </AdaptationSet>")
    return lines


def _audio_set(period: DashPeriod, spec: MpdSpec, codec: str, file_url: Callable[[str], str]) -> list[str]:
    if not period.audio:
        return []
    return [
        '    <AdaptationSet id="2" contentType="audio" mimeType="audio/mp4" lang="en" '
        'segmentAlignment="true" startWithSAP="1">',
        *_protection(period.kid, spec.licence_url, "      "),
        '      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>',
        f'      <Representation id="audio" bandwidth="{spec.audio_bandwidth}" codecs="{codec}">',
        f'        <AudioChannelConfiguration schemeIdUri="{_CHANNELS_SCHEME}" value="2"/>',
        *_media_list(period, period.audio, file_url, "        "),
        "      </Representation>",
        "    </AdaptationSet>",
    ]


def _image_set(period: DashPeriod) -> list[str]:
    images = period.images
    if images is None or not images.segments:
        return []
    return [
        '    <AdaptationSet id="3" contentType="image" mimeType="image/jpeg">',
        f'      <Representation id="thumbnails" bandwidth="{images.bandwidth}" width="{images.width}" '
        f'height="{images.height}">',
        f'        <EssentialProperty schemeIdUri="{THUMBNAIL_TILE_SCHEME}" value="{images.layout}"/>',
        *_segment_list(period, images.segments, images.urls, None, "        "),
        "      </Representation>",
        "    </AdaptationSet>",
    ]


def periods_of(
    base: Sequence[Segment],
    tracks: Mapping[str, Sequence[Segment]],
    infos: Sequence[MediaInfo],
    audio: str,
    first_start: float | None = None,
) -> list[DashPeriod]:
    """Periods over the base rung's segments `base`: a new one at every new run and at every hole
    inside a run (a lost file), as the HLS playlists put a discontinuity there. Every rendition's
    segments (`tracks`, video rungs by their MediaInfo's rendition and `audio`) go to the Period of
    their run that they start in. `first_start` moves the first Period's start back to where its
    stretch began (a live window slides over it: its start and id must stay put across updates), or
    forward to where the presentation begins (a programme start inside its first segment)."""
    bounds: list[tuple[Segment, float]] = []  # (first segment, start)
    previous: Segment | None = None
    for seg in base:
        if (
            previous is None
            or seg.run.run_id != previous.run.run_id
            or abs(seg.start - previous.end) > OVERLAP_TOLERANCE_S
        ):
            bounds.append((seg, seg.start))
        previous = seg
    if bounds and first_start is not None:
        bounds[0] = (bounds[0][0], first_start)
    starts = [start - OVERLAP_TOLERANCE_S for _, start in bounds]

    def split(segments: Sequence[Segment]) -> list[list[Segment]]:
        out: list[list[Segment]] = [[] for _ in bounds]
        for seg in segments:
            i = bisect_right(starts, seg.start) - 1
            # The Period it starts in, or a neighbour of the same run (an overlap at a handover).
            for j in (i, i - 1, i + 1):
                if 0 <= j < len(bounds) and bounds[j][0].run.run_id == seg.run.run_id:
                    out[j].append(seg)
                    break
        return out

    video = {info.rendition: split(tracks.get(info.rendition, ())) for info in infos}
    sound = split(tracks.get(audio, ()))
    periods = []
    for i, (first, start) in enumerate(bounds):
        run = first.run
        periods.append(
            DashPeriod(
                id=f"{run.run_id}-{round(start / run.segment_duration)}",
                start=start,
                kid=run.kid,
                video=[(info, video[info.rendition][i]) for info in infos],
                audio=sound[i],
            )
        )
    return periods


def render_mpd(spec: MpdSpec, periods: Sequence[DashPeriod], file_url: Callable[[str], str]) -> str:
    """The MPD. `file_url(archive_path)` gives the (signed) CDN URL of an init segment or segment."""
    attrs = [
        _NAMESPACES,
        f'profiles="{PROFILE}"',
        f'type="{"dynamic" if spec.dynamic else "static"}"',
        f'availabilityStartTime="{xs_datetime(spec.origin)}"',
        f'publishTime="{xs_datetime(spec.published)}"',
        'minBufferTime="PT2S"',
        f'maxSegmentDuration="{xs_duration(math.ceil(spec.max_segment_duration))}"',
    ]
    if spec.dynamic:
        if spec.update_period is not None:
            attrs.append(f'minimumUpdatePeriod="{xs_duration(spec.update_period)}"')
        if spec.time_shift_depth is not None:
            attrs.append(f'timeShiftBufferDepth="{xs_duration(spec.time_shift_depth)}"')
        if spec.presentation_delay is not None:
            attrs.append(f'suggestedPresentationDelay="{xs_duration(spec.presentation_delay)}"')
    if spec.end is not None:
        attrs.append(f'mediaPresentationDuration="{xs_duration(spec.end - spec.origin)}"')
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<MPD {' '.join(attrs)}>"]
    if spec.location:
        lines.append(f"  <Location>{escape(spec.location)}</Location>")
    audio_codec = next((info.audio_codec for p in periods for info, _ in p.video), "mp4a.40.2")
    if not periods:  # nothing recorded in range yet: a Period is mandatory
        lines.append('  <Period id="empty" start="PT0S"/>')
    for period in periods:
        lines.append(
            f'  <Period id={quoteattr(period.id)} start="{xs_duration(period.start - spec.origin)}">'
        )
        lines += _video_set(period, spec, file_url)
        lines += _audio_set(period, spec, audio_codec, file_url)
        lines += _image_set(period)
        lines.append("  </Period>")
    if spec.dynamic:
        # The server's clock as the MPD was made: players align their live edge to it.
        lines.append(f'  <UTCTiming schemeIdUri="{_UTC_DIRECT}" value="{xs_datetime(spec.published)}"/>')
    lines += ["</MPD>", ""]
    return "\n".join(lines)
