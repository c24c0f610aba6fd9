"""A declared status convention that cannot apply is pointed out (a warning, not an error)."""

from __future__ import annotations

import json

import pytest

from engine.policy.loader import validate_document

PROGRAMME = {
    "programme": {
        "id": "p",
        "name": "P",
        "currency": "CNY",
        "timezone": "Asia/Shanghai",
        "pitch": "A test.",
    },
    "earn": {"points": 1, "per": 1},
}


def problems(status_lasts: str, period: str) -> list[tuple[str, str]]:
    tiers = {
        "qualifying": {"metric": "spend", "period": period},
        "status_lasts": status_lasts,
        "status_through": "anniversary",
        "downgrade": "never",
        "levels": [{"id": "standard", "name": "Standard"}],
    }
    report = validate_document(json.dumps({**PROGRAMME, "tiers": tiers}).encode())
    return [(p.severity, p.message) for p in report.problems]


@pytest.mark.parametrize(
    ("status_lasts", "period"),
    [("rolling_12_months", "calendar_year"), ("end_of_period", "rolling_12_months")],
)
def test_status_through_is_accepted_where_status_lasts_twelve_months(status_lasts, period):
    assert problems(status_lasts, period) == []


def test_status_through_on_a_calendar_year_status_is_a_warning():
    (found,) = problems("end_of_next_period", "calendar_year")
    assert found[0] == "warning" and found[1].startswith("status_through changes nothing here")
