"""The critical point analysis finds the balance planted in a generated history."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from engine.calendar import start_of_day
from engine.campaigns.analysis import Bucket, Options, analyse, chart, find_critical_point, table
from engine.errors import InputError
from tests.campaigns.conftest import populate


def test_the_planted_critical_point_is_found(database, recommended):
    plan = populate(database, recommended, 4000)
    with database.connect() as conn:
        result = analyse(conn, recommended)  # default options: snapshots not aligned to rounds
    assert result.critical is not None and result.critical.balance == 1500
    assert result.critical.rate_below < 0.2 < 0.5 < result.critical.rate_above
    assert result.critical.rise_low > 0.3
    assert len(result.snapshots) == 6 and "1,500 points" in table(result)
    aligned = Options(snapshots=plan.rounds, every_days=30, horizon_days=30)
    end = start_of_day(plan.until, recommended.tz)
    with database.connect() as conn:
        exact = analyse(conn, recommended, Options(**{**aligned.__dict__, "until": end}))
    # snapshots at each round's start: the observed rates are the planted 15% and 60%
    assert exact.critical is not None and exact.critical.balance == 1500
    assert exact.critical.rate_below == pytest.approx(0.15, abs=0.03)
    assert exact.critical.rate_above == pytest.approx(0.60, abs=0.03)


def test_another_planted_point_and_width(database, recommended):
    populate(database, recommended, 3000, critical_point=800, seed=7)
    with database.connect() as conn:
        result = analyse(conn, recommended, Options(width=50))
    assert result.critical is not None and result.critical.balance == 800


def _buckets(rates: list[tuple[int, int]]) -> list[Bucket]:
    return [Bucket(i * 100, n, a) for i, (n, a) in enumerate(rates)]


def test_a_sparse_bucket_cannot_win():
    steady = [(400, 60)] * 10 + [(5, 5)] + [(400, 60)] * 4 + [(400, 240)] * 10
    found = find_critical_point(_buckets(steady), window=3, min_count=30)
    assert found is not None and found.balance == 1500  # not 1000, where 5 of 5 were active


def test_no_rise_means_no_critical_point():
    flat = [(300, 45)] * 20
    assert find_critical_point(_buckets(flat), window=3, min_count=30) is None
    too_few = [(3, 0)] * 10 + [(3, 3)] * 10
    assert find_critical_point(_buckets(too_few), window=3, min_count=30) is None


def test_the_chart_is_svg_with_the_point_marked(database, recommended):
    populate(database, recommended, 1000)
    with database.connect() as conn:
        result = analyse(conn, recommended)
    svg = chart(result)
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "critical point 1,500" in svg
    assert result.as_dict()["critical_point"]["balance"] == 1500


def test_an_empty_ledger_is_refused(database, recommended):
    with database.connect() as conn, pytest.raises(InputError, match="no history"):
        analyse(conn, recommended)


def test_a_horizon_longer_than_the_history_is_refused(database, recommended):
    plan = populate(database, recommended, 50, rounds=1)
    options = Options(horizon_days=400, until=start_of_day(plan.until, recommended.tz))
    with database.connect() as conn, pytest.raises(InputError, match="shorter than"):
        analyse(conn, recommended, options)
