"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 00:20:36.351744
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("logo_url", sa.String(length=500), nullable=True),
        sa.Column("genre", sa.String(length=60), nullable=True),
        sa.Column("loop_seconds", sa.Integer(), nullable=True),
        sa.Column("cdn_channel_key", sa.String(length=20), nullable=True),
        sa.Column("tstv_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("startover_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("catchup_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("catchup_window_hours", sa.Integer(), server_default="168", nullable=False),
        sa.Column("cutv_window_hours", sa.Integer(), server_default="168", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cdn_channel_key"),
        sa.UniqueConstraint("number"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("subscription_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('viewer', 'admin')", name="ck_users_role"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "drm_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("key_value", sa.LargeBinary(length=16), nullable=False),
        sa.Column("channel_id", sa.Uuid(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id"),
    )
    with op.batch_alter_table("drm_keys", schema=None) as batch_op:
        batch_op.create_index("ix_drm_keys_channel_active", ["channel_id", "active"], unique=False)

    op.create_table(
        "profiles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profiles_user_id"), ["user_id"], unique=False)

    op.create_table(
        "schedule_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("synopsis", sa.Text(), nullable=True),
        sa.Column("genre", sa.String(length=60), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("series_title", sa.String(length=200), nullable=True),
        sa.Column("season_number", sa.Integer(), nullable=True),
        sa.Column("episode_number", sa.Integer(), nullable=True),
        sa.Column("series_id", sa.String(length=64), nullable=True),
        sa.Column("catchup_eligible", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("startover_eligible", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("schedule_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_schedule_channel_start", ["channel_id", "start_time", "end_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_schedule_entries_end_time"), ["end_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_schedule_entries_series_id"), ["series_id"], unique=False)

    op.create_table(
        "bookmarks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("content_id", sa.Uuid(), nullable=False),
        sa.Column("content_type", sa.String(length=20), nullable=False),
        sa.Column("position_seconds", sa.Float(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "content_type IN ('movie', 'episode', 'tstv_catchup', 'tstv_startover')",
            name="ck_bookmarks_content_type",
        ),
        sa.CheckConstraint("position_seconds >= 0", name="ck_bookmarks_position"),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("profile_id", "content_id", "content_type", name="uq_bookmarks_profile_content"),
    )
    with op.batch_alter_table("bookmarks", schema=None) as batch_op:
        batch_op.create_index("ix_bookmarks_profile_updated", ["profile_id", "updated_at"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=True),
        sa.Column("schedule_entry_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("deep_link", sa.String(length=500), nullable=True),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["schedule_entry_id"], ["schedule_entries.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "profile_id", "kind", "schedule_entry_id", name="uq_notifications_profile_kind_entry"
        ),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_user_read", ["user_id", "read", "created_at"], unique=False)

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

    op.create_table(
        "tstv_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("channel_id", sa.String(length=20), nullable=False),
        sa.Column("schedule_entry_id", sa.Uuid(), nullable=False),
        sa.Column("session_type", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_position_s", sa.Float(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("session_type IN ('startover', 'catchup')", name="ck_tstv_sessions_type"),
        sa.CheckConstraint("last_position_s >= 0", name="ck_tstv_sessions_position"),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["schedule_entry_id"], ["schedule_entries.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tstv_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tstv_sessions_schedule_entry_id"), ["schedule_entry_id"], unique=False
        )
        batch_op.create_index("ix_tstv_sessions_user", ["user_id", "started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tstv_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_tstv_sessions_user")
        batch_op.drop_index(batch_op.f("ix_tstv_sessions_schedule_entry_id"))

    op.drop_table("tstv_sessions")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_user_id"))

    op.drop_table("recordings")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_read")

    op.drop_table("notifications")
    with op.batch_alter_table("bookmarks", schema=None) as batch_op:
        batch_op.drop_index("ix_bookmarks_profile_updated")

    op.drop_table("bookmarks")
    with op.batch_alter_table("schedule_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_entries_series_id"))
        batch_op.drop_index(batch_op.f("ix_schedule_entries_end_time"))
        batch_op.drop_index("ix_schedule_channel_start")

    op.drop_table("schedule_entries")
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profiles_user_id"))

    op.drop_table("profiles")
    with op.batch_alter_table("drm_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_drm_keys_channel_active")

    op.drop_table("drm_keys")
    op.drop_table("users")
    op.drop_table("channels")
