"""The review checks that a paid level's fee targets the top 5-10% of spenders: stated from
the programme alone, measured on a ledger's members when one is given."""

from __future__ import annotations

import copy
from decimal import Decimal

from click.testing import CliRunner

from engine.ledger.db import open_database
from engine.policy.loader import load_programme
from engine.review.cli import review
from engine.review.paid import paid_fee_findings
from tests.ledger.conftest import database_url, postgres_schema, postgres_url  # noqa: F401
from tests.outreach.helpers import member, programme

RETAIL = load_programme("rules/calendar-retail/programme.yaml")


def findings(spends=None, doc=None):
    return list(paid_fee_findings(doc or RETAIL.document, spends))


def members_spending(top: int, at: str, rest: int = 100) -> list[Decimal]:
    return [Decimal(at)] * top + [Decimal("1000")] * (rest - top)


def test_without_ledger_data_the_break_even_spend_is_stated_and_the_share_not_measured():
    [finding] = findings()
    assert finding.severity == "info" and finding.path == ("tiers", "levels", 2, "paid", "fee")
    assert "platinum pays for itself from" in finding.message
    assert "not measured" in finding.message


def test_a_fee_that_seven_percent_of_members_earn_back_is_on_target():
    [finding] = findings(members_spending(7, "50000"))
    assert finding.severity == "ok" and "7% of members" in finding.message


def test_a_fee_most_members_earn_back_gives_the_level_away():
    [finding] = findings(members_spending(30, "50000"))
    assert finding.severity == "warning" and "too low" in finding.message
    assert "targets the top 5-10%" in finding.hint


def test_a_fee_almost_nobody_earns_back_is_too_high():
    [finding] = findings(members_spending(1, "50000"))
    assert finding.severity == "warning" and "too high" in finding.message


def test_a_paid_level_with_nothing_extra_never_pays_for_itself():
    doc = copy.deepcopy(dict(RETAIL.document))
    platinum = doc["tiers"]["levels"][2]
    platinum["benefits"] = [b for b in platinum["benefits"] if b["kind"] != "discount"]
    doc["earn"]["multipliers"] = {"classic": 1, "gold": 1, "platinum": 1}
    [finding] = findings(doc=doc)
    assert finding.severity == "warning" and "never pays for itself" in finding.message


def test_the_review_command_measures_the_fee_on_a_ledger(database_url):  # noqa: F811
    engine = open_database(database_url)
    evaluator = programme([])
    for i in range(20):
        spend = Decimal("60000") if i < 1 else Decimal("500")
        member(engine, evaluator, f"m{i}", qualifying_spend=spend)
    engine.dispose()
    args = ["rules/calendar-retail/programme.yaml", "--database", database_url, "--format", "json"]
    result = CliRunner().invoke(review, args)
    assert "5% of members spend that much, within the top 5-10%" in result.output
