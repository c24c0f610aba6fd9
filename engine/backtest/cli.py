"""``loyalty backtest`` and ``loyalty ledger liability``.

Exit codes as everywhere in ``loyalty``: 0 done, 1 invalid input or the database refused,
2 the command was used wrongly. Progress goes to standard error, results to standard output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from engine.backtest.diff import MATERIAL_PERCENT, compare
from engine.backtest.liability import liability
from engine.backtest.report import charts, document, html, member_csv, table
from engine.backtest.run import backtest
from engine.ledger.cli import (
    WHEN,
    _database,
    _guarded,
    database_option,
    ledger,
    programme_option,
)
from engine.policy.loader import load_programme
from engine.pricing import Evaluator


def _evaluator(path: str) -> Evaluator:
    return Evaluator(load_programme(path), matcher="python")


def _label(path: str) -> str:
    """A proposal's name in tables: its file's stem, or its folder's for programme.yaml."""
    file = Path(path)
    return file.parent.name if file.stem == "programme" and file.parent.name else file.stem


@contextmanager
def _bars() -> Iterator[Any]:
    """One progress bar per stage (history before the period, then each version)."""
    bars: dict[str, Any] = {}

    def update(label: str, done: int, total: int) -> None:
        if label not in bars:
            for bar in bars.values():
                bar.__exit__(None, None, None)
            bars.clear()
            bars[label] = click.progressbar(length=total, label=label, file=sys.stderr).__enter__()
        bar = bars[label]
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.__exit__(None, None, None)


@click.command("backtest")
@programme_option
@click.option(
    "--proposal",
    "proposals",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="a proposed version of the programme (YAML); repeat for several",
)
@database_option
@click.option(
    "--from", "start", type=WHEN, required=True, help="the period's first day (or instant)"
)
@click.option("--to", "end", type=WHEN, required=True, help="the day (or instant) after its end")
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table"
)
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False), help="also write an HTML report"
)
@click.option(
    "--charts", "charts_dir", type=click.Path(file_okay=False), help="also write SVG charts"
)
@click.option(
    "--material",
    type=click.FloatRange(0, 100),
    default=float(MATERIAL_PERCENT),
    show_default=True,
    help="a member's loss is material from this percent of what they got",
)
@click.option(
    "--limit", type=click.IntRange(1), default=100, show_default=True, help="JSON list length"
)
@_guarded
def backtest_command(
    programme_path: str,
    proposals: tuple[str, ...],
    database: str,
    start: date | datetime,
    end: date | datetime,
    output_format: str,
    html_path: str | None,
    charts_dir: str | None,
    material: float,
    limit: int,
) -> None:
    """Replay a period of the ledger under the live version and each proposal, in scratch
    copies (the ledger is only read): figures per version and who gains or loses."""
    live = _evaluator(programme_path)
    versions = [("live", live), *((_label(p), _evaluator(p)) for p in proposals)]
    first, last = WHEN.instant(start, live), WHEN.instant(end, live)
    with _database(database) as engine, _bars() as progress:
        test = backtest(engine, versions, first, last, progress=progress)
    comparisons = [
        compare(test, run, material_percent=Decimal(str(material))) for run in test.runs[1:]
    ]
    if html_path:
        Path(html_path).write_text(html(test, comparisons), encoding="utf-8")
    if charts_dir:
        folder = Path(charts_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for name, svg in charts(test).items():
            (folder / f"{name}.svg").write_text(svg, encoding="utf-8")
    if output_format == "json":
        click.echo(json.dumps(document(test, comparisons, limit), indent=2, ensure_ascii=False))
    elif output_format == "csv":
        click.echo(member_csv(comparisons), nl=False)
    else:
        click.echo(table(test, comparisons), nl=False)


@click.command("liability")
@programme_option
@database_option
@click.option("--as-of", type=WHEN, help="a date (its first instant) or an instant; default now")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
@_guarded
def liability_command(programme_path: str, database: str, as_of: Any, output_format: str) -> None:
    """Outstanding points by age and expiry month, valued at burn value and real cost."""
    evaluator = _evaluator(programme_path)
    with _database(database) as engine:
        found = liability(engine, evaluator, WHEN.instant(as_of, evaluator)).as_dict()
    if output_format == "json":
        click.echo(json.dumps(found, indent=2))
        return
    points, value = found["points"], found["value"]
    click.echo(f"{found['programme']} as of {found['as_of']}")
    for name in (
        "outstanding",
        "spendable",
        "pending",
        "expired_not_swept",
        "debt",
        "issued",
        "redeemed",
        "expired",
    ):
        click.echo(f"  {name.replace('_', ' '):<20} {points[name]:>14,}")
    click.echo(f"  {'burn value':<20} {value['burn_value']:>14}")
    click.echo(f"  {'real cost':<20} {value['real_cost']:>14}")
    click.echo(f"  {'redemption rate':<20} {found['redemption_rate']:>14}")
    click.echo(f"  {'expected breakage':<20} {found['breakage']['points']:>14,}")
    for title, key in (("by month earned", "by_age"), ("by expiry month", "by_expiry")):
        click.echo(title)
        for bucket in found[key]:
            click.echo(
                f"  {bucket['month']:<8} {bucket['points']:>14,} points in {bucket['lots']:,} lots"
            )


# `loyalty ledger liability` reads the ledger as finance does; it joins the ledger's group
# here, and engine/cli.py's LAZY takes that group from this module.
ledger.add_command(liability_command)
