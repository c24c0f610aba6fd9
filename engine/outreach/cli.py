"""``loyalty outreach``: run the day's triggers, list and export the work, deliver it."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, TextIO

import click
from sqlalchemy import Engine

from engine.cli_errors import domain_errors
from engine.ledger.cli import database_option
from engine.ledger.db import open_database
from engine.outreach import interactions
from engine.outreach.run import RunReport, run_outreach, today_for
from engine.outreach.tasks import STATUSES, Filters, export_csv, list_tasks
from engine.outreach.webhook import Retry, deliver
from engine.pricing import Evaluator
from engine.registry import Registry

CHANNELS = ("sms", "email", "call", "app_push", "wechat")
EXIT_INVALID = 1

rules_option = click.option(
    "--rules",
    envvar="LOYALTY_RULES",
    default="rules",
    show_default=True,
    type=click.Path(exists=True, file_okay=False),
    help="the folder of programmes",
)


@click.group()
def outreach() -> None:
    """Contact-centre work from the programmes' outreach triggers (rules/README.md)."""


def _programmes(rules: str, only: tuple[str, ...]) -> list[Evaluator]:
    registry = Registry(rules, matcher="python")
    report = registry.reload()
    for file, problems in report.refused.items():
        click.secho(f"{file}: skipped, {len(problems)} problem(s); run loyalty validate", err=True)
    chosen = [e for e in registry.all() if not only or e.programme.id in only]
    missing = set(only) - {e.programme.id for e in chosen}
    if missing:
        raise click.BadParameter(f"no valid programme {', '.join(sorted(missing))} in {rules}")
    return chosen


@contextmanager
def _database(url: str) -> Iterator[Engine]:
    engine = open_database(url, create=False)
    try:
        yield engine
    finally:
        engine.dispose()


@outreach.command("run")
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), help="default: today, locally")
@click.option("--programme", "only", multiple=True, help="only these programmes (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@rules_option
@database_option
@domain_errors
def run_command(
    on: datetime | None, only: tuple[str, ...], as_json: bool, rules: str, database: str
) -> None:
    """Create the day's tasks (a rerun on the same day adds nothing) and render them."""
    reports = []
    with _database(database) as engine:
        for evaluator in _programmes(rules, only):
            day = on.date() if on else today_for(evaluator)
            reports.append(_run_one(engine, evaluator, day, quiet=as_json))
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2))
        return
    for report in reports:
        click.echo(_summary(report))


def _run_one(engine: Engine, evaluator: Evaluator, day: date, *, quiet: bool) -> RunReport:
    steps = len(evaluator.model.outreach) + 1
    label = f"{evaluator.programme.id} {day.isoformat()}"
    shown = sys.stderr if not quiet else io.StringIO()  # quiet: drawn where no one looks
    with click.progressbar(length=steps, label=label, file=shown) as bar:

        def advance(_step: str) -> None:
            bar.update(1)

        return run_outreach(engine, evaluator, day, progress=advance)


def _summary(report: RunReport) -> str:
    parts = ", ".join(f"{trigger} {n}" for trigger, n in report.created.items()) or "no triggers"
    granted = sum(report.granted.values())
    offers = f"; {granted} offer(s) granted" if report.granted else ""
    return (
        f"{report.programme} {report.date}: {report.total} new task(s) ({parts}){offers}; "
        f"{report.rendered} rendered, {report.failed} failed, {report.seconds:.2f} s"
    )


@outreach.command("list")
@click.option("--programme", required=True)
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--channel", type=click.Choice(CHANNELS))
@click.option("--trigger")
@click.option("--due", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
@click.option("--after", default=0, type=int, help="continue after this task id")
@database_option
@domain_errors
def list_command(
    programme: str,
    status: str | None,
    channel: str | None,
    trigger: str | None,
    due: datetime | None,
    limit: int,
    after: int,
    database: str,
) -> None:
    """One line per task: id, due, status, channel, trigger, member, message."""
    filters = Filters(status, channel, trigger, due.date() if due else None)
    with _database(database) as engine:
        page, following = list_tasks(engine, programme, filters, after=after, limit=limit)
    for task in page:
        click.echo(_line(task))
    if following:
        click.echo(f"more: --after {following}", err=True)


def _line(task: dict[str, Any]) -> str:
    return (
        f"{task['id']:>8}  {task['due']}  {task['status']:<6}  {task['channel']:<8}  "
        f"{task['trigger']:<24}  {task['member_id']:<16}  {task['message'] or ''}"
    )


@outreach.command("export")
@click.option("--programme", required=True)
@click.option("--channel", required=True, type=click.Choice(CHANNELS))
@click.option("--status", type=click.Choice(STATUSES), default="new", show_default=True)
@click.option("--due", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-")
@database_option
@domain_errors
def export_command(
    programme: str,
    channel: str,
    status: str,
    due: datetime | None,
    output: TextIO,
    database: str,
) -> None:
    """The channel's tasks as CSV (id, due, trigger, member, name, address, status, message)."""
    filters = Filters(status, channel, None, due.date() if due else None)
    with _database(database) as engine:
        count = export_csv(engine, programme, filters, output)
    click.echo(f"{count} task(s)", err=True)


@outreach.command("report")
@click.option("--programme", required=True, help="a programme under --rules (for its time zone)")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="first day counted")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="last day counted")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@rules_option
@database_option
@domain_errors
def report_command(
    programme: str,
    start: datetime | None,
    end: datetime | None,
    as_json: bool,
    rules: str,
    database: str,
) -> None:
    """Tasks by trigger and status, and logged contact outcomes by trigger."""
    (evaluator,) = _programmes(rules, (programme,))
    first, last = (start.date() if start else None), (end.date() if end else None)
    with _database(database) as engine:
        found = interactions.report(engine, programme, evaluator.tz, first, last)
    if as_json:
        click.echo(json.dumps(found.as_dict(), indent=2, ensure_ascii=False))
        return
    for trigger in sorted({*found.tasks, *found.outcomes}):
        tasks = ", ".join(f"{s} {n}" for s, n in sorted(found.tasks.get(trigger, {}).items()))
        outcomes = ", ".join(f"{o} {n}" for o, n in found.outcomes.get(trigger, {}).items() if n)
        click.echo(f"{trigger}: tasks {tasks or 'none'}; contacts {outcomes or 'none'}")
    totals = ", ".join(f"{o} {n}" for o, n in found.totals().items())
    click.echo(f"all contacts: {totals}")


@outreach.command("deliver")
@click.option("--url", required=True, help="the webhook receiving one JSON POST per task")
@click.option("--programme", "only", multiple=True, help="only these programmes (repeatable)")
@click.option("--attempts", default=Retry.attempts, show_default=True, type=click.IntRange(1))
@click.option("--retry-failed", is_flag=True, help="also retry tasks that failed before")
@rules_option
@database_option
@domain_errors
def deliver_command(
    url: str, only: tuple[str, ...], attempts: int, retry_failed: bool, rules: str, database: str
) -> None:
    """POST every rendered new task to URL; 2xx marks it sent, the last failure failed."""
    failed = 0
    with _database(database) as engine:
        for evaluator in _programmes(rules, only):
            done = deliver(
                engine,
                evaluator.programme.id,
                url,
                retry=Retry(attempts=attempts),
                retry_failed=retry_failed,
                clock=lambda: datetime.now(UTC),
            )
            failed += done.failed
            click.echo(f"{evaluator.programme.id}: {done.sent} sent, {done.failed} failed")
    sys.exit(EXIT_INVALID if failed else 0)
