"""accounts: disabled users, token epochs, signed-out tokens, and account-change notifications

`login_failures.address` (the throttle counts per client address too), `users.disabled` and
`users.token_epoch` (tokens carry the epoch they were issued under: raising it ends every older
token of that user), `revoked_tokens` (signed-out tokens until their expiry). On PostgreSQL a
change to a user or a new revocation also `pg_notify('account_changes', user_id)` on commit, so
every API process drops that user's cached state at once (app/services/accounts/user_state.py).
SQLite has no notifications: requests read the state there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One function per table: a row of `users` names its user `id`, one of `revoked_tokens` `user_id`.
TRIGGERS = {"users": "id", "revoked_tokens": "user_id"}


def _notify(table: str, column: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION notify_{table}_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF TG_OP = 'DELETE' THEN "
        f"PERFORM pg_notify('account_changes', OLD.{column}::text); "
        f"ELSE PERFORM pg_notify('account_changes', NEW.{column}::text); END IF; RETURN NULL; END $$"
    )


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("token_epoch", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=64), server_default="", nullable=False))
        batch_op.create_index(batch_op.f("ix_login_failures_address"), ["address"], unique=False)
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("jti"),
    )
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revoked_tokens_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_revoked_tokens_expires_at"), ["expires_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table, column in TRIGGERS.items():
            op.execute(_notify(table, column))
            op.execute(
                f"CREATE TRIGGER {table}_account_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION notify_{table}_change()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_account_change ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS notify_{table}_change()")
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_tokens_expires_at"))
        batch_op.drop_index(batch_op.f("ix_revoked_tokens_user_id"))
    op.drop_table("revoked_tokens")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_address"))
        batch_op.drop_column("address")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("token_epoch")
        batch_op.drop_column("disabled")
