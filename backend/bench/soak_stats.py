"""The soak's pure parts (no I/O, unit-tested in tests/unit/test_soak_stats.py): the viewing mix, per
request kind counts and latency percentiles, the summary table and the verdict of a --find-max step."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MODES = ("live", "startover", "catchup")
# Request kinds in the order the table prints them. `heartbeat` is the app's bookmark save (a session
# PATCH moves the profile's bookmark: app/services/viewing/session_service.py); `bookmark` is the
# resume read a catch-up does first (frontend/src/player/useResume.ts), whose 404 means "none yet".
KINDS = ("login", "master", "media", "key", "licence", "segment", "session", "heartbeat", "bookmark", "probe")
PLAYLIST_KINDS = ("master", "media")
# Answers that are the app's normal path, not errors: no bookmark saved yet.
EXPECTED = {"bookmark": {404}}


class MixError(ValueError):
    """A --mix that cannot be used: the run stops before anything starts."""


def parse_mix(text: str) -> dict[str, float]:
    """`live=50,startover=25,catchup=25` -> shares summing to 1 (weights need not sum to 100). Modes
    left out get 0; an unknown mode, a negative or non-numeric weight, or all zero is a MixError."""
    weights = dict.fromkeys(MODES, 0.0)
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip().lower().replace("-", "")
        if not sep or name not in weights:
            raise MixError(f"--mix: {part!r} is not one of {', '.join(MODES)} = weight")
        try:
            weight = float(value)
        except ValueError:
            raise MixError(f"--mix: {part!r}: the weight is not a number") from None
        if weight < 0 or not math.isfinite(weight):
            raise MixError(f"--mix: {part!r}: the weight must be >= 0")
        weights[name] = weight
    total = sum(weights.values())
    if total <= 0:
        raise MixError(f"--mix {text!r}: no mode has a weight")
    return {k: v / total for k, v in weights.items()}


def pick_mode(mix: dict[str, float], rng: random.Random) -> str:
    modes = [m for m in MODES if mix.get(m, 0) > 0]
    return rng.choices(modes, weights=[mix[m] for m in modes])[0]


def percentile(ordered: list[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values, linear between the nearest ranks; 0.0 when empty."""
    if not ordered:
        return 0.0
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class KindStats:
    count: int = 0
    errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, of every answer (errors too)

    def add(self, kind: str, status: int | str, seconds: float) -> None:
        self.count += 1
        self.statuses[str(status)] += 1
        self.latencies.append(seconds)
        if not isinstance(status, int) or not (200 <= status < 300 or status in EXPECTED.get(kind, ())):
            self.errors += 1

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        ms = [round(1000 * percentile(ordered, q), 2) for q in (0.5, 0.95)]
        return {
            "count": self.count,
            "errors": self.errors,
            "statuses": dict(sorted(self.statuses.items())),
            "p50_ms": ms[0],
            "p95_ms": ms[1],
            "max_ms": round(1000 * ordered[-1], 2) if ordered else 0.0,
        }


class Recorder:
    """Every answer of a run, by request kind."""

    def __init__(self) -> None:
        self.kinds: dict[str, KindStats] = {}

    def add(self, kind: str, status: int | str, seconds: float) -> None:
        self.kinds.setdefault(kind, KindStats()).add(kind, status, seconds)

    def raw(self) -> dict[str, dict[str, Any]]:
        """Everything recorded, as JSON (a client process hands it to the soak: --clients)."""
        return {
            k: {"count": s.count, "errors": s.errors, "statuses": dict(s.statuses), "latencies": s.latencies}
            for k, s in self.kinds.items()
        }

    def merge(self, raw: dict[str, dict[str, Any]]) -> None:
        """Add another recorder's `raw()`."""
        for kind, r in raw.items():
            s = self.kinds.setdefault(kind, KindStats())
            s.count += r["count"]
            s.errors += r["errors"]
            s.statuses.update(r["statuses"])
            s.latencies += r["latencies"]

    def summary(self) -> dict[str, dict[str, Any]]:
        order = [k for k in KINDS if k in self.kinds] + sorted(set(self.kinds) - set(KINDS))
        return {k: self.kinds[k].summary() for k in order}


def table(summary: dict[str, dict[str, Any]]) -> str:
    """The summary as a Markdown table (what docs/PERFORMANCE.md quotes)."""
    lines = [
        "| request | count | errors | p50 ms | p95 ms | max ms | statuses |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, s in summary.items():
        statuses = ", ".join(f"{k}: {v}" for k, v in s["statuses"].items())
        lines.append(
            f"| {kind} | {s['count']:,} | {s['errors']} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} | "
            f"{s['max_ms']:.1f} | {statuses} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Limits:
    """What a --find-max step must hold to pass."""

    playlist_p95_ms: float = 100.0
    machine_cpu: float = 0.95  # busy share of all cores
    client_cpu: float = 0.8  # of one core: above it the client, not the server, is measured


def step_verdict(
    summary: dict[str, dict[str, Any]], machine_cpu: float, client_cpu: float, limits: Limits = Limits()
) -> list[str]:
    """Why a step fails (empty: it passed): errors and playlist p95 decide; the machine's and the
    client's CPU are named beside them, as what gave out (a saturated client invalidates a step)."""
    why = [f"{k}: {s['errors']} errors" for k, s in summary.items() if s["errors"]]
    why += [
        f"{k}: p95 {summary[k]['p95_ms']:.0f} ms"
        for k in PLAYLIST_KINDS
        if k in summary and summary[k]["p95_ms"] >= limits.playlist_p95_ms
    ]
    if why and machine_cpu >= limits.machine_cpu:
        why.append(f"machine CPU {100 * machine_cpu:.0f} %")
    if client_cpu >= limits.client_cpu:
        why.append(f"client CPU {100 * client_cpu:.0f} % of a core (client saturated: step invalid)")
    return why


def slowest_others(summary: dict[str, dict[str, Any]], top: int = 3) -> list[str]:
    """The kinds with the highest p95 besides the playlists: what is nearest to giving out."""
    others = sorted(((s["p95_ms"], k) for k, s in summary.items() if k not in PLAYLIST_KINDS), reverse=True)
    return [f"{k} p95 {p:.0f} ms" for p, k in others[:top]]


def find_max_steps(first: int, limit: int) -> list[int]:
    """25, 50, 100, 200 ...: doubling from `first` up to `limit` (included when it is a step)."""
    if first < 1 or limit < first:
        raise ValueError(f"--find-max needs 1 <= first ({first}) <= limit ({limit})")
    steps = [first]
    while steps[-1] * 2 <= limit:
        steps.append(steps[-1] * 2)
    return steps


def misconfigured(summary: dict[str, dict[str, Any]], mix: dict[str, float], seconds: float) -> list[str]:
    """What says the run measured nothing real (the soak then exits non-zero): a kind every
    playback makes with no successful answer, or most answers of a kind failing (a wrong secret, an
    unreachable CDN, a refused licence)."""
    need = ["login", "master", "media", "key", "licence", "segment"]
    if mix.get("startover", 0) + mix.get("catchup", 0) > 0 and seconds >= 60:
        need += ["session", "heartbeat"]
    empty = dict(count=0, errors=0)
    problems = [
        f"no successful {k} request" for k in need if (s := summary.get(k, empty))["count"] <= s["errors"]
    ]
    problems += [
        f"{k}: {s['errors']} of {s['count']} failed"
        for k, s in summary.items()
        if s["count"] >= 20 and s["errors"] > s["count"] / 2
    ]
    return problems
