"""A viewer's channels for IPTV players (docs/PRODUCT.md, 'IPTV export'): an M3U playlist in the
form Kodi's IPTV Simple documents (`tvg-*`, `group-title`, `catchup="default"` with a
`catchup-source` template of `{utc}`/`{utcend}`) and an XMLTV guide of 7 days back and ahead.

Every URL carries the viewer's IPTV token (an IPTV player sends no header); the playback routes
take it in place of a bearer token (app/deps.py, `playback_claims`)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urljoin

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Channel, ScheduleEntry

GUIDE_DAYS = 7  # the XMLTV covers this many days back and ahead
DEFAULT_GROUP = "TV"
_XMLTV_TIME = "%Y%m%d%H%M%S +0000"
# Kodi's inputstream.adaptive plays the HLS (CMAF, CENC) and seeks in it; `clearkey` tells it the
# segments are encrypted with keys the playlists' EXT-X-KEY URIs deliver.
KODI_PROPERTIES = (
    "#KODIPROP:inputstream=inputstream.adaptive",
    "#KODIPROP:inputstream.adaptive.manifest_type=hls",
    "#KODIPROP:inputstream.adaptive.license_type=clearkey",
)


@dataclass(frozen=True)
class ExportUrls:
    """Where the export's URLs point: the API's absolute base (`https://host/api/v1`) and the token."""

    api_base: str
    site_base: str  # for channel logos given as paths
    token: str

    def _with_token(self, path: str, **params: str) -> str:
        # The template's braces stay literal: an IPTV player fills them in.
        query = "&".join([*(f"{k}={v}" for k, v in params.items()), urlencode({"token": self.token})])
        return f"{self.api_base}{path}?{query}"

    def playlist(self) -> str:
        return self._with_token("/iptv/playlist.m3u")

    def guide(self) -> str:
        return self._with_token("/iptv/epg.xml")

    def live(self, channel: Channel) -> str:
        return self._with_token(f"/tstv/live/{channel.id}/manifest")

    def catchup_source(self, channel: Channel) -> str:
        """The time-range route (docs/PRODUCT.md, 'Time ranges') with Kodi's `{utc}`/`{utcend}`:
        a programme's start and end in epoch seconds, as the route takes them."""
        return self._with_token(f"/tstv/archive/{channel.id}/manifest", start="{utc}", end="{utcend}")

    def logo(self, channel: Channel) -> str | None:
        return urljoin(self.site_base, channel.logo_url) if channel.logo_url else None


async def exported_channels(session: AsyncSession) -> Sequence[Channel]:
    """The channels a subscriber may watch: every channel with a stream (a CDN key)."""
    return (
        await session.scalars(
            select(Channel).where(Channel.cdn_channel_key.is_not(None)).order_by(Channel.number)
        )
    ).all()


def tvg_id(channel: Channel) -> str:
    """The id tying the M3U's channel to the XMLTV's: the channel's stable CDN key."""
    return f"{channel.cdn_channel_key}.tstv"


def _attr(value: str) -> str:
    """An M3U attribute value: no quote or line break can end it early."""
    return " ".join(value.replace('"', "'").split())


def catchup_days(channel: Channel) -> int | None:
    """Days of catch-up an IPTV player may offer: the viewer window (`cutv_window_hours`, which the
    time-range route enforces), rounded up to whole days; None without catch-up."""
    if not (channel.tstv_enabled and channel.catchup_enabled):
        return None
    return max(1, math.ceil(channel.cutv_window_hours / 24))


def render_m3u(channels: Sequence[Channel], urls: ExportUrls) -> str:
    guide = urls.guide()
    lines = [f'#EXTM3U url-tvg="{guide}" x-tvg-url="{guide}"']
    for ch in channels:
        attrs = {
            "tvg-id": tvg_id(ch),
            "tvg-name": ch.name,
            "tvg-chno": str(ch.number),
            "tvg-logo": urls.logo(ch),
            "group-title": ch.genre or DEFAULT_GROUP,
        }
        days = catchup_days(ch)
        if days is not None:
            attrs |= {
                "catchup": "default",
                "catchup-days": str(days),
                "catchup-source": urls.catchup_source(ch),
            }
        text = " ".join(f'{k}="{_attr(v)}"' for k, v in attrs.items() if v is not None)
        lines += [f"#EXTINF:-1 {text},{_attr(ch.name)}", *KODI_PROPERTIES, urls.live(ch)]
    lines.append("")
    return "\n".join(lines)


async def guide_entries(
    session: AsyncSession, channels: Sequence[Channel], now: datetime
) -> Sequence[ScheduleEntry]:
    """The programmes of these channels overlapping 7 days back to 7 days ahead, by channel and time."""
    span = timedelta(days=GUIDE_DAYS)
    return (
        await session.scalars(
            select(ScheduleEntry)
            .where(
                ScheduleEntry.channel_id.in_([c.id for c in channels]),
                ScheduleEntry.end_time > now - span,
                ScheduleEntry.start_time < now + span,
            )
            .order_by(ScheduleEntry.channel_id, ScheduleEntry.start_time)
        )
    ).all()


def _xmltv_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime(_XMLTV_TIME)


def _episode_nums(programme: ET.Element, entry: ScheduleEntry) -> None:
    """`onscreen` (S01E02) and `xmltv_ns` (zero-based `season.episode.`), where the schedule has them."""
    season, episode = entry.season_number, entry.episode_number
    if season is None and episode is None:
        return
    onscreen = "".join(
        [f"S{season:02d}" if season is not None else "", f"E{episode:02d}" if episode is not None else ""]
    )
    ET.SubElement(programme, "episode-num", system="onscreen").text = onscreen
    ns_season = str(season - 1) if season is not None and season > 0 else ""
    ns_episode = str(episode - 1) if episode is not None and episode > 0 else ""
    ET.SubElement(programme, "episode-num", system="xmltv_ns").text = f"{ns_season}.{ns_episode}."


def render_xmltv(channels: Sequence[Channel], entries: Sequence[ScheduleEntry], urls: ExportUrls) -> bytes:
    """XMLTV (the elements in the order its DTD wants): channels, then programmes by channel."""
    tv = ET.Element("tv", {"generator-info-name": "tstv"})
    by_id = {c.id: c for c in channels}
    for ch in channels:
        el = ET.SubElement(tv, "channel", id=tvg_id(ch))
        ET.SubElement(el, "display-name").text = ch.name
        logo = urls.logo(ch)
        if logo:
            ET.SubElement(el, "icon", src=logo)
    for entry in entries:
        ch = by_id[entry.channel_id]
        attrs = {"start": _xmltv_time(entry.start_time), "stop": _xmltv_time(entry.end_time)}
        programme = ET.SubElement(tv, "programme", attrs | {"channel": tvg_id(ch)})
        # A series' episode: the series is the title, the episode's own title the sub-title.
        series = entry.series_title if entry.series_title and entry.series_title != entry.title else None
        ET.SubElement(programme, "title").text = series or entry.title
        if series:
            ET.SubElement(programme, "sub-title").text = entry.title
        if entry.synopsis:
            ET.SubElement(programme, "desc").text = entry.synopsis
        if entry.genre:
            ET.SubElement(programme, "category").text = entry.genre
        _episode_nums(programme, entry)
    doctype = b'<!DOCTYPE tv SYSTEM "xmltv.dtd">\n'
    body: bytes = ET.tostring(tv, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + doctype + body
