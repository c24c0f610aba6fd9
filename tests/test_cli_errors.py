"""Every ``loyalty`` command ends a domain error the same way: its message, its problems, exit 1."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from engine.campaigns.cli import campaign
from engine.cli_errors import domain_errors
from engine.errors import LoyaltyError, PolicyError, RedemptionError, UnknownMember
from engine.ledger.db import open_database
from engine.policy.problems import Problem

ROOT = Path(__file__).resolve().parent.parent
CLI_MODULES = [
    "engine/cli.py",
    "engine/ledger/cli.py",
    "engine/campaigns/cli.py",
    "engine/outreach/cli.py",
    "engine/review/cli.py",
]


def _command(error: LoyaltyError) -> click.Command:
    @click.command()
    @domain_errors
    def failing() -> None:
        raise error

    return failing


def test_a_domain_error_is_its_message_on_stderr_and_exit_1() -> None:
    result = CliRunner().invoke(_command(UnknownMember("no member 'm9' in coffee-shop")))
    assert result.exit_code == 1
    assert result.stderr == "error: no member 'm9' in coffee-shop\n"


def test_a_refused_redemption_names_its_stable_code() -> None:
    refusal = RedemptionError("redemption.exceeds_balance", "the balance is 0")
    result = CliRunner().invoke(_command(refusal))
    assert result.stderr == "error: the balance is 0 [redemption.exceeds_balance]\n"


def test_each_problem_is_listed_with_its_place_and_dotted_path() -> None:
    problem = Problem("expected an amount", ("rules", 0, "when", "transaction", "amount"))
    error = PolicyError("p.yaml is invalid", [problem.at("p.yaml", 20, 16)])
    result = CliRunner().invoke(_command(error))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: p.yaml is invalid",
        "  p.yaml:20:16: error: expected an amount [rules[0].when.transaction.amount]",
    ]


@pytest.mark.db  # the commands open a ledger
def test_the_campaign_commands_list_problems_readably_not_as_records(tmp_path: Path) -> None:
    broken = tmp_path / "programme.yaml"
    broken.write_text("programme: {id: shop}\n", encoding="utf-8")
    env = {"LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}"}
    open_database(env["LOYALTY_DATABASE_URL"]).dispose()
    result = CliRunner().invoke(campaign, ["preview", str(broken), "any"], env=env)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Problem(" not in result.stderr
    assert re.search(r"programme\.yaml:1:\d+: error: missing required field", result.stderr)


@pytest.mark.parametrize("module", CLI_MODULES)
def test_no_command_module_catches_domain_errors_itself(module: str) -> None:
    source = (ROOT / module).read_text(encoding="utf-8")
    assert not re.search(r"except \(?[\w, ]*(LoyaltyError|ProblemsError)", source)
