"""catalogue version: a counter bumped by triggers on channels and schedule_entries

The catch-up listings are cached in the backend, tagged with this version; the triggers make any
write to the tables they are read from (admin API, schedule job, another process, plain SQL) move
it in the same transaction, so a cached listing is never served after such a change commits.

Note for later migrations: on SQLite, `batch_alter_table` recreates a table and drops its
triggers; a migration that batch-alters channels or schedule_entries must create them again
(`create_triggers()` below).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("channels", "schedule_entries")
BUMP = "UPDATE catalogue_state SET version = version + 1 WHERE id = 1"


def create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION bump_catalogue_version() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in TABLES:
            # Once per statement, not per row: a schedule fill of thousands of rows bumps once.
            op.execute(
                f"CREATE TRIGGER {table}_catalogue_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_version()"
            )
        return
    for table in TABLES:  # SQLite has row triggers only
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_catalogue_version_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN {BUMP}; END"
            )


def drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_catalogue_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_catalogue_version()")
        return
    for table in TABLES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_catalogue_version_{event}")


def upgrade() -> None:
    state = op.create_table(
        "catalogue_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(state, [{"id": 1, "version": 0}])
    create_triggers()


def downgrade() -> None:
    drop_triggers()
    op.drop_table("catalogue_state")
