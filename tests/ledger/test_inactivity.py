"""Inactivity declared precisely: which activities reset the clock, lapse on the same day or at
the end of the month, members exempt by tier or tag; on both backends."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from engine.calendar import inactivity_deadline, inactivity_lapse_day
from engine.ledger import jobs
from engine.ledger.check import check
from engine.ledger.service import Ledger
from engine.ledger.tables import journal, members
from engine.policy.loader import validate_document
from engine.pricing import Evaluator
from tests.engine.conftest import BASE
from tests.ledger.conftest import BEANS, sale

SHOP = "coffee-shop"
TICK = timedelta(microseconds=1)
BOUGHT = "2026-05-24T12:00:00+08:00"


class Clock:
    """The ledger's clock, moved by the test (adjustments are dated by it)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def with_inactivity(evaluator: Evaluator, **inactivity) -> Evaluator:
    document = dict(evaluator.document)
    document["expiry"] = {"inactivity": {"months": 6, **inactivity}}
    programme = dataclasses.replace(evaluator.programme, document=document)
    return Evaluator(programme, matcher="python")


def balance(database, member: str) -> int:
    with database.connect() as conn:
        query = members.select().where(members.c.programme == SHOP, members.c.id == member)
        return conn.execute(query).mappings().one()["balance"]


def lapse_reason(database, member: str) -> list[str]:
    with database.connect() as conn:
        query = journal.select().where(journal.c.member_id == member, journal.c.kind == "expire")
        return [row["reason"] for row in conn.execute(query).mappings()]


def bought_then_adjusted(database, evaluator: Evaluator, **profile) -> Ledger:
    clock = Clock(datetime(2026, 5, 24, 4, tzinfo=UTC))
    ledger = Ledger(database, {SHOP: evaluator}, clock=clock)
    ledger.enrol(SHOP, "m1", {"joined": "2026-01-05", **profile})
    ledger.commit_sale(SHOP, "m1", sale("t1", BEANS, at=BOUGHT))
    clock.at = datetime(2026, 10, 1, 4, tzinfo=UTC)
    ledger.adjust(SHOP, "m1", 10, reason="goodwill", actor="agent", key="adj-1")
    return ledger


def six_months_after_purchase(evaluator: Evaluator, lapse: str = "same_day") -> datetime:
    bought = datetime.fromisoformat(BOUGHT)
    return inactivity_deadline(bought, 6, evaluator.tz, lapse) + TICK  # type: ignore[arg-type]


def test_by_default_an_adjustment_resets_inactivity_as_the_readme_says(database, coffee):
    evaluator = with_inactivity(coffee)
    bought_then_adjusted(database, evaluator)
    assert jobs.expire_inactive(database, evaluator, six_months_after_purchase(evaluator)) == (
        jobs.Expired()
    )
    assert balance(database, "m1") == 206


def test_an_adjustment_does_not_reset_inactivity_when_only_purchases_and_redemptions_do(
    database, coffee
):
    evaluator = with_inactivity(coffee, reset_by=["purchase", "redemption"])
    bought_then_adjusted(database, evaluator)
    done = jobs.expire_inactive(database, evaluator, six_months_after_purchase(evaluator))
    assert (done.members, done.points) == (1, 206)
    assert balance(database, "m1") == 0
    assert (
        lapse_reason(database, "m1")
        == ["expired: no purchase or redemption for 6 months"] * done.lots
    )
    assert check(database) == []


def test_lapsing_at_the_end_of_the_month_keeps_the_balance_through_that_month(database, coffee):
    evaluator = with_inactivity(coffee, reset_by=["purchase"], lapse="end_of_month")
    bought_then_adjusted(database, evaluator)
    same_day = six_months_after_purchase(evaluator)  # the end of 24 November, local
    assert jobs.expire_inactive(database, evaluator, same_day) == jobs.Expired()
    month_end = six_months_after_purchase(evaluator, "end_of_month")
    assert month_end.astimezone(evaluator.tz).date() == date(2026, 12, 1)
    assert jobs.expire_inactive(database, evaluator, month_end - 2 * TICK) == jobs.Expired()
    assert jobs.expire_inactive(database, evaluator, month_end).members == 1
    assert balance(database, "m1") == 0


def test_a_member_holding_an_exempt_tag_never_lapses(database, coffee):
    evaluator = with_inactivity(
        coffee, reset_by=["purchase"], exempt={"tags": {"card": ["cobrand"]}}
    )
    bought_then_adjusted(database, evaluator, tags={"card": ["debit", "cobrand"]})
    later = datetime(2030, 1, 1, tzinfo=UTC)
    assert jobs.expire_inactive(database, evaluator, later) == jobs.Expired()
    assert balance(database, "m1") == 206


def test_a_member_of_an_exempt_tier_never_lapses_and_others_do(database, coffee):
    evaluator = with_inactivity(coffee, exempt={"tiers": ["standard"]})
    clock = Clock(datetime(2026, 5, 24, 4, tzinfo=UTC))
    ledger = Ledger(database, {SHOP: evaluator}, clock=clock)
    for member in ("m1", "m2"):
        ledger.enrol(SHOP, member, {"joined": "2026-01-05"})
        ledger.commit_sale(SHOP, member, sale(f"t-{member}", BEANS, at=BOUGHT))
    with database.begin() as conn:
        conn.execute(members.update().where(members.c.id == "m2").values(tier="gold"))
    done = jobs.expire_inactive(database, evaluator, datetime(2030, 1, 1, tzinfo=UTC))
    assert done.members == 1
    assert (balance(database, "m1"), balance(database, "m2")) == (196, 0)


@pytest.mark.parametrize("months", [1, 6, 13])
def test_the_end_of_month_cutoff_matches_the_calendar_rule(months, coffee):
    tz = coffee.tz
    for days in range(0, 400, 5):
        as_of = datetime(2027, 1, 1, 3, tzinfo=UTC) + timedelta(days=days, hours=days % 24)
        cutoff = jobs.inactivity_cutoff(as_of, months, tz, "end_of_month")
        assert inactivity_deadline(cutoff - TICK, months, tz, "end_of_month") < as_of
        assert inactivity_deadline(cutoff, months, tz, "end_of_month") >= as_of


def test_the_end_of_month_lapse_day_is_the_last_day_of_the_nth_month():
    assert inactivity_lapse_day(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert inactivity_lapse_day(date(2026, 1, 3), 1, "end_of_month") == date(2026, 2, 28)
    assert inactivity_lapse_day(date(2026, 5, 24), 6, "end_of_month") == date(2026, 11, 30)


def problems(expiry_yaml: str) -> list[str]:
    text = BASE + "earn: {points: 1, per: 1}\n" + expiry_yaml
    return [p.render() for p in validate_document(text.encode(), "p").problems]


def test_an_unknown_activity_is_refused_in_plain_words():
    found = problems("expiry: {inactivity: {months: 6, reset_by: [purchase, login]}}\n")
    assert len(found) == 1 and "login" in found[0] and "reset_by" in found[0]


def test_an_exempt_tier_must_be_a_tier_of_the_programme():
    found = problems("expiry: {inactivity: {months: 6, exempt: {tiers: [diamond]}}}\n")
    assert found == [
        "p:4:51: error: unknown tier 'diamond' [expiry.inactivity.exempt.tiers[0]]\n"
        "    hint: declare tiers.levels first"
    ]
