"""campaign budgets and outreach tasks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 12:48:48.366498
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_budgets",
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("budget_points", sa.BigInteger(), nullable=True),
        sa.Column("budget_money", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("spent_points", sa.BigInteger(), nullable=False),
        sa.Column("spent_money", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audience_size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("programme", "campaign_id", name=op.f("pk_campaign_budgets")),
    )
    op.create_table(
        "outreach_tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("trigger_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("cycle", sa.String(length=64), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_tasks")),
        sa.UniqueConstraint(
            "programme",
            "trigger_id",
            "member_id",
            "cycle",
            name=op.f("uq_outreach_tasks_programme_trigger_id_member_id_cycle"),
        ),
    )
    with op.batch_alter_table("outreach_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outreach_tasks_status", ["programme", "status", "due"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outreach_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_outreach_tasks_status")

    op.drop_table("outreach_tasks")
    op.drop_table("campaign_budgets")
