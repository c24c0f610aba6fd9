"""The ``loyalty`` command line.

Exit codes follow one rule everywhere: 0 success (warnings allowed), 1 the
input is invalid or a check failed, 2 the command was used wrongly.

``validate`` is what an editor or a pre-commit hook runs, many times a day: it imports the
policy checks and nothing else. Commands that need the ledger, the pricing engine or the
server are listed in ``LAZY`` and imported only when they are the one run (click's lazy
loading of subcommands); a command's own heavy imports sit in its body.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import IO, TYPE_CHECKING

import click

import engine.outreach.templates  # noqa: F401 (registers the template check with the validator)
from engine import __version__
from engine.cli_errors import domain_errors
from engine.policy.loader import Programme, Report, load_programme, validate_paths
from engine.policy.problems import Problem

if TYPE_CHECKING:
    from engine.pricing import Evaluator, MatcherKind

EXIT_INVALID = 1
MATCHERS = ("durable", "python")  # engine.pricing.MatcherKind's values (a test keeps them equal)

# Commands imported only when run: name → "module:attribute". Features own their commands;
# the group only gathers them. The server's front door (api.cli) adds ``serve`` here.
LAZY: dict[str, str] = {
    "keys": "engine.keys_cli:keys",
    "review": "engine.review.cli:review",
    # the ledger's group with `ledger liability` (finance's report, engine/backtest) added
    "ledger": "engine.backtest.cli:ledger",
    "analyze": "engine.campaigns.cli:analyze",
    "demo": "engine.campaigns.cli:demo",
    "campaign": "engine.campaigns.cli:campaign",
    "outreach": "engine.outreach.cli:outreach",
    "backtest": "engine.backtest.cli:backtest_command",
}


class LazyGroup(click.Group):
    """A group whose ``LAZY`` commands are imported when named (or when help lists them)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY and cmd_name not in self.commands:
            module, _, attribute = LAZY[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command), LAZY[cmd_name]
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="loyalty")
def main() -> None:
    """loyalty-rules: membership programmes and promotions declared in YAML."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json (a list of problem records) for editors and CI",
)
def validate(paths: Sequence[str], output: str) -> None:
    """Check programme files or folders and report every problem at once.

    Exits 0 when valid (warnings allowed), 1 when any file has an error.
    """
    report = validate_paths(paths)
    if output == "json":
        click.echo(json.dumps([p.as_record() for p in report.problems], indent=2))
    else:
        _print_problems(report.problems)
        _print_summary(report)
    sys.exit(0 if report.ok else EXIT_INVALID)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def show(paths: Sequence[str]) -> None:
    """Summarise the valid programmes found under PATHS (id, version, files)."""
    report = validate_paths(paths)
    _print_problems(report.problems)
    for programme in report.programmes:
        click.echo(_summary_line(programme))
    sys.exit(0 if report.ok else EXIT_INVALID)


@main.command()
@click.argument("programme", type=click.Path(exists=True))
@click.option(
    "--member",
    "member_file",
    type=click.File("rb"),
    required=True,
    help="the member's state as JSON (schemas/member.schema.json)",
)
@click.option(
    "--transaction",
    "transaction_file",
    type=click.File("rb"),
    required=True,
    help="the sale as JSON (schemas/transaction.schema.json)",
)
@click.option(
    "--at",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]),
    help="evaluate as if at this date (programme time zone) or date-time with offset",
)
@click.option(
    "--explain", is_flag=True, help="also list the rules and campaigns that did not apply, and why"
)
@click.option(
    "--campaign",
    "campaigns",
    multiple=True,
    help="try this campaign as if live (ignore its window; place the member as a launch would)",
)
@click.option("--matcher", type=click.Choice(MATCHERS), default="durable", show_default=True)
@click.option(
    "--format", "output", type=click.Choice(["json", "text"]), default="json", show_default=True
)
@domain_errors
def quote(
    programme: str,
    member_file: IO[bytes],
    transaction_file: IO[bytes],
    at: datetime | None,
    explain: bool,
    campaigns: tuple[str, ...],
    matcher: MatcherKind,  # one of the click.Choice values
    output: str,
) -> None:
    """Price a sale for a member on PROGRAMME (its main YAML file) without storing anything."""
    from engine.pricing import Evaluator
    from engine.pricing.model import parse_member, parse_transaction

    loaded = load_programme(programme)
    evaluator = Evaluator(loaded, matcher=matcher)
    member = parse_member(_read_json(member_file, "--member"), evaluator.currency)
    sale = parse_transaction(_read_json(transaction_file, "--transaction"), evaluator.currency)
    moment = _local(at, evaluator) if at else None
    result = evaluator.quote(member, sale, at=moment, explain=explain, try_campaigns=campaigns)
    if output == "json":
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_quote_text(result.as_dict()))


def _read_json(stream: IO[bytes], option: str) -> object:
    try:
        return json.loads(stream.read(), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=option) from exc


def _local(at: datetime, evaluator: Evaluator) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=evaluator.tz)


def render_quote_text(data: dict) -> str:
    """A readable receipt-like view of a quote."""
    cur = data["currency"]
    rows = [
        f"{data['programme']}@{data['version']}  sale {data['transaction_id']}  "
        f"member {data['member_id']}  at {data['evaluated_at']}",
        "",
    ]
    for line in data["lines"]:
        off = sum(Decimal(d["amount"]) for d in line["discounts"])
        rows.append(
            f"  {line['id']:<8} {line['sku']:<16} {line['amount']:>10}  "
            f"-{off:>8}  points -{line['redeemed_value']:>8}  = {line['payable']:>10} {cur}"
        )
    totals, points, tier = data["totals"], data["points"], data["tier"]
    rows += [
        "",
        f"  amount {totals['amount']}  discounts {totals['discounts']}  "
        f"paid with points {totals['redeemed_value']}  payable {totals['payable']} {cur}",
        f"  points: base {points['base']} + tier {points['tier_bonus']} + rules "
        f"{sum(points['rule_bonus'].values())} + campaigns {sum(points['campaign_bonus'].values())}"
        f" - capped {points['capped']} = {points['total']} ({points['status']}, "
        f"expires {points['expires_at'] or 'never'})",
        f"  tier: {tier['before']} -> {tier['after']}"
        + (f", {tier['remaining_to_next']} {cur} to {tier['next']}" if tier["next"] else ""),
    ]
    rows += [f"  message: {m}" for m in data["messages"]]
    rows += [f"  {t['source']}: {t['effect']} {t['detail']} ({t['reason']})" for t in data["trace"]]
    rows += [f"  not applied {s['source']}: {s['reason']}" for s in data.get("not_applied", [])]
    return "\n".join(rows)


def _print_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        colour = "red" if problem.is_error else "yellow"
        click.secho(problem.render(), fg=colour, err=False)


def _print_summary(report: Report) -> None:
    errors = sum(p.is_error for p in report.problems)
    warnings = len(report.problems) - errors
    files = len(report.files)
    if report.ok:
        names = ", ".join(p.ruleset_name for p in report.programmes) or "no programmes"
        note = f" ({warnings} warning{'s' * (warnings != 1)})" if warnings else ""
        click.secho(f"valid: {files} file{'s' * (files != 1)}, {names}{note}", fg="green")
    else:
        click.secho(
            f"invalid: {errors} error{'s' * (errors != 1)}, {warnings} warning"
            f"{'s' * (warnings != 1)} in {files} file{'s' * (files != 1)}",
            fg="red",
        )


def _summary_line(programme: Programme) -> str:
    meta, model = programme.identity, programme.model
    tiers = model.tiers.ids
    counts = {"rules": len(model.rules), "campaigns": len(model.campaigns)}
    counts["outreach"] = len(model.outreach)
    return (
        f"{programme.ruleset_name}  {meta.name} ({meta.currency}, {meta.timezone})  "
        f"tiers: {' < '.join(tiers) or '-'}  " + "  ".join(f"{k}: {n}" for k, n in counts.items())
    )


@main.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--matcher", type=click.Choice(MATCHERS), default="durable", show_default=True)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json (files, scenarios, mismatches and problems) for CI",
)
def scenario_tests(paths: Sequence[str], matcher: MatcherKind, output: str) -> None:
    """Run the scenario files under PATHS and report every mismatch, field by field.

    PATHS are scenario files, or folders searched for YAML files in scenarios/ folders
    (rules/README.md, "Scenarios"). Exits 0 when every scenario passes, 1 when any fails
    or any file is invalid.
    """
    from engine.scenarios import run_scenarios

    report = run_scenarios(paths, matcher=matcher)
    if output == "json":
        click.echo(json.dumps(report.as_record(), indent=2, ensure_ascii=False))
    else:
        _print_problems(report.problems)
        colours = {"passed": None, "failed": "red", "invalid": "red"}
        for text, status in report.text_lines():
            click.secho(text, fg=colours[status])
        click.secho(report.summary(), fg="green" if report.ok else "red")
    sys.exit(0 if report.ok else EXIT_INVALID)
