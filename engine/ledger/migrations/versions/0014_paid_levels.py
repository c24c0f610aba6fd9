"""bought levels: a paid tier's purchases, renewals and cancellations

Revision ID: 0014
Revises: 0017
Create Date: 2026-12-08 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "paid_levels",
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("level", sa.String(length=64), nullable=False),
        sa.Column("fee", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("renewal", sa.Boolean(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.PrimaryKeyConstraint("programme", "id", name=op.f("pk_paid_levels")),
    )
    with op.batch_alter_table("paid_levels", schema=None) as batch_op:
        batch_op.create_index(
            "ix_paid_levels_member", ["programme", "member_id", "ends_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("paid_levels", schema=None) as batch_op:
        batch_op.drop_index("ix_paid_levels_member")
    op.drop_table("paid_levels")
