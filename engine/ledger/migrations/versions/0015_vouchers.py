"""vouchers, a second instrument beside points, and their journal

Revision ID: 0015
Revises: 0016
Create Date: 2026-12-08 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vouchers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=True),
        sa.Column("value", sa.Numeric(18, 4), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("batch", sa.String(length=128), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.String(length=128), nullable=True),
        sa.Column("used_member", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("programme", "code", name=op.f("uq_vouchers_programme_code")),
        sa.UniqueConstraint(
            "programme", "batch", "member_id", name=op.f("uq_vouchers_programme_batch_member_id")
        ),
    )
    op.create_index("ix_vouchers_member", "vouchers", ["programme", "member_id", "expires_at"])
    op.create_index("ix_vouchers_sale", "vouchers", ["programme", "used_by"])
    op.create_table(
        "voucher_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=True),
        sa.Column("transaction_id", sa.String(length=128), nullable=True),
        sa.Column("amount", sa.Numeric(18, 4), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_events")),
    )
    op.create_index("ix_voucher_events_voucher", "voucher_events", ["programme", "voucher_id"])


def downgrade() -> None:
    op.drop_index("ix_voucher_events_voucher", table_name="voucher_events")
    op.drop_table("voucher_events")
    op.drop_index("ix_vouchers_sale", table_name="vouchers")
    op.drop_index("ix_vouchers_member", table_name="vouchers")
    op.drop_table("vouchers")
