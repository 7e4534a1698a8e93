"""The M3U and XMLTV of the IPTV export (app/services/catalogue/iptv_export.py) with hostile names:
nothing a channel or programme is called can end an M3U attribute early or break the XML."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from lxml import etree

from app.models import Channel, ScheduleEntry
from app.services.catalogue.iptv_export import ExportUrls, render_m3u, render_xmltv

NAME = 'News "24" & <More>\nline'
URLS = ExportUrls(api_base="https://tv.example/api/v1", site_base="https://tv.example/", token="t0k-en_")
START = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


def _channel(**kw: object) -> Channel:
    values: dict[str, object] = dict(
        id=uuid.uuid4(),
        name=NAME,
        number=7,
        cdn_channel_key="ch7",
        genre="News",
        logo_url="/static/logos/ch7.svg",
        tstv_enabled=True,
        catchup_enabled=True,
        cutv_window_hours=6,
    )
    return Channel(**(values | kw))


def test_m3u_attributes_survive_quotes_and_line_breaks() -> None:
    ch, off = _channel(), _channel(cdn_channel_key="ch8", catchup_enabled=False, logo_url=None, genre=None)
    lines = render_m3u([ch, off], URLS).splitlines()
    assert lines[0] == (
        '#EXTM3U url-tvg="https://tv.example/api/v1/iptv/epg.xml?token=t0k-en_" '
        'x-tvg-url="https://tv.example/api/v1/iptv/epg.xml?token=t0k-en_"'
    )
    extinf = [ln for ln in lines if ln.startswith("#EXTINF")]
    assert len(extinf) == 2 and len(lines) == 1 + 2 * 5  # EXTINF, three KODIPROPs, URL each
    attrs = dict(re.findall(r'([a-z-]+)="([^"]*)"', extinf[0]))
    assert attrs["tvg-name"] == "News '24' & <More> line"
    assert attrs["tvg-logo"] == "https://tv.example/static/logos/ch7.svg"
    assert attrs["catchup-days"] == "1"  # 6 h of viewer window: a day, rounded up
    assert attrs["catchup-source"] == (
        f"https://tv.example/api/v1/tstv/archive/{ch.id}/manifest?start={{utc}}&end={{utcend}}&token=t0k-en_"
    )
    plain = dict(re.findall(r'([a-z-]+)="([^"]*)"', extinf[1]))
    assert "catchup" not in plain and "tvg-logo" not in plain and plain["group-title"] == "TV"


def test_xmltv_escapes_and_numbers_episodes() -> None:
    ch = _channel()
    entries = [
        ScheduleEntry(
            channel_id=ch.id,
            title=NAME,
            synopsis="A < B & C",
            genre="News",
            series_title="Series & co",
            season_number=2,
            episode_number=5,
            start_time=START,
            end_time=START + timedelta(minutes=30),
        )
    ]
    tv = etree.fromstring(render_xmltv([ch], entries, URLS))
    [programme] = tv.iter("programme")
    assert programme.get("start") == "20260301200000 +0000" and programme.get("channel") == "ch7.tstv"
    assert programme.findtext("title") == "Series & co" and programme.findtext("sub-title") == NAME
    assert programme.findtext("desc") == "A < B & C"
    assert programme.findtext("episode-num[@system='onscreen']") == "S02E05"
    assert programme.findtext("episode-num[@system='xmltv_ns']") == "1.4."
    assert tv.findtext("channel/display-name") == NAME
