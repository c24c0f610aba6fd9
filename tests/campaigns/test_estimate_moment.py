"""``campaign estimate`` on history that stopped a while ago: without a date it estimates as
of the last purchase (and says so), and the sunshine twin never claims "1.00x" for nobody."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from engine.campaigns.budget import estimate
from engine.campaigns.cli import campaign, demo
from engine.ledger.db import open_database
from tests.campaigns.conftest import CAMPAIGN, HISTORY_ENDS, LAUNCH_AT, RECOMMENDED, populate

pytestmark = pytest.mark.db  # the CLI runs on a ledger file


def test_without_a_date_stale_history_is_estimated_as_of_its_last_purchase(database, recommended):
    populate(database, recommended, 600)
    with database.connect() as conn:
        result = estimate(conn, recommended, CAMPAIGN, None)
    assert result.sunshine.buyers > 0
    assert result.sunshine.multiplier is not None and result.sunshine.multiplier > 1
    (note,) = [n for n in result.notes if "no date given" in n]
    assert f"as of the last purchase in the ledger, {HISTORY_ENDS:%Y-%m}-" in note


def test_a_sunshine_with_no_buyers_is_no_comparison_not_1x(database, recommended):
    populate(database, recommended, 300)
    later = LAUNCH_AT + timedelta(days=400)  # nobody bought in the window before this date
    with database.connect() as conn:
        result = estimate(conn, recommended, CAMPAIGN, later)
    assert result.sunshine.buyers == 0
    assert result.sunshine.multiplier is None
    assert "1.00x" not in result.sunshine.headline
    assert "no comparison" in result.sunshine.headline
    assert result.as_dict()["sunshine"]["multiplier"] is None


def test_the_estimate_command_without_at_prints_buyers_from_the_history(tmp_path):
    runner = CliRunner()
    env = {"LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}"}
    open_database(env["LOYALTY_DATABASE_URL"]).dispose()
    made = runner.invoke(demo, ["generate", "--members", "800", "--until", "2026-04-12"], env=env)
    assert made.exit_code == 0, made.output
    shown = runner.invoke(campaign, ["estimate", RECOMMENDED, CAMPAIGN], env=env)
    assert shown.exit_code == 0, shown.output
    assert " 0 expected buyers" not in shown.stdout and "1.00x" not in shown.stdout
    assert "x points for everyone" in shown.stdout
    assert "note: no date given" in shown.stdout
