"""tier metric totals per member and window, each sale's contributions and stays, thresholds

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-08 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=18, scale=4)
ID = sa.String(length=128)


def upgrade() -> None:
    op.create_table(
        "member_metrics",
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.PrimaryKeyConstraint(
            "programme", "member_id", "window_start", "metric", name=op.f("pk_member_metrics")
        ),
    )
    op.create_table(
        "sale_metrics",
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("sale_id", ID, nullable=False),
        sa.Column("line_id", ID, nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.PrimaryKeyConstraint(
            "programme", "sale_id", "line_id", "metric", name=op.f("pk_sale_metrics")
        ),
    )
    op.create_table(
        "member_stays",
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("sale_id", ID, nullable=False),
        sa.Column("property", sa.String(length=128), nullable=False),
        sa.Column("first", sa.Date(), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("nights", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "programme", "sale_id", "property", "first", name=op.f("pk_member_stays")
        ),
    )
    op.create_index(
        "ix_member_stays_member", "member_stays", ["programme", "member_id", "window_start"]
    )
    op.create_table(
        "tier_thresholds",
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=64), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("programme", "tier", name=op.f("pk_tier_thresholds")),
    )


def downgrade() -> None:
    op.drop_table("tier_thresholds")
    op.drop_index("ix_member_stays_member", table_name="member_stays")
    op.drop_table("member_stays")
    op.drop_table("sale_metrics")
    op.drop_table("member_metrics")
