"""iptv tokens: a viewer's revocable links for IPTV players (docs/PRODUCT.md, 'IPTV export')

Only the SHA-256 of each secret is stored; `token_epoch` is the user's when the link was made.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "iptv_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("iptv_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_iptv_tokens_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("iptv_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iptv_tokens_user_id"))
    op.drop_table("iptv_tokens")
