"""The five SimLive channels and the programmes they loop, as plain data.

Everything here is deterministic: channel ids, entry ids and titles derive from the channel key and
the loop number, so every process (and every database) agrees on what is on air.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

NAMESPACE = uuid.UUID("6f1c3b52-7d0e-4c55-9a51-3c3e2f0b7a10")


@dataclass(frozen=True)
class Programme:
    title: str
    genre: str
    synopsis: str
    series_title: str | None = None


@dataclass(frozen=True)
class ChannelDef:
    key: str
    name: str
    number: int
    genre: str
    loop_seconds: int
    cutv_window_hours: int
    programmes: tuple[Programme, ...]

    @property
    def id(self) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"channel:{self.key}")

    @property
    def logo_url(self) -> str:
        return f"/static/logos/{self.key}.svg"


def _p(title: str, genre: str, synopsis: str, series: str | None = None) -> Programme:
    return Programme(title, genre, synopsis, series)


CHANNELS: tuple[ChannelDef, ...] = (
    ChannelDef(
        "ch1",
        "TSTV One",
        101,
        "Entertainment",
        600,
        168,
        (
            _p("Morning Brew", "Lifestyle", "Coffee, headlines and a guest on the sofa."),
            _p("Northern Lights", "Drama", "A family saga under Arctic skies.", "Northern Lights"),
            _p("Quiz Circuit", "Entertainment", "Four contestants, one buzzer, no mercy."),
            _p(
                "Kitchen Table", "Lifestyle", "Home cooks share a dish that means something.", "Kitchen Table"
            ),
            _p("Late Laughs", "Comedy", "Stand-up from the best new comedians."),
        ),
    ),
    ChannelDef(
        "ch2",
        "TSTV News",
        102,
        "News",
        600,
        168,
        (
            _p("News at the Hour", "News", "The headlines, at home and abroad."),
            _p("Market Watch", "News", "Shares, currencies and what moved them."),
            _p("World Desk", "News", "Correspondents report from five continents."),
            _p("Weather Room", "News", "The forecast, region by region."),
        ),
    ),
    ChannelDef(
        "ch3",
        "TSTV Sport",
        103,
        "Sport",
        720,
        48,
        (
            _p("Match Day Live", "Sport", "Live coverage of the big match."),
            _p("Goal Rush", "Sport", "Every goal of the weekend."),
            _p("Track & Field", "Sport", "Highlights from the athletics meeting."),
            _p("The Pundits", "Sport", "Analysis and argument after the final whistle."),
        ),
    ),
    ChannelDef(
        "ch4",
        "TSTV Kids",
        104,
        "Kids",
        660,
        168,
        (
            _p("Robo Pals", "Kids", "Two robots learn about friendship.", "Robo Pals"),
            _p("Dino Dig", "Kids", "Young palaeontologists unearth a mystery.", "Dino Dig"),
            _p("Story Time", "Kids", "A picture book read aloud."),
            _p("Science Squad", "Kids", "Experiments you can try at home.", "Science Squad"),
        ),
    ),
    ChannelDef(
        "ch5",
        "TSTV Drama",
        105,
        "Drama",
        720,
        168,
        (
            _p("Harbour Street", "Drama", "Secrets and loyalties in a fishing town.", "Harbour Street"),
            _p("The Inspector", "Crime", "A detective with a past takes a cold case.", "The Inspector"),
            _p("Night Shift", "Drama", "Twelve hours in a city hospital.", "Night Shift"),
            _p("Classic Cinema", "Film", "A restored classic from the archive."),
        ),
    ),
)

CHANNELS_BY_KEY = {c.key: c for c in CHANNELS}


def entry_id(channel_key: str, loop_number: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"entry:{channel_key}:{loop_number}")


def series_id(series_title: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"series:{series_title}"))
