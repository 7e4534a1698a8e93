"""Accounts from the command line (the database of DATABASE_URL, migrated first):

    uv run --frozen python -m app.users add EMAIL --role admin|viewer [--subscription] --password-stdin
    uv run --frozen python -m app.users list
    uv run --frozen python -m app.users set-password EMAIL --password-stdin
    uv run --frozen python -m app.users disable EMAIL

Passwords are read from standard input (never from the command line, which other local users can
read in /proc). Changes reach running servers on their users' next request (app/services/accounts/).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from app.config import Settings, get_settings
from app.db import Database
from app.errors import ApiError
from app.launcher import migrate, migrate_locked
from app.services.accounts import accounts


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise SystemExit("no password on standard input")
    return password


async def run(settings: Settings, args: argparse.Namespace, password: str | None) -> str:
    db = Database(settings)
    try:
        async with db.sessionmaker() as session:
            if args.command == "add":
                assert password is not None
                user = await accounts.add_user(session, args.email, password, args.role, args.subscription)
                return (
                    f"added {user.email} ({user.role}{', subscription' if user.subscription_active else ''})"
                )
            if args.command == "list":
                rows = await accounts.list_users(session)
                return "\n".join(
                    f"{u.email}\t{u.role}\t{'subscription' if u.subscription_active else '-'}\t"
                    f"{'disabled' if u.disabled else 'active'}"
                    for u in rows
                )
            user = await accounts.user_by_email(session, args.email)
            if args.command == "set-password":
                assert password is not None
                await accounts.set_password(session, user, password)
                return f"password of {user.email} set; its older tokens no longer work"
            await accounts.update_user(session, user.id, accounts.UserChange(disabled=True))
            return f"disabled {user.email}"
    finally:
        await db.dispose()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m app.users", description="Manage TSTV accounts.")
    sub = p.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create an account")
    add.add_argument("email")
    add.add_argument("--role", choices=accounts.ROLES, default="viewer")
    add.add_argument("--subscription", action="store_true", help="with an active subscription")
    add.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from stdin"
    )
    sub.add_parser("list", help="list the accounts")
    setpw = sub.add_parser("set-password", help="set a new password (ends the account's tokens)")
    setpw.add_argument("email")
    setpw.add_argument("--password-stdin", action="store_true", required=True)
    disable = sub.add_parser("disable", help="disable an account (refused everywhere at once)")
    disable.add_argument("email")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    password = _read_password() if getattr(args, "password_stdin", False) else None
    settings = get_settings()
    # Several processes may migrate at once on PostgreSQL (the servers do at start-up).
    (migrate if settings.is_sqlite else migrate_locked)(settings.database_url)
    try:
        print(asyncio.run(run(settings, args, password)))
    except ApiError as exc:
        extra = "".join(f" {k}={v}" for k, v in exc.extra.items())
        print(f"error: {exc.detail}{extra}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
