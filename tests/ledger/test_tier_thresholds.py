"""Top-percent thresholds reach the till (issue 12): the tier review stores what it resolved,
with its day, and evaluators built from the store use them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import partial

from engine.ledger import jobs
from engine.ledger.thresholds import computed_on, stored
from engine.pricing.model import Line, Member, Transaction
from engine.registry import Registry
from tests.ledger.test_jobs import NOW, REC, recommended, seed_spenders

__all__ = ["recommended"]  # the module fixture, shared with test_jobs


def test_the_review_stores_its_resolved_thresholds_with_the_day(database, recommended):
    assert stored(database, REC) == {} and computed_on(database, REC) is None
    seed_spenders(database, REC, [200 * i for i in range(1, 101)])
    resolved = jobs.tier_review(database, recommended, date(2026, 12, 31), now=NOW)
    assert (
        stored(database, REC)
        == resolved
        == {
            "gold": Decimal("16200.00"),
            "platinum": Decimal("19200.00"),
        }
    )
    assert computed_on(database, REC) == date(2026, 12, 31)


def test_an_evaluator_built_from_the_store_names_the_next_top_percent_tier(database, recommended):
    seed_spenders(database, REC, [200 * i for i in range(1, 101)])
    jobs.tier_review(database, recommended, date(2026, 12, 31), now=NOW)
    registry = Registry("rules", matcher="python", thresholds=partial(stored, database))
    registry.reload()
    evaluator = registry(REC)
    member = Member("m", tier="standard", qualifying_spend=Decimal("16000.00"))
    sale = Transaction("t", NOW, (Line("1", "SKU", 1, Decimal("100.00")),))
    tier = evaluator.quote(member, sale).tier
    assert (tier.next_tier, tier.next_threshold) == ("gold", Decimal("16200.00"))
    assert tier.remaining == Decimal("100.00")
