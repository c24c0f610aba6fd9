"""Top-percent thresholds as the tier review resolved them, kept with the day it did.

The review writes them (``store``); every evaluator the serving processes build reads them
(``stored``), so a top-percent tier upgrades at the till and ``tier.next`` names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, Engine, delete, insert, select

from engine.ledger.tables import tier_thresholds


def store(conn: Connection, programme: str, resolved: Mapping[str, Decimal], on: date) -> None:
    """Replace the programme's stored thresholds with ``resolved`` (computed on ``on``)."""
    conn.execute(delete(tier_thresholds).where(tier_thresholds.c.programme == programme))
    if resolved:
        conn.execute(
            insert(tier_thresholds),
            [
                {"programme": programme, "tier": tier, "amount": amount, "computed_on": on}
                for tier, amount in resolved.items()
            ],
        )


def stored(engine: Engine, programme: str) -> dict[str, Decimal]:
    """The thresholds the last review resolved for ``programme`` ({} before any review)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(tier_thresholds.c.tier, tier_thresholds.c.amount).where(
                tier_thresholds.c.programme == programme
            )
        )
        return {tier: Decimal(amount) for tier, amount in rows}


def computed_on(engine: Engine, programme: str) -> date | None:
    """The day the stored thresholds were computed (None before any review)."""
    with engine.connect() as conn:
        return conn.execute(
            select(tier_thresholds.c.computed_on)
            .where(tier_thresholds.c.programme == programme)
            .limit(1)
        ).scalar()
