"""No known password or secret: the run command's process (`python -m app.launcher`) started as a
deployment starts it.

Production seeds channels and schedule only: no demo account signs in, the sign-in page lists
none, and the operator made with the CLI does. Development without JWT_SECRET generates a secret
per install and keeps it beside the database: a token signed with any constant of the repository
(its files and the history of the files that held secrets) is refused, two installs refuse each
other's tokens, and a restart keeps users signed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import jwt
import pytest

from tests.conftest import BACKEND_DIR, asyncpg_dsn, create_database, drop_database
from tests.stack import child_process, free_port, wait_until

REPO_DIR = BACKEND_DIR.parent
# Passwords this repository has ever printed or used for the demo accounts.
KNOWN_PASSWORDS = ("tstv-demo", "tstv-demo-test", "e2e-demo-password", "bench-demo", "two-process")
# Forging with short constants is the point here.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
DEMO_EMAILS = ("admin@tstv.local", "viewer@tstv.local", "nosub@tstv.local")


@contextlib.contextmanager
def platform(tmp: Path, env: dict[str, str], name: str = "server") -> Iterator[str]:
    port = free_port()
    full = {
        **{k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "TSTV_DEMO_PASSWORD", "TSTV_ENV")},
        "PORT": str(port),
        "CDN_PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "HLS_SEGMENT_DIR": str(tmp / "hls"),
        "SIMLIVE_AUTOSTART": "false",
        "BACKGROUND_JOBS": "false",
        **env,
    }
    base = f"http://127.0.0.1:{port}"
    with child_process(
        [sys.executable, "-m", "app.launcher"], tmp / f"{name}.log", cwd=BACKEND_DIR, env=full
    ):
        wait_until(lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200, 90, name)
        yield base


def login(base: str, email: str, password: str) -> httpx.Response:
    return httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)


def test_production_seeds_no_account_and_the_cli_operator_signs_in(tmp_path: Path) -> None:
    name = f"tstv_deploy_{secrets.token_hex(4)}"
    db_url = asyncio.run(create_database(name))
    env = {"TSTV_ENV": "production", "JWT_SECRET": secrets.token_hex(32), "DATABASE_URL": db_url}
    try:
        with platform(tmp_path, env) as base:
            config = httpx.get(f"{base}/api/v1/config").json()
            assert (config["environment"], config["demo_accounts"]) == ("production", [])
            for email in DEMO_EMAILS:
                for password in KNOWN_PASSWORDS:
                    assert login(base, email, password).status_code in (401, 429)
            assert asyncio.run(_count(db_url, "users")) == 0
            assert asyncio.run(_count(db_url, "channels")) >= 5  # channels and schedule are seeded

            operator_password = secrets.token_urlsafe(16)
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "app.users",
                    "add",
                    "ops@example.com",
                    "--role",
                    "admin",
                    "--password-stdin",
                ],
                cwd=BACKEND_DIR,
                env={**os.environ, **env},
                input=operator_password + "\n",
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert run.returncode == 0, run.stderr
            assert operator_password not in run.stdout + run.stderr
            r = login(base, "ops@example.com", operator_password)
            assert r.status_code == 200, r.text
            users = httpx.get(
                f"{base}/api/v1/admin/users", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
            ).json()["users"]
            assert [(u["email"], u["role"]) for u in users] == [("ops@example.com", "admin")]
            log = (tmp_path / "server.log").read_text()
            assert operator_password not in log and "demo account" not in log
    finally:
        asyncio.run(drop_database(name))


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "JWT_SECRET"},
        "TSTV_ENV": "production",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tstv.db'}",
    }
    run = subprocess.run(
        [sys.executable, "-m", "app.launcher"],
        cwd=BACKEND_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "JWT_SECRET must be set" in run.stdout + run.stderr
    assert not (tmp_path / "jwt-secret").exists()


async def _count(db_url: str, table: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        n: int = await conn.fetchval(f"SELECT count(*) FROM {table}")
        return n
    finally:
        await conn.close()


_LITERAL = re.compile(r"""["'`]([^"'`\n]{8,200})["'`]""")
_SKIP = (".lock", "package-lock.json", ".png", ".svg", ".ico", ".jpg", ".woff2", ".mp4")
# Files that held secrets: their history counts too (a constant removed is still known).
_SECRET_HISTORY = (
    "backend/app/config.py",
    "backend/tests/conftest.py",
    "backend/tests/stack.py",
    "docker-compose.yml",
)


def repository_constants() -> set[str]:
    """Every quoted string of 8 to 200 characters in the repository's files and in the history of
    the files that held secrets."""
    git = ["git", "-C", str(REPO_DIR)]
    files = subprocess.run([*git, "ls-files"], capture_output=True, text=True, check=True).stdout.split()
    found: set[str] = set()
    for f in files:
        if f.endswith(_SKIP):
            continue
        with contextlib.suppress(OSError, UnicodeDecodeError):
            found.update(_LITERAL.findall((REPO_DIR / f).read_text(encoding="utf-8")))
    history = subprocess.run(
        [*git, "log", "-p", "--", *_SECRET_HISTORY], capture_output=True, text=True
    ).stdout
    found.update(_LITERAL.findall(history))
    return found


def forged(secret: str, user_id: str) -> str:
    now = int(time.time())
    claims = {
        "sub": user_id,
        "role": "admin",
        "sub_active": True,
        "typ": "access",
        "ep": 0,
        "exp": now + 3600,
    }
    return jwt.encode({**claims, "jti": uuid.uuid4().hex, "iat": now}, secret, algorithm="HS256")


def test_development_secrets_are_the_installs_own(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    env_a = {"TSTV_ENV": "development", "DATABASE_URL": f"sqlite:///{a / 'tstv.db'}"}
    env_b = {"TSTV_ENV": "development", "DATABASE_URL": f"sqlite:///{b / 'tstv.db'}"}
    with platform(a, env_a, "a") as base_a:
        demo = {
            d["email"]: d["password"] for d in httpx.get(f"{base_a}/api/v1/config").json()["demo_accounts"]
        }
        assert set(demo) == set(DEMO_EMAILS)
        assert demo["admin@tstv.local"] not in KNOWN_PASSWORDS  # generated for this install
        token = login(base_a, "admin@tstv.local", demo["admin@tstv.local"]).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base_a}/api/v1/admin/users", headers=auth).status_code == 200
        admin_id = httpx.get(f"{base_a}/api/v1/auth/me", headers=auth).json()["id"]

        secret_file = a / "jwt-secret"
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        own = secret_file.read_text().strip()
        constants = repository_constants()
        assert own not in constants
        with httpx.Client(base_url=base_a, timeout=30) as client:
            # The check can fail: a token signed with the install's own secret is an operator's.
            mine = {"Authorization": f"Bearer {forged(own, admin_id)}"}
            assert client.get("/api/v1/admin/users", headers=mine).status_code == 200
            accepted = [
                c
                for c in sorted(constants)
                if client.get(
                    "/api/v1/admin/users", headers={"Authorization": f"Bearer {forged(c, admin_id)}"}
                ).status_code
                != 401
            ]
        assert accepted == [], f"{len(accepted)} repository constants sign accepted tokens"
        assert len(constants) > 1000  # the scan read the repository

    with platform(b, env_b, "b") as base_b:
        assert (b / "jwt-secret").read_text().strip() != own
        assert httpx.get(f"{base_b}/api/v1/auth/me", headers=auth).status_code == 401

    with platform(a, env_a, "a-again") as base_a:
        r = httpx.get(f"{base_a}/api/v1/admin/users", headers=auth)
        assert r.status_code == 200, r.text  # still signed in after the restart
        assert secret_file.read_text().strip() == own
