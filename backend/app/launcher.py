"""`make run`: migrate the database, then serve the platform (seed and encoders start in the app)."""

from __future__ import annotations

import os

import uvicorn
from alembic import command
from alembic.config import Config

from app.config import BACKEND_DIR, get_settings
from app.logging_setup import configure_logging


def migrate(database_url: str) -> None:
    cfg = Config(str(BACKEND_DIR / "alembic.ini"))
    cfg.attributes["database_url"] = database_url
    command.upgrade(cfg, "head")


def main() -> None:
    configure_logging()
    settings = get_settings()
    migrate(settings.database_url)
    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(
        "app.main:app_factory",
        factory=True,
        host=os.environ.get("HOST", "0.0.0.0"),
        port=port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
