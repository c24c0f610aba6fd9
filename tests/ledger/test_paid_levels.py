"""The paid tier at run time: a member buys, renews, holds and loses a bought level, which
prices their sales while it holds; the fee shows in the revenue figures."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.errors import ConflictError, InputError
from engine.ledger import paid
from engine.ledger.check import check
from engine.ledger.service import Ledger
from engine.ledger.state import load_member, member_row
from engine.policy.loader import load_programme
from engine.pricing import Evaluator
from tests.ledger.conftest import sale

RETAIL = "calendar-retail"
SHIRT = ("SHIRT", "apparel", "100.00", 1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 12:00 in Hong Kong

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def retail() -> Evaluator:
    return Evaluator(load_programme("rules/calendar-retail/programme.yaml"), matcher="python")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shop(database, retail, clock) -> Ledger:
    ledger = Ledger(database, {RETAIL: retail}, clock=clock)
    ledger.enrol(RETAIL, "m1", {"joined": "2026-01-05"})
    return ledger


def tier_now(database, retail, clock) -> str:
    with database.connect() as conn:
        row = member_row(conn, RETAIL, "m1")
        return load_member(conn, retail.model, row, clock.now).tier


def test_a_bought_level_holds_for_its_term_and_prices_sales(shop, database, retail, clock):
    before = shop.quote(RETAIL, "m1", sale("q1", SHIRT, at="2026-03-10T12:00:00+08:00"))
    bought = shop.buy_level(RETAIL, "m1", {"level": "platinum", "fee": "1880.00"}, key="p1")
    assert bought.response == {
        "status": "bought", "member_id": "m1", "level": "platinum", "fee": "1880.00",
        "starts_on": "2026-03-10", "ends_on": "2027-03-09",
    }  # fmt: skip
    assert tier_now(database, retail, clock) == "platinum"
    after = shop.quote(RETAIL, "m1", sale("q2", SHIRT, at="2026-03-10T12:00:00+08:00"))
    assert after.earned.tier_bonus > before.earned.tier_bonus  # platinum's 2x, not classic's 1x
    clock.now = datetime(2027, 3, 9, 15, 59, tzinfo=UTC)  # 23:59 on the last day
    assert tier_now(database, retail, clock) == "platinum"
    clock.now = datetime(2027, 3, 9, 16, 0, tzinfo=UTC)  # the next local day: it lapsed
    assert tier_now(database, retail, clock) == "classic"
    assert check(database) == []


def test_a_renewal_starts_when_the_current_term_ends(shop, database, retail, clock):
    shop.buy_level(RETAIL, "m1", {"level": "platinum"}, key="p1")
    clock.now = datetime(2027, 2, 1, 4, 0, tzinfo=UTC)
    renewed = shop.buy_level(RETAIL, "m1", {"level": "platinum"}, key="p2")
    assert (renewed.response["status"], renewed.response["starts_on"]) == ("renewed", "2027-03-10")
    assert renewed.response["ends_on"] == "2028-03-09"
    clock.now = datetime(2028, 1, 1, 4, 0, tzinfo=UTC)
    assert tier_now(database, retail, clock) == "platinum"


def test_a_cancelled_level_stops_holding_and_its_refund_counts_against_revenue(
    shop, database, retail, clock
):
    shop.buy_level(RETAIL, "m1", {"level": "platinum"}, key="p1")
    clock.now = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
    with pytest.raises(InputError) as refused:
        shop.cancel_level(RETAIL, "m1", {"purchase": "p1", "refund": "2000.00"}, key="c0")
    assert "more than the fee 1880" in refused.value.problems[0].message
    cancelled = shop.cancel_level(RETAIL, "m1", {"purchase": "p1", "refund": "940.00"}, key="c1")
    assert (cancelled.response["ends_on"], cancelled.response["refunded"]) == (
        "2026-05-31",
        "940.00",
    )
    assert tier_now(database, retail, clock) == "classic"
    with database.connect() as conn:
        figures = paid.revenue(
            conn, RETAIL, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
        )
    assert figures["platinum"] == {
        "purchases": 1, "fees": Decimal("1880.00"), "cancellations": 1,
        "refunds": Decimal("940.00"), "net": Decimal("940.00"),
    }  # fmt: skip
    with pytest.raises(InputError) as twice:
        shop.cancel_level(RETAIL, "m1", {"purchase": "p1"}, key="c2")
    assert "already cancelled" in twice.value.problems[0].message


def test_the_body_id_is_the_identity_of_a_purchase(shop):
    first = shop.buy_level(RETAIL, "m1", {"level": "platinum"}, key="p1")
    again = shop.buy_level(RETAIL, "m1", {"level": "platinum"}, key="p1")
    assert again.response == first.response
    with pytest.raises(ConflictError):
        shop.buy_level(RETAIL, "m1", {"level": "platinum", "fee": "1880.00"}, key="p1")


@pytest.mark.parametrize(
    ("body", "says", "field"),
    [
        ({"level": "gold"}, "level 'gold' cannot be bought", "level"),
        ({"level": "diamond"}, "no level 'diamond' (levels that can be bought: platinum)", "level"),
        ({"level": "platinum", "fee": "1.00"}, "the fee of level 'platinum' is 1880.00", "fee"),
        ({"level": "platinum", "fee": 18.801}, "fee must be an amount", "fee"),
    ],
)
def test_a_purchase_that_cannot_be_made_is_refused_naming_the_field(shop, body, says, field):
    with pytest.raises(InputError) as refused:
        shop.buy_level(RETAIL, "m1", body, key="p1")
    problem = refused.value.problems[0]
    assert says in problem.message and problem.path == (field,)


def test_the_level_for_pricing_is_the_higher_of_earned_and_bought():
    assert paid.effective_tier(["classic", "gold", "platinum"], "platinum", "gold") == "platinum"
    assert paid.effective_tier(["classic", "gold", "platinum"], "classic", None) == "classic"


def test_paid_levels_bought_in_the_old_system_import_with_their_term_and_price(
    shop, database, retail, clock, tmp_path
):
    from engine.ledger.importer import import_transactions

    path = tmp_path / "paid.csv"
    path.write_text(
        "id,member_id,at,amount,points,kind,level\n"
        "old-1,m1,2025-06-01T10:00:00+08:00,1680.00,0,paid_level,platinum\n"
        "old-2,m1,2025-06-02T10:00:00+08:00,10.00,0,paid_level,gold\n"
        "old-3,m1,2025-06-02T10:00:00+08:00,10.00,0,paid_level,\n",
        encoding="utf-8",
    )
    report = import_transactions(database, retail, path, now=clock.now)
    assert report.imported == 1
    reasons = {r.line: r.reason for r in report.rejected}
    assert "cannot be bought" in reasons[3] and "names its level" in reasons[4]
    clock.now = datetime(2026, 5, 31, 4, 0, tzinfo=UTC)
    assert tier_now(database, retail, clock) == "platinum"  # 2025-06-01 .. 2026-05-31
    clock.now = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
    assert tier_now(database, retail, clock) == "classic"
    with database.connect() as conn:
        figures = paid.revenue(
            conn, RETAIL, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
        )
    assert figures["platinum"]["fees"] == Decimal("1680.00")  # the price it was sold at
    assert check(database) == []


def test_the_ledger_command_reports_the_fee_revenue(shop, database, database_url, clock):
    from click.testing import CliRunner

    from engine.ledger.cli import ledger

    shop.buy_level(RETAIL, "m1", {"level": "platinum"}, key="p1")
    clock.now = datetime(2026, 4, 1, 4, 0, tzinfo=UTC)
    shop.cancel_level(RETAIL, "m1", {"purchase": "p1", "refund": "380.00"}, key="c1")
    args = ["paid-revenue", "--programme", "rules/calendar-retail/programme.yaml",
            "--database", database_url, "--since", "2026-01-01", "--until", "2027-01-01"]  # fmt: skip
    result = CliRunner().invoke(ledger, args)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "platinum: 1 bought, fees 1880.00 HKD; 1 cancelled, refunds 380.00 HKD; net 1500.00 HKD\n"
    )


def test_the_member_view_shows_the_bought_level_and_the_level_priced_at(
    shop, database, retail, clock
):
    from engine.ledger.views import member_view

    with database.connect() as conn:
        assert member_view(conn, retail, "m1", clock.now)["tier"]["paid"] is None
    shop.buy_level(RETAIL, "m1", {"level": "platinum"}, key="p1")
    with database.connect() as conn:
        tier = member_view(conn, retail, "m1", clock.now)["tier"]
    assert tier["id"] == "classic"  # the earned level is unchanged
    assert tier["paid"] == {"level": "platinum", "purchase": "p1", "starts_on": "2026-03-10",
                            "ends_on": "2027-03-09", "priced_as": "platinum"}  # fmt: skip
