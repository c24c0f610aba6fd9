"""The commands end to end on a SQLite ledger: generate, analyse, preview, estimate, launch,
simulate, report, export."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from engine.campaigns.cli import analyze, campaign, demo
from engine.ledger.db import open_database
from tests.campaigns.conftest import CAMPAIGN, RECOMMENDED

pytestmark = pytest.mark.db  # the commands run on a ledger


def test_the_whole_campaign_from_the_command_line(tmp_path):
    runner = CliRunner()
    env = {"LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}"}

    def run(group, *args: str) -> str:
        result = runner.invoke(group, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    open_database(env["LOYALTY_DATABASE_URL"]).dispose()  # loyalty ledger init
    run(demo, "generate", "--members", "3000", "--until", "2026-04-12")
    found = json.loads(
        run(
            analyze,
            "critical-point",
            RECOMMENDED,
            "--format",
            "json",
            "--chart",
            str(tmp_path / "cp.svg"),
        )
    )
    assert found["critical_point"]["balance"] == 1500
    assert (tmp_path / "cp.svg").read_text().startswith("<svg")
    shown = run(campaign, "preview", RECOMMENDED, CAMPAIGN, "--at", "2026-04-12T20:00:00+0800")
    assert "holdout" in shown and "sample of a" in shown
    assert "x points for everyone" in run(
        campaign, "estimate", RECOMMENDED, CAMPAIGN, "--at", "2026-04-12"
    )
    frozen = json.loads(
        run(campaign, "launch", RECOMMENDED, CAMPAIGN, "--at", "2026-04-12", "--format", "json")
    )
    assert frozen["created"] and frozen["groups"]["holdout"] > 0
    refused = runner.invoke(
        campaign, ["launch", RECOMMENDED, CAMPAIGN, "--at", "2026-04-20"], env=env
    )
    assert refused.exit_code == 1 and "frozen one stands" in refused.stderr
    run(
        demo,
        "respond",
        RECOMMENDED,
        CAMPAIGN,
        "--rate",
        "a=0.5",
        "--rate",
        "b=0.5",
        "--rate",
        "holdout=0.1",
    )
    measured = run(
        campaign,
        "report",
        RECOMMENDED,
        CAMPAIGN,
        "--at",
        "2026-05-01",
        "--chart",
        str(tmp_path / "r.svg"),
    )
    assert "lift" in measured and (tmp_path / "r.svg").exists()
    exported = run(
        campaign,
        "export",
        RECOMMENDED,
        CAMPAIGN,
        "--out",
        str(tmp_path / "out"),
        "--channel",
        "sms",
    )
    assert f"{CAMPAIGN}-a.csv" in exported


def test_an_unknown_campaign_exits_1(tmp_path):
    env = {"LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}"}
    open_database(env["LOYALTY_DATABASE_URL"]).dispose()
    result = CliRunner().invoke(campaign, ["preview", RECOMMENDED, "nope"], env=env)
    assert result.exit_code == 1 and "no campaign 'nope'" in result.stderr
