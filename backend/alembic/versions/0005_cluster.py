"""cluster state: wanted encoder state, encoder status published by owners, worker registrations

For TSTV_ROLE=api / worker (docs/SCALING.md): the wanted state moves from `.simlive/state.json` into
`encoder_wanted`; the worker owning a channel (by a PostgreSQL advisory lock) publishes its status
into `encoder_status`; workers register in `cluster_workers`. Plain tables, the same on SQLite
(where only TSTV_ROLE=all runs and nothing writes them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "encoder_wanted",
        sa.Column("channel_key", sa.String(length=20), nullable=False),
        sa.Column("wanted", sa.Boolean(), nullable=False),
        sa.Column("restart_seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_key"),
    )
    op.create_table(
        "encoder_status",
        sa.Column("channel_key", sa.String(length=20), nullable=False),
        sa.Column("worker_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("restart_seq_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_key"),
    )
    op.create_table(
        "cluster_workers",
        sa.Column("worker_id", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("lock_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channels", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("worker_id"),
    )


def downgrade() -> None:
    op.drop_table("cluster_workers")
    op.drop_table("encoder_status")
    op.drop_table("encoder_wanted")
