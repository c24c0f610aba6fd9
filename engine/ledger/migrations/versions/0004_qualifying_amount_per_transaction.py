"""qualifying amount per transaction

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 13:33:39.230573
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(
            # Existing rows predate the column: 0 until recorded (rolling windows start afresh).
            sa.Column(
                "qualifying", sa.Numeric(precision=18, scale=4), nullable=False, server_default="0"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_column("qualifying")
