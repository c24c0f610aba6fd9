"""partial indexes on lots with points left, and spend in the member's sales index

A member's balance and next lots to spend are read in O(1) rows of their history; a rolling
window's qualifying spend is summed from the index alone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSPENT = sa.text("points_left > 0")
PENDING = sa.text("points_left > 0 AND pending_until IS NOT NULL")


def upgrade() -> None:
    # A quote reads the member's unswept expired lots, pending lots and next lots to spend:
    # without these it would walk every lot the member ever earned (issue 15).
    op.create_index(
        "ix_lots_unspent",
        "lots",
        ["programme", "member_id", "expires_at", "earned_at", "id"],
        sqlite_where=UNSPENT,
        postgresql_where=UNSPENT,
    )
    op.create_index(
        "ix_lots_pending",
        "lots",
        ["programme", "member_id", "pending_until"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.drop_index("ix_transactions_member", table_name="transactions")
    op.create_index(
        "ix_transactions_member",
        "transactions",
        ["programme", "member_id", "at", "qualifying"],
    )


def downgrade() -> None:
    op.drop_index("ix_transactions_member", table_name="transactions")
    op.create_index("ix_transactions_member", "transactions", ["programme", "member_id", "at"])
    op.drop_index("ix_lots_pending", table_name="lots")
    op.drop_index("ix_lots_unspent", table_name="lots")
