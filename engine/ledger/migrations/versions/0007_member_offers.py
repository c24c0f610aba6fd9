"""member offers granted by outreach triggers

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_offers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("trigger_id", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("effect", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("uses_left", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_offers")),
        sa.UniqueConstraint("task_id", name=op.f("uq_member_offers_task_id")),
    )
    with op.batch_alter_table("member_offers", schema=None) as batch_op:
        batch_op.create_index("ix_member_offers_member", ["programme", "member_id"], unique=False)
    op.create_table(
        "member_offer_uses",
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=128), nullable=False),
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("offer_id", "transaction_id", name=op.f("pk_member_offer_uses")),
    )
    with op.batch_alter_table("member_offer_uses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_member_offer_uses_sale", ["programme", "transaction_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("member_offer_uses", schema=None) as batch_op:
        batch_op.drop_index("ix_member_offer_uses_sale")
    op.drop_table("member_offer_uses")
    with op.batch_alter_table("member_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_member_offers_member")
    op.drop_table("member_offers")
