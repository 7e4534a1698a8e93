"""The little of HLS a simulated viewer reads (what Shaka reads of this service's playlists), parsed by
hand: the m3u8 package costs milliseconds per long playlist, and the client's CPU must stay far below
the server's (a saturated client measures itself)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs, urljoin, urlsplit

_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def _attrs(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _ATTR.findall(line.split(":", 1)[1])}


@dataclass(frozen=True)
class Variant:
    uri: str
    bandwidth: int


@dataclass(frozen=True)
class Master:
    variants: list[Variant]  # lowest bandwidth first
    audio: str | None


def parse_master(text: str, base: str) -> Master:
    variants: list[Variant] = []
    audio = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-MEDIA:") and "TYPE=AUDIO" in line:
            uri = _attrs(line).get("URI")
            audio = urljoin(base, uri) if uri else audio
        elif line.startswith("#EXT-X-STREAM-INF:") and i + 1 < len(lines):
            bandwidth = int(_attrs(line).get("BANDWIDTH", "0"))
            variants.append(Variant(urljoin(base, lines[i + 1].strip()), bandwidth))
    return Master(sorted(variants, key=lambda v: v.bandwidth), audio)


@dataclass(frozen=True)
class Segment:
    uri: str
    start: float  # epoch seconds (PROGRAM-DATE-TIME)
    duration: float
    init: str | None  # the EXT-X-MAP it needs
    key: str | None  # the EXT-X-KEY URI it is encrypted under


@dataclass
class Media:
    target: float
    ended: bool
    segments: list[Segment] = field(default_factory=list)

    def end(self) -> float | None:
        return self.segments[-1].start + self.segments[-1].duration if self.segments else None


def parse_media(text: str, base: str) -> Media:
    media = Media(target=6.0, ended=False)
    at: float | None = None
    duration = 0.0
    init = key = None
    for line in text.splitlines():
        if not line:
            continue
        if line[0] != "#":
            if at is not None:
                media.segments.append(Segment(urljoin(base, line.strip()), at, duration, init, key))
                at += duration
        elif line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",", 1)[0])
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            at = datetime.fromisoformat(line[25:].strip().replace("Z", "+00:00")).timestamp()
        elif line.startswith("#EXT-X-MAP:"):
            init = urljoin(base, _attrs(line)["URI"])
        elif line.startswith("#EXT-X-KEY:"):
            uri = _attrs(line).get("URI")
            key = urljoin(base, uri) if uri else None
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            media.target = float(line[22:])
        elif line.startswith("#EXT-X-ENDLIST"):
            media.ended = True
    return media


def playback_token(url: str) -> str | None:
    """The `pb` a media playlist URL carries (what the web app passes to the licence request)."""
    values = parse_qs(urlsplit(url).query).get("pb")
    return values[0] if values else None


def kid_of_key_uri(uri: str) -> str | None:
    """The KID (32 hex digits) of a raw-key URI, /api/v1/drm/keys/{kid}/raw?pb=..."""
    found = re.search(r"/drm/keys/([0-9a-fA-F]{32})/raw", uri)
    return found[1].lower() if found else None
