"""cloud recordings: uuid recordings pointing at the archive, and series recordings

The `recordings` table of 0001 was a stub no endpoint wrote to: it is rebuilt with a uuid id, no
stored status (computed from the archive index) and a link to the series recording that made it.
The unique (user_id, schedule_entry_id) stays: it makes recording a programme idempotent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _drop_old_recordings() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_user_id"))
    op.drop_table("recordings")


def upgrade() -> None:
    _drop_old_recordings()
    op.create_table(
        "series_recordings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("series_id", sa.String(length=64), nullable=False),
        sa.Column("series_title", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("considered_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("skipped_episodes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_skipped_entry_id", sa.Uuid(), nullable=True),
        sa.Column("last_skipped_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "series_id", name="uq_series_recordings_user_series"),
    )
    op.create_table(
        "recordings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("schedule_entry_id", sa.Uuid(), nullable=False),
        sa.Column("channel_id", sa.String(length=20), nullable=False),
        sa.Column("series_recording_id", sa.Uuid(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["schedule_entry_id"], ["schedule_entries.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["series_recording_id"], ["series_recordings.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "schedule_entry_id", name="uq_recordings_user_entry"),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index("ix_recordings_schedule_entry_id", ["schedule_entry_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_recordings_series_recording_id"), ["series_recording_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_series_recording_id"))
        batch_op.drop_index("ix_recordings_schedule_entry_id")
    op.drop_table("recordings")
    op.drop_table("series_recordings")
    # The 0001 stub, empty (its rows pointed at the archive the same way; the status was never used).
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("schedule_entry_id", sa.Uuid(), nullable=False),
        sa.Column("channel_id", sa.String(length=20), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["schedule_entry_id"], ["schedule_entries.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "schedule_entry_id", name="uq_recordings_user_entry"),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recordings_user_id"), ["user_id"], unique=False)
