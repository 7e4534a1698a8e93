"""`ARCHIVE_DISK_FLOOR`: the free space the archive's filesystem keeps, as a share of its size (`5%`)
or in bytes (`500M`, `2G`, `1048576`). No imports of its own, so the settings can check it."""

from __future__ import annotations

import re

_FLOOR_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|[KMGT]i?B?|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse(value: str) -> tuple[float, bool]:
    """(amount, is_percent); ValueError with the reason for anything else."""
    m = _FLOOR_RE.match(value)
    if m is None:
        raise ValueError(
            f"ARCHIVE_DISK_FLOOR={value!r}: expected a percentage of the disk (5%) or bytes with an "
            "optional K/M/G/T suffix (500M, 2G)"
        )
    amount, unit = float(m.group(1)), (m.group(2) or "").upper()
    if unit == "%":
        if not 0 <= amount < 100:
            raise ValueError(f"ARCHIVE_DISK_FLOOR={value!r}: a percentage must be at least 0 and below 100")
        return amount, True
    return amount * _UNITS[unit[:1]], False


def floor_bytes(value: str, total_bytes: int) -> int:
    """The floor in bytes on a filesystem of `total_bytes`."""
    amount, percent = parse(value)
    return int(total_bytes * amount / 100) if percent else int(amount)
