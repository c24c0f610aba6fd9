"""A programme's declared validity convention reaches the lots and the tier it writes."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from engine.ledger import jobs
from engine.ledger.tables import members
from tests.ledger.programmes import evaluator_for, ledger_on, line, sale_body
from tests.ledger.test_jobs import NOW, SHOP, seed_purchases, seed_spenders, state, variant

TIERS = {
    "qualifying": {"metric": "spend", "period": "calendar_year"},
    "status_lasts": "rolling_12_months",
    "levels": [
        {"id": "standard", "name": "Standard"},
        {"id": "gold", "name": "Gold", "threshold": {"amount": 100}},
    ],
}


@pytest.mark.parametrize(
    ("through", "expires", "gold_until"),
    [
        (None, "2028-11-24", date(2027, 11, 23)),  # today's behaviour, the defaults
        ("anniversary", "2028-11-24", date(2027, 11, 24)),
        ("day_before", "2028-11-23", date(2027, 11, 23)),
    ],
)
def test_points_and_status_last_as_the_programme_declares(
    tmp_path, database, through, expires, gold_until
):
    rolling: dict = {"months": 24}
    tiers = dict(TIERS)
    if through:
        rolling["through"] = through
        tiers["status_through"] = through
    evaluator = evaluator_for(
        tmp_path, "valid", earn={"points": 1, "per": 1}, expiry={"rolling": rolling}, tiers=tiers
    )
    ledger = ledger_on(database, evaluator)
    ledger.enrol("valid", "m1", {"joined": "2026-01-05"})
    body = sale_body("s1", line("a", "A", "x", "150.00"), at="2026-11-24T12:00:00+08:00")
    sold = ledger.commit_sale("valid", "m1", body).response
    assert sold["points"]["expires_at"].startswith(f"{expires}T23:59:59")
    with database.connect() as conn:
        row = conn.execute(select(members.c.tier, members.c.tier_valid_until)).one()
    assert row == ("gold", gold_until)


@pytest.mark.parametrize(
    ("through", "valid_until"), [(None, date(2027, 12, 30)), ("anniversary", date(2027, 12, 31))]
)
def test_the_tier_review_writes_status_by_the_declared_convention(
    database, coffee, through, valid_until
):
    evaluator = variant(coffee, tiers={"status_through": through} if through else None)
    seed_spenders(database, SHOP, [0], period_start=None)
    seed_purchases(database, SHOP, [("s000", datetime(2026, 6, 1, 12), 900)])
    jobs.tier_review(database, evaluator, date(2026, 12, 31), now=NOW)
    assert state(database, "s000") == ("gold", date(2027, 1, 1), valid_until)
