"""HLS playlists built on demand from the archive index (docs/PRODUCT.md, 'Media pipeline';
docs/MEDIA.md, M4, M6, M7).

Three forms over the same segments: live (sliding window), start-over (EVENT, growing until the
programme ends) and catch-up (VOD). Each run of the encoder has its own init segment and key, so a
change of run is an EXT-X-DISCONTINUITY with a fresh EXT-X-MAP, EXT-X-KEY and PROGRAM-DATE-TIME.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from app.services.archive.archive_index import ArchiveIndex, Segment
from app.services.archive.media_info import MediaInfo

# Overlap tolerated between runs before a segment counts as covering already-covered time.
OVERLAP_TOLERANCE_S = 0.25
AUDIO_GROUP = "aud"
_MIN_START_OFFSET_S = 0.001


class PlaylistKind(StrEnum):
    LIVE = "live"
    EVENT = "event"
    VOD = "vod"


@dataclass(frozen=True)
class MediaPlaylistSpec:
    channel_key: str
    rendition: str
    start: float  # epoch seconds: first instant wanted
    end: float  # epoch seconds: end of the range (exclusive)
    kind: PlaylistKind
    closed: bool  # append EXT-X-ENDLIST
    start_at: float | None = None  # where playback should begin (EXT-X-START), epoch seconds


def select_segments(
    index: ArchiveIndex, channel_key: str, rendition: str, start: float, end: float
) -> list[Segment]:
    """Segments covering [start, end) in order, each instant from one run only.

    Where a new run overlaps the end of the previous one (a restart or key rotation starts the new
    encoder before the old one stops), the new run wins and the old run's tail (a partial segment
    written as it was stopped) is dropped: no repeated picture, no gap.

    A segment sticking out of the range with less than the tolerance inside it is left out: audio
    segments end a few milliseconds off the video's boundaries, and an audio playlist that began
    with the previous programme's last segment would start 6 s before the video one, which put
    Shaka's start position a segment off (the renditions' EXT-X-START offsets then disagree).
    """
    out: list[Segment] = []
    for seg in index.iter_range(channel_key, rendition, start, end):
        if (seg.start < start and seg.end - start < OVERLAP_TOLERANCE_S) or (
            seg.end > end and end - seg.start < OVERLAP_TOLERANCE_S
        ):
            continue
        if out and seg.start < out[-1].end - OVERLAP_TOLERANCE_S:
            if seg.run.run_id == out[-1].run.run_id:
                continue  # cannot happen within one run; be safe
            while (
                out
                and out[-1].run.run_id != seg.run.run_id
                and out[-1].start >= seg.start - OVERLAP_TOLERANCE_S
            ):
                out.pop()
            if out and seg.start < out[-1].end - OVERLAP_TOLERANCE_S:
                continue  # overlaps a full segment of the old run: keep the old one
        out.append(seg)
    return out


def live_window_start(
    spans: Iterable[tuple[float, float]], start: float, end: float, max_holes: float
) -> float:
    """Where a live playlist over [start, end) begins, given the stretches (start, end) the archive
    holds: after the latest hole that brings the holes between there and the live edge above
    `max_holes` seconds (`start` when none does).

    Shaka 4.12 fixes a live presentation's edge from the sum of its segments' durations before it
    places them by PROGRAM-DATE-TIME: in a window holding a run, a long hole and a new run, its live
    edge fell where the old run ended, it started the player there and stalled at that run's end
    (the new run, buffered, lay beyond the seek range it may jump to). A live window therefore holds
    no more holes than the presentation delay absorbs; what lies before a long hole stays reachable
    as start-over and catch-up of its programmes."""
    covered: list[tuple[float, float]] = []  # merged, in time order
    for a, b in sorted((max(a, start), min(b, end)) for a, b in spans if b > start and a < end):
        if covered and a <= covered[-1][1] + OVERLAP_TOLERANCE_S:
            covered[-1] = (covered[-1][0], max(covered[-1][1], b))
        else:
            covered.append((a, b))
    holes = 0.0
    for before, after in zip(reversed(covered[:-1]), reversed(covered[1:]), strict=True):
        holes += after[0] - before[1]
        if holes > max_holes:
            return after[0]
    return start


def _pdt(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _header(
    spec: MediaPlaylistSpec,
    segments: list[Segment],
    discontinuity_sequence: Callable[[Segment], int],
    *extra: str,
) -> list[str]:
    """The lines a media or image playlist begins with: target duration, media and discontinuity
    sequence of its first segment, `extra` tags, the playlist type. Both forms share them so an
    image playlist lines up with its video playlist."""
    target = max((math.ceil(s.duration - 0.5) for s in segments), default=6)
    target = max(target, segments[0].run.segment_duration if segments else 6)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{segments[0].media_number if segments else 0}",
        f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuity_sequence(segments[0]) if segments else 0}",
        *extra,
    ]
    if spec.kind is PlaylistKind.EVENT:
        lines.append("#EXT-X-PLAYLIST-TYPE:EVENT")
    elif spec.kind is PlaylistKind.VOD:
        lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    return lines


def render_media_playlist(
    spec: MediaPlaylistSpec,
    segments: list[Segment],
    *,
    file_url: Callable[[str], str],
    key_uri: Callable[[str], str] | None,
    discontinuity_sequence: Callable[[Segment], int],
) -> str:
    """One rendition's media playlist. `file_url(archive_path)` gives the URL of an init segment or
    segment (signed for the CDN), `key_uri(kid_hex)` the key URL (None: no encryption)."""
    lines = _header(spec, segments, discontinuity_sequence, "#EXT-X-INDEPENDENT-SEGMENTS")
    if spec.start_at is not None and segments:
        # Shaka 4.12 ignores a start time of exactly 0 (falsy) and then starts an EVENT playlist at
        # the live edge; a millisecond in keeps start-over at the programme's first frame (docs/MEDIA.md,
        # M17).
        offset = max(_MIN_START_OFFSET_S, spec.start_at - segments[0].start)
        lines.append(f"#EXT-X-START:TIME-OFFSET={offset:.3f},PRECISE=YES")
    previous: Segment | None = None
    for seg in segments:
        if previous is None or seg.run.run_id != previous.run.run_id:
            if previous is not None:
                lines.append("#EXT-X-DISCONTINUITY")
            if key_uri is not None and seg.run.kid:
                lines.append(
                    f'#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,KEYFORMAT="identity",URI="{key_uri(seg.run.kid)}"'
                )
            lines.append(f'#EXT-X-MAP:URI="{file_url(seg.init_path)}"')
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(seg.start)}")
        elif abs(seg.start - previous.end) > OVERLAP_TOLERANCE_S:
            # A gap inside a run (a file lost): re-anchor the clock rather than drift.
            lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(seg.start)}")
        lines.append(f"#EXTINF:{seg.duration:.6f},")
        lines.append(file_url(seg.path))
        previous = seg
    if spec.closed:
        lines.append("#EXT-X-ENDLIST")
    lines.append("")
    return "\n".join(lines)


@dataclass(frozen=True)
class ImageStream:
    """The thumbnails' image playlist as a master announces it (EXT-X-IMAGE-STREAM-INF)."""

    uri: str
    bandwidth: int
    resolution: str  # of one tile, e.g. 160x90
    codecs: str = "jpeg"


def render_master_playlist(
    variants: Sequence[tuple[MediaInfo, str]], audio_uri: str, image: ImageStream | None = None
) -> str:
    """Multivariant playlist: one variant per ladder rung (its info and media playlist URI), sorted
    by bandwidth ascending, sharing one audio group (docs/MEDIA.md, M6), and the thumbnails' image
    playlist when there is one."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="Main",LANGUAGE="en",'
        f'DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="{audio_uri}"',
    ]
    for info, uri in sorted(variants, key=lambda v: (v[0].bandwidth, v[0].width * v[0].height)):
        lines += [
            f"#EXT-X-STREAM-INF:BANDWIDTH={info.bandwidth},AVERAGE-BANDWIDTH={info.average_bandwidth},"
            f'CODECS="{info.video_codec},{info.audio_codec}",RESOLUTION={info.width}x{info.height},'
            f'FRAME-RATE={info.frame_rate:.3f},AUDIO="{AUDIO_GROUP}"',
            uri,
        ]
    if image is not None:
        lines.append(
            f"#EXT-X-IMAGE-STREAM-INF:BANDWIDTH={image.bandwidth},RESOLUTION={image.resolution},"
            f'CODECS="{image.codecs}",URI="{image.uri}"'
        )
    lines.append("")
    return "\n".join(lines)


@dataclass(frozen=True)
class ImageSegment:
    """One entry of an image playlist: the sheet shown during a video segment (None: no picture)."""

    uri: str | None
    layout: str  # EXT-X-TILES LAYOUT, e.g. 3x1
    resolution: str  # of one tile
    tile_seconds: float


def render_image_playlist(
    spec: MediaPlaylistSpec,
    segments: list[Segment],
    sheet_of: Callable[[Segment], ImageSegment],
    *,
    discontinuity_sequence: Callable[[Segment], int],
) -> str:
    """The thumbnails' image playlist over exactly the video playlist's `segments`: the same media
    sequence, EXTINF, PROGRAM-DATE-TIME and discontinuities (so Shaka, which lines streams up by
    PROGRAM-DATE-TIME, shows for time t the picture of the video at t), one tile sheet per segment
    with its EXT-X-TILES. A segment without a sheet is left out, the next one re-anchored."""
    lines = _header(spec, segments, discontinuity_sequence)
    lines.append("#EXT-X-IMAGES-ONLY")
    previous: Segment | None = None
    anchored = False  # whether the next entry follows the previous one listed
    for seg in segments:
        if previous is not None and (
            seg.run.run_id != previous.run.run_id or abs(seg.start - previous.end) > OVERLAP_TOLERANCE_S
        ):
            if anchored:
                lines.append("#EXT-X-DISCONTINUITY")
            anchored = False
        previous = seg
        sheet = sheet_of(seg)
        if sheet.uri is None:
            if anchored:
                lines.append("#EXT-X-DISCONTINUITY")
            anchored = False
            continue
        if not anchored:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(seg.start)}")
            anchored = True
        lines.append(
            f"#EXT-X-TILES:RESOLUTION={sheet.resolution},LAYOUT={sheet.layout},DURATION={sheet.tile_seconds:.3f}"
        )
        lines.append(f"#EXTINF:{seg.duration:.6f},")
        lines.append(sheet.uri)
    if spec.closed:
        lines.append("#EXT-X-ENDLIST")
    lines.append("")
    return "\n".join(lines)


def sample_durations(segments: Iterable[Segment], n: int = 10) -> tuple[tuple[str, float], ...]:
    out = []
    for seg in segments:
        out.append((seg.name, seg.duration))
        if len(out) >= n:
            break
    return tuple(out)
