"""The adaptive bitrate ladder (`ABR_LADDER`): which video rungs every channel is encoded at.

Syntax: comma-separated rungs `name:WIDTHxHEIGHT:BITRATE`, e.g.
`360p:640x360:500k,540p:960x540:1200k,720p:1280x720:2500k`. The name is 1-12 lower-case letters or
digits (it names the rung's folder in the archive, `video_{name}`), width and height are even
(H.264 4:2:0), the bitrate is bits per second with an optional `k` or `M` suffix and is the rung's
cap (`-maxrate`): content that needs fewer bits gets fewer. Rungs are kept in bitrate order; the
lowest is the *base* rung, written to the archive's `video` folder like every run before the ladder,
so anything that reads one video rendition (stills, coverage, old archives) reads the base rung.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_LADDER = "360p:640x360:500k,540p:960x540:1200k,720p:1280x720:2500k"
MAX_RUNGS = 8
_RUNG_RE = re.compile(r"^([a-z0-9]{1,12}):(\d{2,4})x(\d{2,4}):(\d+(?:\.\d+)?)([kKmM]?)$")
BASE_RENDITION = "video"


@dataclass(frozen=True)
class Rung:
    name: str
    width: int
    height: int
    bitrate: int  # bits per second: the encoder's cap for the rung's video

    def rendition(self, base: bool) -> str:
        """The rung's folder in a run (and its media playlist's name)."""
        return BASE_RENDITION if base else f"{BASE_RENDITION}_{self.name}"

    def spec(self) -> str:
        return f"{self.name}:{self.width}x{self.height}:{self.bitrate}"


def parse_ladder(value: str) -> tuple[Rung, ...]:
    """The rungs of an `ABR_LADDER` value in bitrate order; ValueError with the reason otherwise."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        raise ValueError("ABR_LADDER needs at least one rung, e.g. 360p:640x360:500k")
    if len(parts) > MAX_RUNGS:
        raise ValueError(f"ABR_LADDER has {len(parts)} rungs; at most {MAX_RUNGS}")
    rungs: list[Rung] = []
    for part in parts:
        m = _RUNG_RE.match(part)
        if m is None:
            raise ValueError(
                f"ABR_LADDER rung {part!r} is not name:WIDTHxHEIGHT:BITRATE (e.g. 540p:960x540:1200k)"
            )
        name, w, h, rate, unit = m.groups()
        width, height = int(w), int(h)
        if not (16 <= width <= 3840 and 16 <= height <= 2160) or width % 2 or height % 2:
            raise ValueError(f"ABR_LADDER rung {part!r}: width and height must be even, 16..3840 x 16..2160")
        bitrate = round(float(rate) * {"": 1, "k": 1000, "m": 1_000_000}[unit.lower()])
        if not 50_000 <= bitrate <= 50_000_000:
            raise ValueError(f"ABR_LADDER rung {part!r}: bitrate must be 50k..50M")
        rungs.append(Rung(name, width, height, bitrate))
    names = [r.name for r in rungs]
    if len(set(names)) != len(names):
        raise ValueError(f"ABR_LADDER rung names must be distinct: {', '.join(names)}")
    if len({r.bitrate for r in rungs}) != len(rungs):
        raise ValueError("ABR_LADDER rungs must have distinct bitrates (players choose by bandwidth)")
    return tuple(sorted(rungs, key=lambda r: r.bitrate))
