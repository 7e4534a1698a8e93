"""The playback service's caches: plain dicts (or OrderedDicts moved on hits), bounded."""

from __future__ import annotations

from typing import TypeVar

CACHE_SIZE = 1024
_K = TypeVar("_K")
_V = TypeVar("_V")


def kept(cache: dict[_K, _V], key: _K, value: _V) -> _V:
    """`value`, kept in `cache` under `key`; past CACHE_SIZE entries the first in order goes (the
    oldest, or with move_to_end on hits the least recently used)."""
    cache[key] = value
    if len(cache) > CACHE_SIZE:
        del cache[next(iter(cache))]
    return value
