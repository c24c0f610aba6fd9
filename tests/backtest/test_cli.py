"""``loyalty backtest`` and ``loyalty ledger liability`` from the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.cli import main
from engine.ledger.db import open_database
from engine.ledger.service import Ledger
from engine.ledger.tables import members
from tests.backtest.conftest import COFFEE, COFFEE_EVALUATOR, SHOP, Clock, make_history

pytestmark = pytest.mark.db  # a history made in a real ledger (tests/backtest/conftest.py)


@pytest.fixture(scope="module")
def ledger_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'ledger.sqlite'}"
    engine = open_database(url)
    clock = Clock()
    make_history(Ledger(engine, {SHOP: COFFEE_EVALUATOR}, clock=clock), clock, days=14)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def proposal(tmp_path_factory) -> str:
    text = Path(COFFEE).read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("half") / "half-beans.yaml"
    path.write_text(text.replace("      points: 2\n", "      points: 1\n", 1), encoding="utf-8")
    return str(path)


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def base(url: str, *more: str) -> list[str]:
    return [
        "backtest",
        "--programme",
        COFFEE,
        "--database",
        url,
        "--from",
        "2026-04-01",
        "--to",
        "2026-05-01",
        *more,
    ]


def test_the_table_shows_each_version_and_who_loses_under_the_proposal(
    ledger_url, proposal, tmp_path
):
    report, folder = tmp_path / "report.html", tmp_path / "charts"
    result = run(
        *base(ledger_url, "--proposal", proposal, "--html", str(report), "--charts", str(folder))
    )
    assert result.exit_code == 0, result.output
    assert "live" in result.output and "half-beans" in result.output
    assert "points issued" in result.output and "members worse off" in result.output
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and page.count("<svg") == 3
    assert sorted(p.name for p in folder.iterdir()) == ["cost.svg", "points.svg", "tiers.svg"]


def test_json_gives_figures_per_version_and_the_devaluation_report(ledger_url, proposal):
    result = run(*base(ledger_url, "--proposal", proposal, "--format", "json"))
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    live, half = found["versions"]
    assert half["points"]["issued"] < live["points"]["issued"] and half["amount"] == live["amount"]
    devaluation = found["comparisons"][0]["devaluation"]
    assert devaluation["no_member_worse_off"] is False and devaluation["members_worse_off"] > 0


def test_csv_lists_each_changed_member_with_the_impact(ledger_url, proposal):
    result = run(*base(ledger_url, "--proposal", proposal, "--format", "csv"))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and all(row["proposal"] == "half-beans" for row in rows)
    assert all(row["impact"].startswith("-") for row in rows)


def test_a_period_that_ends_before_it_starts_is_refused_in_plain_words(ledger_url):
    result = CliRunner().invoke(
        main,
        [
            "backtest",
            "--programme",
            COFFEE,
            "--database",
            ledger_url,
            "--from",
            "2026-05-01",
            "--to",
            "2026-04-01",
        ],
    )
    assert result.exit_code == 1
    assert "the period must end after it starts" in result.output


def test_the_liability_now_equals_the_sum_of_the_balances(ledger_url):
    result = run(
        "ledger", "liability", "--programme", COFFEE, "--database", ledger_url, "--format", "json"
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    engine = open_database(ledger_url, migrate=False)
    with engine.connect() as conn:
        balances = conn.execute(select(func.sum(members.c.balance))).scalar_one()
    engine.dispose()
    assert found["points"]["outstanding"] == balances > 0
    assert (
        sum(b["points"] for b in found["by_expiry"])
        == found["points"]["spendable"] + found["points"]["pending"]
    )
    table = run(
        "ledger",
        "liability",
        "--programme",
        COFFEE,
        "--database",
        ledger_url,
        "--as-of",
        "2026-04-01",
    )
    assert table.exit_code == 0 and "by expiry month" in table.output


def test_a_liability_date_that_is_not_a_date_is_a_usage_error(ledger_url):
    result = CliRunner().invoke(
        main,
        ["ledger", "liability", "--programme", COFFEE, "--database", ledger_url, "--as-of", "soon"],
    )
    assert result.exit_code == 2 and "'soon' is not a date" in result.output
