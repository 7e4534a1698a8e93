"""catalogue version notifications: the version triggers also pg_notify('catalogue_version', v)

Every API process LISTENs on `catalogue_version` (app/catalogue_version.py) and so knows
the catalogue version without reading it per request: a master playlist needs no database round
trip. The notification is sent on commit (never for a rolled-back change), after the version
moved, with the new version as its payload. SQLite has no notifications: unchanged there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE catalogue_state SET version = version + 1 WHERE id = 1"
BUMP_AND_NOTIFY = (
    "DECLARE v bigint; BEGIN "
    "UPDATE catalogue_state SET version = version + 1 WHERE id = 1 RETURNING version INTO v; "
    "PERFORM pg_notify('catalogue_version', v::text); RETURN NULL; END"
)


def _function(body: str) -> None:
    # Same function, same triggers (0002): only what it does changes.
    op.execute(
        "CREATE OR REPLACE FUNCTION bump_catalogue_version() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ {body} $$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _function(BUMP_AND_NOTIFY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _function(f"BEGIN {BUMP}; RETURN NULL; END")
