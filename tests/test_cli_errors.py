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


def test_a_huge_line_amount_is_refused_at_the_cli_edge_naming_its_field(tmp_path: Path) -> None:
    from engine.cli import main

    member, sale = tmp_path / "member.json", tmp_path / "sale.json"
    member.write_text('{"id": "m1"}')
    line = '{"id": "1", "sku": "X", "quantity": 100000, "unit_price": "99999999999999999999"}'
    sale.write_text(f'{{"id": "t1", "at": "2026-12-18T12:00:00+08:00", "lines": [{line}]}}')
    programme = str(ROOT / "rules" / "coffee-shop" / "programme.yaml")
    args = ["quote", programme, "--member", str(member), "--transaction", str(sale)]
    result = CliRunner().invoke(main, [*args, "--matcher", "python"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: the transaction is invalid",
        "  error: quantity times unit_price comes to 9,999,999,999,999,999,999,900,000; a sale "
        "may come to at most 10,000,000,000,000.00 CNY [lines[0].unit_price]",
    ]


def test_a_basket_over_the_limit_line_by_line_is_refused_on_its_lines(tmp_path: Path) -> None:
    from engine.money import currency
    from engine.pricing.model import parse_transaction

    line = {"sku": "X", "quantity": 100000, "unit_price": "60000000"}
    lines = [{**line, "id": str(i)} for i in range(2)]
    with pytest.raises(LoyaltyError) as refused:
        parse_transaction(
            {"id": "t", "at": "2026-12-18T12:00:00+08:00", "lines": lines}, currency("CNY")
        )
    (problem,) = refused.value.problems  # type: ignore[attr-defined]
    assert problem.path == ("lines",)
    assert problem.message == (
        "the lines come to 12,000,000,000,000; at most 10,000,000,000,000.00 CNY per sale"
    )
