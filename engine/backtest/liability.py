"""Outstanding points as of an instant, from the journal: by age and expiry month, valued.

The journal is the ledger's truth (``ledger check`` proves balance = open lots - debt =
journal sum), so the liability at any instant, past or present, is the journal summed up to
it: per lot for what is held in lots, and the rest is debt. With ``as_of`` after the last
movement the total is exactly the sum of the members' balances.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from engine.backtest.value import Facts, burn_value, facts, rate, real_cost
from engine.calendar import local_date
from engine.ledger.db import reading
from engine.ledger.tables import journal, lots
from engine.pricing import Evaluator

ISSUED = ("earn", "clawback")
SPENT = ("burn", "refund")


@dataclass
class Bucket:
    points: int = 0
    lots: int = 0


@dataclass
class Liability:
    programme: str
    as_of: datetime
    total: int  # the journal's sum: the members' balances at as_of
    spendable: int
    pending: int
    expired_unswept: int  # expired before as_of, not yet swept by ``ledger expire``
    debt: int
    issued: int  # points earned up to as_of, net of clawbacks
    redeemed: int  # points spent up to as_of, net of refunds
    expired: int  # points expired (swept) up to as_of
    redemption_rate: Decimal  # observed: redeemed / issued
    burn_value: Decimal
    real_cost: Decimal
    breakage_points: int  # outstanding points expected never to be redeemed
    by_age: dict[str, Bucket] = field(default_factory=dict)  # earned month
    by_expiry: dict[str, Bucket] = field(default_factory=dict)  # expiry month, "never"

    def as_dict(self) -> dict[str, Any]:
        def buckets(rows: dict[str, Bucket]) -> list[dict[str, Any]]:
            return [{"month": k, "points": b.points, "lots": b.lots} for k, b in rows.items()]

        return {
            "programme": self.programme,
            "as_of": self.as_of.isoformat(),
            "points": {
                "outstanding": self.total,
                "spendable": self.spendable,
                "pending": self.pending,
                "expired_not_swept": self.expired_unswept,
                "debt": self.debt,
                "issued": self.issued,
                "redeemed": self.redeemed,
                "expired": self.expired,
            },
            "redemption_rate": str(self.redemption_rate),
            "value": {"burn_value": str(self.burn_value), "real_cost": str(self.real_cost)},
            "breakage": {"points": self.breakage_points},
            "by_age": buckets(self.by_age),
            "by_expiry": buckets(self.by_expiry),
        }


def liability(database: Engine, evaluator: Evaluator, as_of: datetime) -> Liability:
    """The liability of ``evaluator``'s programme in ``database`` just before ``as_of``."""
    programme, tz = evaluator.programme.id, evaluator.tz
    before = (journal.c.programme == programme, journal.c.at < as_of)
    held = (
        select(
            lots.c.earned_at, lots.c.expires_at, lots.c.pending_until, func.sum(journal.c.points)
        )
        .join(journal, journal.c.lot_id == lots.c.id)
        .where(*before)
        .group_by(lots.c.id, lots.c.earned_at, lots.c.expires_at, lots.c.pending_until)
        .having(func.sum(journal.c.points) != 0)
    )
    kinds = select(journal.c.kind, func.coalesce(func.sum(journal.c.points), 0)).where(*before)
    with reading(database) as conn:
        per_kind = {k: v for k, v in conn.execute(kinds.group_by(journal.c.kind))}
        rows = conn.execute(held.execution_options(yield_per=10_000)).all()
    spendable = pending = unswept = 0
    by_age: dict[str, Bucket] = defaultdict(Bucket)
    by_expiry: dict[str, Bucket] = defaultdict(Bucket)
    for earned_at, expires_at, pending_until, points in rows:
        points = int(points)
        if expires_at is not None and expires_at < as_of:
            unswept += points
            continue
        if pending_until is not None and pending_until > as_of:
            pending += points
        else:
            spendable += points
        _add(by_age, local_date(earned_at, tz).strftime("%Y-%m"), points)
        month = local_date(expires_at, tz).strftime("%Y-%m") if expires_at else "never"
        _add(by_expiry, month, points)
    total = int(sum(per_kind.values()))
    debt = spendable + pending + unswept - total
    return _valued(
        evaluator,
        Liability(
            programme,
            as_of,
            total,
            spendable,
            pending,
            unswept,
            debt,
            issued=int(sum(per_kind.get(k, 0) for k in ISSUED)),
            redeemed=-int(sum(per_kind.get(k, 0) for k in SPENT)),
            expired=-int(per_kind.get("expire", 0)),
            redemption_rate=Decimal(0),
            burn_value=Decimal(0),
            real_cost=Decimal(0),
            breakage_points=0,
            by_age=dict(sorted(by_age.items())),
            by_expiry=dict(sorted(by_expiry.items())),
        ),
    )


def _add(buckets: dict[str, Bucket], key: str, points: int) -> None:
    buckets[key].points += points
    buckets[key].lots += 1


def _valued(evaluator: Evaluator, found: Liability) -> Liability:
    known: Facts = facts(evaluator)
    observed = rate(found.redeemed, found.issued)
    outstanding = found.spendable + found.pending
    found.redemption_rate = observed
    found.burn_value = burn_value(evaluator, known, outstanding)
    used = observed if found.issued > 0 else known.assumed_redemption_rate
    found.real_cost = real_cost(evaluator, known, outstanding, used)
    # Breakage: the share of today's points that history says will never be redeemed.
    found.breakage_points = int(outstanding * (1 - used))
    return found
