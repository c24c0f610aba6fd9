"""outreach interactions (the outcome and notes of each contact attempt) and the critical
point a campaign audience was resolved against at launch

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outreach_interactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("trigger_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_interactions")),
        sa.UniqueConstraint(
            "programme", "key", name=op.f("uq_outreach_interactions_programme_key")
        ),
    )
    with op.batch_alter_table("outreach_interactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outreach_interactions_member", ["programme", "member_id"], unique=False
        )
        batch_op.create_index(
            "ix_outreach_interactions_task", ["programme", "task_id"], unique=False
        )

    op.create_table(
        "campaign_critical_points",
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("band_low", sa.BigInteger(), nullable=False),
        sa.Column("band_high", sa.BigInteger(), nullable=False),
        sa.Column("analysis", sa.JSON(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "programme", "campaign_id", name=op.f("pk_campaign_critical_points")
        ),
    )


def downgrade() -> None:
    op.drop_table("campaign_critical_points")
    with op.batch_alter_table("outreach_interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_outreach_interactions_task")
        batch_op.drop_index("ix_outreach_interactions_member")
    op.drop_table("outreach_interactions")
