"""``loyalty analyze``, ``loyalty demo`` and ``loyalty campaign``: the downpour campaign tools.

Register with ``main.add_command(analyze)``, ``main.add_command(demo)`` and
``main.add_command(campaign)``. Every command takes the programme's main YAML file and the
ledger URL (``--database``, or ``LOYALTY_DATABASE_URL``); exit codes follow the CLI's rule:
0 success, 1 refused or invalid, 2 wrong usage.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine

from engine.campaigns import analysis, budget
from engine.campaigns import demo as demo_data
from engine.campaigns import export as export_csv
from engine.campaigns import launch as launching
from engine.campaigns import report as reporting
from engine.campaigns.model import Context
from engine.campaigns.targeting import Preview, preview
from engine.cli_errors import domain_errors
from engine.ledger.cli import database_option
from engine.ledger.db import open_database
from engine.policy.loader import load_programme

RECOMMENDED = "rules/recommended/programme.yaml"
AT_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S"]
F = TypeVar("F", bound=Callable[..., Any])


def _database(function: F) -> F:
    return database_option(function)


def _format(function: F) -> F:
    return click.option(
        "--format",
        "output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
    )(function)


def _at(function: F) -> F:
    return click.option(
        "--at",
        type=click.DateTime(AT_FORMATS),
        help="evaluate as of this date or date-time (programme time zone unless an offset "
        "is given); default now",
    )(function)


@contextmanager
def _session(programme: str, database: str) -> Iterator[tuple[Context, Engine]]:
    """The programme's context and an open ledger, closed however the command ends."""
    engine: Engine | None = None
    try:
        context = Context.of(load_programme(programme).model)
        engine = open_database(database, create=False)
        yield context, engine
    finally:
        if engine is not None:
            engine.dispose()


def _moment(at: datetime | None, context: Context) -> datetime:
    if at is None:
        return datetime.now(UTC).astimezone(context.tz)
    return at if at.tzinfo else at.replace(tzinfo=context.tz)


def _emit(output: str, data: dict[str, Any], text: str) -> None:
    if output == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(text)


def _write(path: str | None, svg: str) -> None:
    if path:
        Path(path).write_text(svg, encoding="utf-8")
        click.echo(f"chart written to {path}", err=True)


# --- analyze ----------------------------------------------------------------------------------


@click.group()
def analyze() -> None:
    """Analyses of the ledger's history."""


@analyze.command("critical-point")
@click.argument("programme", type=click.Path(exists=True, dir_okay=False))
@_database
@click.option("--width", default=100, show_default=True, help="balance bucket width in points")
@click.option("--horizon", default=30, show_default=True, help="days to buy or redeem after")
@click.option("--snapshots", default=6, show_default=True, help="observation instants")
@click.option("--every", default=30, show_default=True, help="days between snapshots")
@click.option("--window", default=3, show_default=True, help="buckets pooled on each side")
@click.option("--min-count", default=30, show_default=True, help="least observations per side")
@click.option(
    "--until", type=click.DateTime(AT_FORMATS), help="end of history (default: last sale)"
)
@click.option("--chart", "chart_path", type=click.Path(dir_okay=False), help="write an SVG chart")
@_format
@domain_errors
def critical_point(
    programme: str,
    database: str,
    width: int,
    horizon: int,
    snapshots: int,
    every: int,
    window: int,
    min_count: int,
    until: datetime | None,
    chart_path: str | None,
    output: str,
) -> None:
    """Find the balance at which members turn active (rules/README.md, "Downpour campaigns")."""
    with _session(programme, database) as (context, engine):
        options = analysis.Options(
            width, horizon, snapshots, every, window, min_count, until and _moment(until, context)
        )
        with engine.connect() as conn:
            result = analysis.analyse(conn, context, options)
        _emit(output, result.as_dict(), analysis.table(result))
        _write(chart_path, analysis.chart(result))


# --- demo -------------------------------------------------------------------------------------


@click.group()
def demo() -> None:
    """Synthetic data to try the campaign tools on."""


@demo.command("generate")
@click.option("--members", type=click.IntRange(1), required=True)
@click.option(
    "--programme",
    type=click.Path(exists=True, dir_okay=False),
    default=RECOMMENDED,
    show_default=True,
)
@_database
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="history ends (default today)")
@click.option("--critical-point", default=1500, show_default=True, help="the planted balance")
@click.option("--rounds", default=6, show_default=True, help="rounds of sales")
@click.option("--round-days", default=30, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--prefix", default="demo-", show_default=True, help="member id prefix")
@click.option("--history/--no-history", default=True, show_default=True)
@domain_errors
def generate(
    members: int,
    programme: str,
    database: str,
    until: datetime | None,
    critical_point: int,
    rounds: int,
    round_days: int,
    seed: int,
    prefix: str,
    history: bool,
) -> None:
    """Members with tags and a sales history with a known points critical point."""
    plan = demo_data.Plan(
        members,
        until.date() if until else date.today(),
        critical_point=critical_point,
        rounds=rounds,
        round_days=round_days,
        seed=seed,
        prefix=prefix,
        history=history,
    )
    with _session(programme, database) as (context, engine):
        steps = 1 + (rounds + 1 if history else 0)
        with click.progressbar(length=steps, label="generating", file=sys.stderr) as bar:
            result = demo_data.generate(engine, context, plan, progress=lambda _s: bar.update(1))
        click.echo(json.dumps(result, indent=2))


@demo.command("respond")
@click.argument("programme", type=click.Path(exists=True, dir_okay=False))
@click.argument("campaign_id")
@_database
@click.option("--rate", "rates", multiple=True, required=True, help="group=share, e.g. a=0.3")
@click.option("--bonus", default=0, show_default=True, help="points group members' sales earn")
@click.option("--prefix", default="demo-", show_default=True)
@click.option("--seed", default=1, show_default=True)
@domain_errors
def respond(
    programme: str,
    campaign_id: str,
    database: str,
    rates: Sequence[str],
    bonus: int,
    prefix: str,
    seed: int,
) -> None:
    """Simulate the window of a launched campaign: members buy at their group's rate."""
    parsed = {}
    for item in rates:
        group, _, share = item.partition("=")
        try:
            parsed[group] = float(share)
        except ValueError:
            raise click.BadParameter(f"expected group=share, got {item!r}") from None
    with _session(programme, database) as (context, engine):
        demo_data.respond(
            engine, context, campaign_id, parsed, prefix=prefix, seed=seed, bonus=bonus
        )
        click.echo(f"simulated the window of {campaign_id}")


# --- campaign ---------------------------------------------------------------------------------


@click.group()
def campaign() -> None:
    """Downpour campaigns: preview, estimate, launch, export and report."""


@campaign.command("preview")
@click.argument("programme", type=click.Path(exists=True, dir_okay=False))
@click.argument("campaign_id")
@_database
@_at
@click.option("--sample", default=5, show_default=True, help="members shown per group")
@_format
@domain_errors
def preview_command(
    programme: str, campaign_id: str, database: str, at: datetime | None, sample: int, output: str
) -> None:
    """Counts per tier and group, and a sample, of what launching now would assign."""
    with _session(programme, database) as (context, engine):
        with engine.connect() as conn:
            result = preview(conn, context, campaign_id, _moment(at, context), sample=sample)
        _emit(output, result.as_dict(), preview_table(result))


def preview_table(result: Preview) -> str:
    groups = result.groups
    head = f"{'tier':<12}" + "".join(f"{g:>9}" for g in groups) + f"{'no group':>10}{'total':>9}"
    rows = [f"{result.campaign_id} as of {result.at.isoformat()}", head, "-" * len(head)]
    for tier in [*result.tiers, None]:
        cells = [
            sum(n for (t, g), n in result.counts.items() if g == group and tier in (None, t))
            for group in [*groups, None]
        ]
        label = "all" if tier is None else tier or "(none)"
        rows.append(
            f"{label:<12}" + "".join(f"{n:>9,}" for n in cells[:-1]) + f"{cells[-1]:>10,}"
            f"{sum(cells):>9,}"
        )
    for group, members in result.sample.items():
        rows.append(f"\nsample of {group}:")
        rows += [
            f"  {m['member_id']:<16} {m['tier'] or '-':<10} {m['balance']:>7,} points  "
            f"{m['days_inactive'] if m['days_inactive'] is not None else '-':>4} days  "
            f"{json.dumps(m['tags'], ensure_ascii=False)}"
            for m in members
        ]
    if result.launched:
        rows.append(f"\nalready launched at {result.launched['launched_at']}: {result.launched}")
    rows += _critical_lines(result.critical_point)
    rows += [f"warning: {w}" for w in result.warnings]
    return "\n".join(rows)


def _critical_lines(found: dict[str, Any] | None) -> list[str]:
    if found is None:
        return []
    if "band" not in found:
        return [f"latest detected critical point: {found['balance']:,} points"]
    low, high = found["band"]
    return [
        f"critical point {found['balance']:,} points (from the {found['source']}): "
        f"targeting balances {low:,} to {high:,}"
    ]


@campaign.command("launch")
@click.argument("programme", type=click.Path(exists=True, dir_okay=False))
@click.argument("campaign_id")
@_database
@_at
@_format
@domain_errors
def launch_command(
    programme: str, campaign_id: str, database: str, at: datetime | None, output: str
) -> None:
    """Freeze the assignment in the ledger (again: a no-op if unchanged, refused otherwise)."""
    with _session(programme, database) as (context, engine):
        result = launching.launch(engine, context, campaign_id, _moment(at, context))
        verb = "launched" if result.created else "already launched, unchanged"
        groups = ", ".join(f"{g}: {n:,}" for g, n in result.groups.items())
        text = f"{campaign_id} {verb} at {result.launched_at}: {groups}"
        text = "\n".join([text, *_critical_lines(result.critical_point)])
        _emit(output, result.as_dict(), text)


@campaign.command("estimate")
@click.argument("programme", type=click.Path(exists=True, dir_okay=False))
@click.argument("campaign_id")
@_database
@_at
@click.option("--basket", type=Decimal, help="typical basket (default: mean sale, last 90 days)")
@_format
@domain_errors
def estimate_command(
    programme: str,
    campaign_id: str,
    database: str,
    at: datetime | None,
    basket: Decimal | None,
    output: str,
) -> None:
    """Expected responders, points, perceived value and real cost; downpour vs sunshine."""
    with _session(programme, database) as (context, engine):
        with engine.connect() as conn:
            moment = None if at is None else _moment(at, context)
            result = budget.estimate(conn, context, campaign_id, moment, basket=basket)
        _emit(output, result.as_dict(), estimate_table(result))


def estimate_table(result: budget.Estimate) -> str:
    cur = result.currency
    head = f"{'group':<8}{'targets':>9}{'rate':>7}{'responders':>12}{'points':>11}"
    head += f"{'perceived':>12}{'real cost':>12}"
    rows = [head, "-" * len(head)]
    for g in [*result.groups, None]:
        f = result.total if g is None else g.figures
        rate = "" if g is None else f"{g.response_rate:.0%}"
        rows.append(
            f"{'total' if g is None else g.group:<8}{f.targets:>9,}{rate:>7}{f.responders:>12}"
            f"{f.points:>11,}{f.perceived_value:>12}{f.real_cost:>12}"
        )
    sun = result.sunshine
    rows += [
        "",
        f"typical basket {result.basket} {cur}; redemption rate {result.redemption_rate:.0%}, "
        f"cost of goods {result.cost_ratio:.0%}; holdout {result.holdout:,}",
    ]
    if sun.multiplier is None:
        rows.append(f"sunshine with the same spend ({sun.budget_points:,} points): {sun.headline}")
    else:
        rows.append(
            f"sunshine with the same spend ({sun.budget_points:,} points): {sun.headline} "
            f"({sun.points_per_member} points per member, {sun.buyers:,} expected buyers), "
            f"real cost {sun.real_cost} {cur}"
        )
    if result.sunshine_at_cap is not None:
        cap = result.sunshine_at_cap
        rows.append(
            f"sunshine with the whole budget ({cap.budget_points:,} points): {cap.headline}, "
            f"real cost {cap.real_cost} {cur}"
        )
    rows += [f"note: {n}" for n in result.notes]
    return "\n".join(rows)


@campaign.command("export")
@click.argument("programme", type=click.Path(exists=True, dir_okay=False))
@click.argument("campaign_id")
@_database
@click.option("--out", type=click.Path(file_okay=False), required=True, help="folder for CSVs")
@click.option(
    "--channel",
    "channels",
    multiple=True,
    type=click.Choice(list(export_csv.ADDRESSES)),
    help="channels in order of preference (default: all)",
)
@domain_errors
def export_command(
    programme: str, campaign_id: str, database: str, out: str, channels: Sequence[str]
) -> None:
    """One CSV per group of the launched campaign: consented contacts only, no holdout."""
    with _session(programme, database) as (context, engine):
        with engine.connect() as conn:
            result = export_csv.export(
                conn, context, campaign_id, Path(out), channels or export_csv.DEFAULT_CHANNELS
            )
        for group, path in result.files.items():
            click.echo(
                f"{path}: {result.rows[group]:,} members "
                f"({result.without_consent[group]:,} without a consented contact left out)"
            )


@campaign.command("report")
@click.argument("programme", type=click.Path(exists=True, dir_okay=False))
@click.argument("campaign_id")
@_database
@_at
@click.option("--chart", "chart_path", type=click.Path(dir_okay=False), help="write an SVG chart")
@_format
@domain_errors
def report_command(
    programme: str,
    campaign_id: str,
    database: str,
    at: datetime | None,
    chart_path: str | None,
    output: str,
) -> None:
    """Activation, spend and real cost of each group against its holdout, with the lift."""
    with _session(programme, database) as (context, engine):
        with engine.connect() as conn:
            result = reporting.report(conn, context, campaign_id, _moment(at, context))
        _emit(output, result.as_dict(), reporting.table(result))
        _write(chart_path, reporting.chart(result))


__all__ = ["analyze", "campaign", "demo"]
