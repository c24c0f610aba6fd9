"""the fraction of a point a member carries to their next sale

``earn.remainders: carry`` keeps what rounding the base points down cut off, in millionths
of a point, on the member's row.

Revision ID: 0017
Revises: 0012
Create Date: 2026-12-08 03:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column("points_remainder", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("points_remainder")
