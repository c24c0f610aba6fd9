"""Bad member and transaction input: one structured error listing every problem by path."""

from __future__ import annotations

import pytest

from engine.errors import InputError
from engine.money import currency
from engine.policy.problems import render_path
from engine.pricing.model import parse_member, parse_transaction
from tests.engine.conftest import line, sale

CNY = currency("CNY")


def problems(parse, data) -> dict[str, str]:
    with pytest.raises(InputError) as error:
        parse(data, CNY)
    return {render_path(p.path): p.message for p in error.value.problems}


def test_every_missing_field_is_reported_not_just_the_first():
    with pytest.raises(InputError) as error:
        parse_transaction({}, CNY)
    messages = sorted(p.message for p in error.value.problems)
    assert messages == [
        "missing required field 'at'",
        "missing required field 'id'",
        "missing required field 'lines'",
    ]


def test_a_negative_quantity_is_refused_with_its_path():
    bad = sale(line("a", "x", "10.00", quantity=-2))
    assert problems(parse_transaction, bad) == {
        "lines[0].quantity": "must be at least 1, got the number -2"
    }


def test_a_time_without_offset_is_refused():
    bad = sale(line("a", "x", "10.00"), at="2026-11-24T10:00:00")
    assert problems(parse_transaction, bad) == {
        "at": "'2026-11-24T10:00:00' is not valid: use an ISO 8601 date and time WITH offset, e.g. 2026-11-24T10:00:00+08:00"
    }


def test_text_where_a_number_belongs_is_refused():
    bad = sale(line("a", "x", "ten yuan"), redeem_points="300")
    assert problems(parse_transaction, bad) == {
        "lines[0].unit_price": "'ten yuan' is not valid: use an amount such as \"12.50\" (send text to keep it exact)",
        "redeem_points": "expected a whole number, got '300'",
    }


def test_money_more_precise_than_the_currency_is_refused():
    bad = sale(line("a", "x", "10.005"))
    [(path, message)] = problems(parse_transaction, bad).items()
    assert path == "lines[0].unit_price"
    assert "10.005" in message


def test_a_line_discount_larger_than_the_line_is_refused():
    bad = sale(line("a", "x", "10.00", discount="12.00"))
    assert problems(parse_transaction, bad) == {
        "lines[0].discount": "the line discount must be between 0 and 10.00"
    }


def test_duplicate_line_ids_are_refused():
    bad = sale(line("a", "x", "1.00"), line("a", "y", "2.00"))
    assert problems(parse_transaction, bad) == {"lines[1].id": "line id 'a' is used twice"}


def test_member_problems_are_reported_by_path():
    bad = {
        "id": "m1",
        "lots": [{"id": "l", "points": -5, "earned_at": "2026-01-01"}],
        "birthday": "1990-02-30",
    }
    found = problems(parse_member, bad)
    assert found["lots[0].points"] == "must be at least 0, got the number -5"
    assert found["birthday"] == "'1990-02-30' is not a real date"


def test_a_member_lot_time_without_offset_is_refused():
    bad = {"id": "m1", "lots": [{"id": "l", "points": 5, "earned_at": "2026-01-01T10:00:00"}]}
    assert problems(parse_member, bad) == {
        "lots[0].earned_at": "'2026-01-01T10:00:00' is not valid: use an ISO 8601 date and time WITH offset, e.g. 2026-11-24T10:00:00+08:00"
    }


def test_an_unknown_member_tier_is_an_input_error(quote):
    with pytest.raises(InputError) as error:
        quote(
            "earn: {points: 1, per: 1}\n", {"id": "m1", "tier": "vip"}, sale(line("a", "x", "1.00"))
        )
    [problem] = error.value.problems
    assert (render_path(problem.path), problem.message) == ("tier", "'vip' is not a tier of shop")


def test_a_non_object_is_refused():
    assert problems(parse_member, ["m1"]) == {"": "the member must be a JSON object"}
