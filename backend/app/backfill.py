"""`python -m app.backfill CHANNEL --from ISO --to ISO [--file PATH]`: write a channel's archive for
a past range faster than real time (app/services/encoders/backfill.py), from its own source or from a
backup recording that starts at `--from`. Archive that exists is left alone; the output says which
parts were written and which were skipped. Exit status 0 when it ran (even with nothing to write),
2 on bad input."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from app.config import get_settings
from app.db import Database
from app.errors import ApiError
from app.logging_setup import configure_logging
from app.services.encoders.backfill import backfill_range


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m app.backfill", description=__doc__.split("\n\n")[0])
    p.add_argument("channel", help="channel key (ch1) or id")
    p.add_argument("--from", dest="start", type=_when, required=True, help="ISO time (UTC unless it says)")
    p.add_argument("--to", dest="end", type=_when, required=True, help="ISO time (UTC unless it says)")
    p.add_argument("--file", type=Path, help="a backup recording starting at --from")
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    db = Database(settings)
    last = [-1]

    def progress(frac: float) -> None:
        pct = int(frac * 100)
        if pct // 10 != last[0] // 10:
            last[0] = pct
            print(f"  {pct:3d} %", file=sys.stderr, flush=True)

    try:
        result = await backfill_range(
            settings, db, args.channel, args.start, args.end, source_file=args.file, progress=progress
        )
    except ApiError as exc:
        print(f"backfill: {exc.detail} {exc.extra or ''}".rstrip(), file=sys.stderr)
        return 2 if exc.status_code < 500 else 1
    finally:
        await db.dispose()
    print(result.summary())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.file is not None and not args.file.is_file():
        print(f"backfill: no such file: {args.file}", file=sys.stderr)
        return 2
    configure_logging(get_settings().log_level)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
