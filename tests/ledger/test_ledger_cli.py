"""``loyalty ledger …`` through click's CliRunner, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select, update

from engine.ledger.cli import ledger
from engine.ledger.tables import lots, members
from tests.ledger.conftest import BEANS, sale
from tests.ledger.test_jobs import seed_lots

pytestmark = pytest.mark.db  # the commands open (or fail to open) a ledger

COFFEE = "rules/coffee-shop/programme.yaml"
RECOMMENDED = "rules/recommended/programme.yaml"
SHOP = "coffee-shop"


def run(*args):
    return CliRunner().invoke(ledger, [str(a) for a in args])


@pytest.fixture
def url(database_url, database):
    """The database URL, migrated (the ``database`` fixture opens it once)."""
    return database_url


def test_check_passes_on_a_sound_ledger_and_lists_problems_otherwise(url, ledger, database):
    ledger.enrol(SHOP, "m1", {"joined": "2026-01-05"})
    ledger.commit_sale(SHOP, "m1", sale("t1", BEANS))
    result = run("check", "--database", url)
    assert (result.exit_code, result.output) == (0, "the ledger is consistent\n")
    with database.begin() as conn:
        conn.execute(update(members).values(balance=1))
    result = run("check", "--database", url)
    assert result.exit_code == 1
    assert "coffee-shop m1: balance 1 but open lots - debt = 196" in result.stdout
    assert "error: 1 inconsistency" in result.stderr
    assert run("check", "--database", url, "--programme", RECOMMENDED).exit_code == 0
    assert run("check", "--database", url, "--programme", COFFEE).exit_code == 1


def test_expire_lapses_lots_and_reports_the_totals(url, ledger, database):
    ledger.enrol(SHOP, "m1", {"joined": "2026-01-05"})
    ledger.commit_sale(SHOP, "m1", sale("t1", BEANS))
    result = run("expire", "--programme", COFFEE, "--database", url, "--as-of", "2027-12-01")
    assert result.exit_code == 0, result.output
    assert "expired 196 points in 1 lots of 1 members (as of 2027-12-01T00:00:00+08:00)" in (
        result.stdout
    )
    assert run("check", "--database", url).exit_code == 0
    again = run("expire", "--programme", COFFEE, "--database", url, "--as-of", "2027-12-01")
    assert "expired 0 points" in again.stdout


def test_expire_reports_each_member_once_when_their_lots_span_batches(url, database):
    seed_lots(database, SHOP, 10, 3, datetime(2027, 1, 1, tzinfo=UTC))
    result = run(
        "expire", "--programme", COFFEE, "--database", url, "--as-of", "2027-12-01",
        "--batch-size", 7,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "expired 300 points in 30 lots of 10 members" in result.stdout


def test_release_pending_counts(url):
    result = run(
        "release-pending",
        "--programme",
        "rules/calendar-retail/programme.yaml",
        "--database",
        url,
        "--as-of",
        "2027-01-01T00:00:00+08:00",
    )
    assert result.exit_code == 0, result.output
    assert "0 points in 0 lots of 0 members are spendable" in result.stdout


def test_tier_review_prints_the_thresholds_and_the_changes(url, database):
    now = datetime(2026, 12, 31, tzinfo=UTC)
    with database.begin() as conn:
        conn.execute(
            insert(members),
            [
                {
                    "programme": "recommended",
                    "id": f"m{i:02}",
                    "tags": {},
                    "contact": {},
                    "consent": {},
                    "joined": date(2025, 1, 1),
                    "tier": "standard",
                    "qualifying_spend": Decimal(1000 * i),
                    "period_start": date(2026, 1, 1),
                    "balance": 0,
                    "debt": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, 21)
            ],
        )
    result = run(
        "tier-review", "--programme", RECOMMENDED, "--database", url, "--period-end", "2026-12-31"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "tier review of the period ending 2026-12-31",
        "  threshold gold: 17000.00 CNY",
        "  threshold platinum: 20000.00 CNY",
        "  4 members: upgrade, qualifying spend reached the threshold",
    ]


def test_expire_inactive_without_a_rule_says_so(url):
    result = run("expire-inactive", "--programme", COFFEE, "--database", url)
    assert (result.exit_code, result.stdout) == (
        0,
        "the programme has no expiry.inactivity rule: nothing expires\n",
    )


def test_imports_report_rejected_rows_and_exit_1_after_importing_the_good_ones(
    url, database, tmp_path
):
    people = tmp_path / "members.csv"
    people.write_text("id,joined\nm1,2025-01-01\nm2,yesterday\n", encoding="utf-8")
    history = tmp_path / "history.csv"
    history.write_text(
        "id,member_id,at,amount,points\nh1,m1,2026-11-01,50,50\nh2,m2,2026-11-01,5,5\n",
        encoding="utf-8",
    )
    result = run("import-members", people, "--programme", COFFEE, "--database", url)
    assert result.exit_code == 1
    assert "read 2 rows: imported 1, skipped 0 (already in the ledger), rejected 1" in result.stdout
    assert "line 3: joined 'yesterday' is not a date like 2026-03-05" in result.stderr
    result = run("import-transactions", history, "--programme", COFFEE, "--database", url)
    assert result.exit_code == 1
    assert "line 3: no member 'm2'" in result.stderr
    with database.connect() as conn:
        assert conn.execute(select(members.c.balance)).scalar_one() == 50
        assert conn.execute(select(lots.c.points_left)).scalar_one() == 50
    assert run("check", "--database", url).exit_code == 0
    good = tmp_path / "good.csv"
    good.write_text("id,joined\nm3,2025-01-01\n", encoding="utf-8")
    result = run("import-members", good, "--programme", COFFEE, "--database", url)
    assert result.exit_code == 0 and "imported 1" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["tier-review", "--programme", COFFEE],  # no --period-end
        ["expire", "--programme", COFFEE, "--as-of", "soon"],
        ["import-members", "no-such-file.csv", "--programme", COFFEE],
        ["expire", "--programme", "no-such-programme.yaml"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(args, url):
    result = run(*args, "--database", url)
    assert result.exit_code == 2, result.output


def test_a_naive_time_is_a_usage_error(url):
    result = run(
        "expire",
        "--programme",
        COFFEE,
        "--database",
        url,
        "--as-of",
        "2027-01-01T00:00:00",
    )
    assert result.exit_code == 2 and "offset" in result.stderr


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ("postgresql://postgres@127.0.0.1:1/none", "error: the database failed"),
        ("no-such-scheme://x", "error: the database URL is invalid"),
    ],
)
def test_a_database_that_cannot_be_opened_is_one_clear_error(database, message):
    result = run("check", "--database", database)
    assert result.exit_code == 1
    assert result.stderr.startswith(message) and "Traceback" not in result.output


def test_an_invalid_programme_is_reported_with_its_problems(tmp_path, url):
    bad = tmp_path / "programme.yaml"
    bad.write_text("programme:\n  id: x\n", encoding="utf-8")
    result = run("expire", "--programme", bad, "--database", url)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output


def test_the_group_plugs_into_the_main_command(tmp_path):
    @click.group()
    def main():
        pass

    main.add_command(ledger)
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    assert CliRunner().invoke(main, ["ledger", "init", "--database", url]).exit_code == 0
    result = CliRunner().invoke(main, ["ledger", "check", "--database", url])
    assert result.exit_code == 0 and "consistent" in result.output


def test_the_database_defaults_to_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LOYALTY_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    assert run("init").exit_code == 0
    assert (tmp_path / "env.sqlite").exists()
    assert run("check").exit_code == 0
