from __future__ import annotations

from pathlib import Path

import httpx

from app.main import create_app
from tests.conftest import make_settings


async def test_healthz_ok_when_database_answers(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_healthz_503_when_database_is_down(tmp_path: Path) -> None:
    settings = make_settings(
        "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere", tmp_path, seed_on_startup=False
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            r = await c.get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable"


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert "/api/v1/auth/login" in r.json()["paths"]
