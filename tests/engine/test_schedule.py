"""Earn rates that change on a date (``earn.schedule``): a sale earns at the rate in force on
its local day, the trace says which, and the file is checked in plain words."""

from __future__ import annotations

import pytest

from engine.policy.loader import validate_document
from tests.engine.conftest import BASE, line, sale

DATED = """
earn:
  points: 1
  per: 1
  schedule:
    - {effective_until: "2026-06-30", multiplier: 2}
    - {effective_from: "2026-07-01", multiplier: 1.5}
"""
MEMBER = {"id": "m1"}


@pytest.mark.parametrize(
    ("at", "points"),
    [
        ("2026-06-30T23:59:00+08:00", 200),
        ("2026-06-30T16:30:00+00:00", 150),  # 1 July, 00:30 in Shanghai: the new rate
        ("2026-07-01T09:00:00+08:00", 150),
    ],
)
def test_a_sale_earns_at_the_rate_in_force_on_its_local_day(quote, at: str, points: int):
    q = quote(DATED, MEMBER, sale(line("a", "x", "100.00"), at=at))
    assert q.earned.base == points


def test_the_trace_names_the_rate_in_force_and_its_dates(quote):
    q = quote(DATED, MEMBER, sale(line("a", "x", "100.00"), at="2026-07-02T10:00:00+08:00"))
    assert q.as_dict()["trace"][0] == {
        "source": "earn.schedule",
        "effect": "earn_rate",
        "detail": "base points x1.5",
        "reason": "the rate in force on 2026-07-02 (from 2026-07-01 to further notice)",
    }


def test_outside_every_dated_rate_the_base_rate_holds(quote):
    yaml_text = """
earn:
  points: 1
  per: 1
  schedule: [{effective_from: "2026-12-01", effective_until: "2026-12-31", multiplier: 3}]
"""
    q = quote(yaml_text, MEMBER, sale(line("a", "x", "100.00"), at="2026-11-30T10:00:00+08:00"))
    assert q.earned.base == 100
    assert q.as_dict()["trace"] == []


def test_a_dated_rate_combines_with_tenders(quote):
    yaml_text = DATED + "  tenders: {rates: {stored_value: 2}}\n"
    tenders = [{"method": "stored_value", "amount": "50.00"}, {"method": "card", "amount": "50.00"}]
    q = quote(
        yaml_text,
        MEMBER,
        sale(line("a", "x", "100.00"), at="2026-07-02T10:00:00+08:00", tenders=tenders),
    )
    assert q.earned.base == 225  # 100 x 1.5 x (50 x 2 + 50) / 100


def problems(schedule: str) -> list[str]:
    text = BASE + f"earn: {{points: 1, per: 1, schedule: {schedule}}}\n"
    return [p.render() for p in validate_document(text.encode(), "p").problems]


def test_a_rate_that_ends_before_it_starts_is_refused():
    found = problems(
        '[{effective_from: "2026-07-01", effective_until: "2026-06-30", multiplier: 2}]'
    )
    assert len(found) == 1
    assert "this rate ends on 2026-06-30, before it starts on 2026-07-01" in found[0]


def test_a_dated_rate_needs_a_date():
    found = problems("[{multiplier: 2}]")
    assert len(found) == 1 and "schedule[0]" in found[0]
