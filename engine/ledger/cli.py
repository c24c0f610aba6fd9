"""``loyalty ledger …``: the ledger's consistency check, batch jobs and CSV imports.

Register with ``main.add_command(ledger)``. Exit codes as everywhere in ``loyalty``: 0 done,
1 a check failed, the input was invalid or the database refused, 2 the command was used
wrongly. Errors are one clear message, never a traceback. Long jobs draw a progress bar on
standard error; results go to standard output.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, ParamSpec, TypeVar

import click
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from engine.calendar import start_of_day
from engine.cli_errors import domain_errors, fail
from engine.ledger import importer, jobs, paid
from engine.ledger.check import check as check_ledger
from engine.ledger.db import (
    DEFAULT_URL,
    MissingLedger,
    normalise_url,
    open_database,
    sqlite_file,
)
from engine.ledger.importer import ImportReport, import_members, import_transactions
from engine.ledger.jobs import vouchers as voucher_jobs
from engine.ledger.service import Ledger
from engine.policy.loader import load_programme
from engine.pricing import Evaluator

SHOWN_REJECTIONS = 100
P = ParamSpec("P")
R = TypeVar("R")


class When(click.ParamType):
    """A date (``2027-01-01``: the start of that day in the programme's zone) or an instant
    with an offset (``2027-01-01T08:00:00+08:00``)."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, date):
            return value
        text = str(value)
        try:
            return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"'{text}' is not a date like 2027-01-01 or 2027-01-01T08:00:00+08:00")

    @staticmethod
    def instant(value: date | datetime | None, evaluator: Evaluator) -> datetime:
        if value is None:
            return datetime.now(UTC)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise click.UsageError(f"{value.isoformat()} has no offset; add one, e.g. +08:00")
            return value
        return start_of_day(value, evaluator.tz)


WHEN = When()


def existing_ledger(_ctx: click.Context, _param: click.Parameter, url: str) -> str:
    """An ``--database`` callback: a SQLite file that does not exist is a usage error (exit
    2), so a typo never starts a new, empty ledger. Only ``serve`` and ``ledger init`` create."""
    try:
        normalise_url(url, create=False)
    except MissingLedger as exc:
        raise click.BadParameter(str(exc), param_hint="'--database'") from None
    except ArgumentError:
        pass  # an invalid URL: the command reports it as the database failing to open
    return url


database_option = click.option(
    "--database",
    envvar="LOYALTY_DATABASE_URL",
    default=DEFAULT_URL,
    show_default=True,
    callback=existing_ledger,
    help="the ledger's database URL (env LOYALTY_DATABASE_URL); it must exist",
)
programme_option = click.option(
    "--programme",
    "programme_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="the programme's YAML file",
)
as_of_option = click.option(
    "--as-of", type=WHEN, help="a date (its first instant) or a date and time; default now"
)


def _guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a command can meet into one message and exit code 1: domain errors as
    every command reports them, the database's and the file system's failures here."""

    @domain_errors
    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ArgumentError as exc:
            fail(f"the database URL is invalid: {exc}")
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            fail(f"the database failed: {reason}")
        except OSError as exc:
            fail(str(exc))

    return run


@contextmanager
def _database(url: str) -> Iterator[Engine]:
    engine = open_database(url, create=False)
    try:
        yield engine
    finally:
        engine.dispose()


def _evaluator(path: str) -> Evaluator:
    return Evaluator(load_programme(path), matcher="python")


@contextmanager
def _progress(label: str) -> Iterator[jobs.Progress]:
    """A progress callback drawing a bar on standard error once the total is known."""
    bars: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bars and total:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bars.append(bar.__enter__())
        if bars:
            bars[0].update(done - bars[0].pos)

    try:
        yield update
    finally:
        if bars:
            bars[0].__exit__(None, None, None)


@click.group("ledger")
def ledger() -> None:
    """The member ledger: consistency check, batch jobs and CSV imports."""


@ledger.command()
@click.option(
    "--database",
    envvar="LOYALTY_DATABASE_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="the ledger's database URL (env LOYALTY_DATABASE_URL); created if missing",
)
@_guarded
def init(database: str) -> None:
    """Create the ledger (or bring an existing one's schema up to date)."""
    path = sqlite_file(database)
    existed = path is None or path.exists()
    open_database(database, create=True).dispose()
    where = str(path) if path is not None else "the database"
    click.echo(f"{'updated' if existed else 'created'} the ledger at {where}")


@ledger.command()
@database_option
@click.option(
    "--programme",
    "programme_path",
    type=click.Path(exists=True, dir_okay=False),
    help="check only this programme (its YAML file); default all",
)
@_guarded
def check(database: str, programme_path: str | None) -> None:
    """Prove every balance equals its open lots and its journal; exit 1 if any does not."""
    programme_id = _evaluator(programme_path).programme.id if programme_path else None
    with _database(database) as engine:
        problems = check_ledger(engine, programme_id)
    if not problems:
        click.secho("the ledger is consistent", fg="green")
        return
    for problem in problems:
        click.echo(f"{problem.programme} {problem.subject}: {problem.message}")
    fail(f"{len(problems)} inconsistenc{'y' if len(problems) == 1 else 'ies'}")


@ledger.command()
@programme_option
@database_option
@as_of_option
@click.option("--batch-size", type=click.IntRange(1), default=jobs.BATCH, show_default=True)
@_guarded
def expire(programme_path: str, database: str, as_of: Any, batch_size: int) -> None:
    """Lapse the points of every lot whose expiry is before --as-of."""
    evaluator = _evaluator(programme_path)
    moment = When.instant(as_of, evaluator)
    with _database(database) as engine, _progress("expiring lots") as progress:
        done = jobs.expire_lots(
            engine, evaluator.programme.id, moment, batch_size=batch_size, progress=progress
        )
    click.echo(
        f"expired {done.points:,} points in {done.lots:,} lots of {done.members:,} members "
        f"(as of {moment.isoformat()})"
    )


@ledger.command("release-pending")
@programme_option
@database_option
@as_of_option
@click.option("--since", type=WHEN, help="count only points released after this")
@_guarded
def release_pending(programme_path: str, database: str, as_of: Any, since: Any) -> None:
    """Count the pending points spendable at --as-of (nothing needs writing)."""
    evaluator = _evaluator(programme_path)
    moment = When.instant(as_of, evaluator)
    start = When.instant(since, evaluator) if since is not None else None
    with _database(database) as engine:
        done = jobs.release_pending(engine, evaluator.programme.id, moment, since=start)
    click.echo(
        f"{done.points:,} points in {done.lots:,} lots of {done.members:,} members are "
        f"spendable at {moment.isoformat()}"
        + (f" (released after {start.isoformat()})" if start else "")
    )


@ledger.command("paid-revenue")
@programme_option
@database_option
@click.option("--since", type=WHEN, required=True, help="from this date (or date and time)")
@click.option("--until", type=WHEN, required=True, help="up to, not including, this one")
@_guarded
def paid_revenue(programme_path: str, database: str, since: Any, until: Any) -> None:
    """The paid tier's revenue: fees taken and refunds given per bought level."""
    evaluator = _evaluator(programme_path)
    start, end = When.instant(since, evaluator), When.instant(until, evaluator)
    with _database(database) as engine, engine.connect() as conn:
        figures = paid.revenue(conn, evaluator.programme.id, start, end)
    code = evaluator.currency.code
    for level, f in sorted(figures.items()) or [("(none)", None)]:
        if f is None:
            click.echo("no paid level was bought or cancelled in that time")
            continue
        click.echo(
            f"{level}: {f['purchases']:,} bought, fees {f['fees']:.2f} {code}; "
            f"{f['cancellations']:,} cancelled, refunds {f['refunds']:.2f} {code}; "
            f"net {f['net']:.2f} {code}"
        )


@ledger.command("tier-review")
@programme_option
@database_option
@click.option(
    "--period-end",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="the last day of the qualifying period reviewed",
)
@click.option("--batch-size", type=click.IntRange(1), default=jobs.BATCH, show_default=True)
@_guarded
def tier_review(programme_path: str, database: str, period_end: datetime, batch_size: int) -> None:
    """Resolve the thresholds and move members up, renew or drop them per the programme."""
    evaluator = _evaluator(programme_path)
    end = period_end.date()
    with _database(database) as engine:
        with _progress("reviewing tiers") as progress:
            thresholds = jobs.tier_review(
                engine, evaluator, end, batch_size=batch_size, progress=progress
            )
        changes = jobs.review_changes(engine, evaluator.programme.id, end)
    code = evaluator.currency.code
    click.echo(f"tier review of the period ending {end.isoformat()}")
    for tier, amount in thresholds.items():
        click.echo(f"  threshold {tier}: {amount} {code}")
    for reason, count in sorted(changes.items()):
        click.echo(f"  {count:,} members: {reason}")
    if not changes:
        click.echo("  no member changed")


@ledger.command("expire-inactive")
@programme_option
@database_option
@as_of_option
@click.option("--batch-size", type=click.IntRange(1), default=jobs.BATCH, show_default=True)
@_guarded
def expire_inactive(programme_path: str, database: str, as_of: Any, batch_size: int) -> None:
    """Lapse the whole balance of members inactive longer than expiry.inactivity.months."""
    evaluator = _evaluator(programme_path)
    if "inactivity" not in evaluator.model.expiry.section:
        click.echo("the programme has no expiry.inactivity rule: nothing expires")
        return
    moment = When.instant(as_of, evaluator)
    with _database(database) as engine, _progress("expiring inactive members") as progress:
        done = jobs.expire_inactive(
            engine, evaluator, moment, batch_size=batch_size, progress=progress
        )
    click.echo(
        f"expired {done.points:,} points in {done.lots:,} lots of {done.members:,} inactive "
        f"members (as of {moment.isoformat()})"
    )


def _import(
    kind: str,
    run: Callable[..., ImportReport],
    programme_path: str,
    database: str,
    file: str,
    batch_size: int,
) -> None:
    evaluator = _evaluator(programme_path)
    with _database(database) as engine, _progress(f"importing {kind}") as progress:
        report = run(engine, evaluator, file, batch_size=batch_size, progress=progress)
    click.echo(
        f"read {report.read:,} rows: imported {report.imported:,}, skipped {report.skipped:,} "
        f"(already in the ledger), rejected {len(report.rejected):,}"
    )
    if report.rejected:
        lines = [f"line {r.line}: {r.reason}" for r in report.rejected[:SHOWN_REJECTIONS]]
        if len(report.rejected) > SHOWN_REJECTIONS:
            lines.append(f"… and {len(report.rejected) - SHOWN_REJECTIONS:,} more")
        fail(f"{len(report.rejected):,} rows of {file} were rejected", lines)


file_argument = click.argument("file", type=click.Path(exists=True, dir_okay=False))
import_batch = click.option(
    "--batch-size", type=click.IntRange(1), default=importer.BATCH, show_default=True
)


@ledger.command("import-members")
@file_argument
@programme_option
@database_option
@import_batch
@_guarded
def import_members_command(file: str, programme_path: str, database: str, batch_size: int) -> None:
    """Import members from a CSV file (id,name,joined,birthday,tags,email,phone,consent_*).

    Members already in the ledger are skipped; bad rows are listed and the command exits 1
    after importing the good ones.
    """
    _import("members", import_members, programme_path, database, file, batch_size)


@ledger.command("import-transactions")
@file_argument
@programme_option
@database_option
@import_batch
@_guarded
def import_transactions_command(
    file: str, programme_path: str, database: str, batch_size: int
) -> None:
    """Import historical purchases from a CSV file (id,member_id,at,amount,points and
    optionally qualifying,expires_at).

    Transactions already in the ledger are skipped; bad rows are listed and the command exits
    1 after importing the good ones.
    """
    _import("transactions", import_transactions, programme_path, database, file, batch_size)


@ledger.command("generate-vouchers")
@programme_option
@database_option
@click.option("--id", "batch_id", required=True, help="the batch's id (a repeat prints its codes)")
@click.option("--count", type=click.IntRange(1), required=True, help="how many codes")
@click.option("--value", required=True, help="what each voucher is worth, e.g. 5.00")
@click.option("--campaign", help="the campaign they belong to (default: the batch id)")
@click.option("--expires-at", help="a date and time with an offset; default: never")
@click.option("--channel", "channels", multiple=True, help="where they may be used (repeat)")
@_guarded
def generate_vouchers(
    programme_path: str,
    database: str,
    batch_id: str,
    count: int,
    value: str,
    campaign: str | None,
    expires_at: str | None,
    channels: tuple[str, ...],
) -> None:
    """Generate a campaign's single-use voucher codes in bulk, one per line on standard
    output (unguessable, all distinct); running it again with the same options prints the
    same codes."""
    evaluator = _evaluator(programme_path)
    body: dict[str, Any] = {"id": batch_id, "count": count, "value": value}
    body |= {"campaign": campaign} if campaign else {}
    body |= {"expires_at": expires_at} if expires_at else {}
    body |= {"channels": list(channels)} if channels else {}
    with _database(database) as engine:
        ledger_ = Ledger(engine, {evaluator.programme.id: evaluator})
        outcome = ledger_.generate_vouchers(evaluator.programme.id, body)
    for code in outcome.response["codes"]:
        click.echo(code)
    state = "already generated" if outcome.replayed else "generated"
    click.echo(f"{state}: {len(outcome.response['codes']):,} codes in batch {batch_id}", err=True)


@ledger.command("convert-points")
@programme_option
@database_option
@click.option("--conversion", "conversion_id", required=True, help="the conversion's id")
@as_of_option
@click.option("--batch-size", type=click.IntRange(1), default=jobs.BATCH, show_default=True)
@_guarded
def convert_points_command(
    programme_path: str, database: str, conversion_id: str, as_of: Any, batch_size: int
) -> None:
    """Convert points to vouchers for the last period of the conversion's schedule that
    ended by --as-of (once per period: a re-run issues nothing twice)."""
    evaluator = _evaluator(programme_path)
    moment = When.instant(as_of, evaluator)
    with _database(database) as engine, _progress("converting points") as progress:
        done = voucher_jobs.convert_points(
            engine, evaluator, conversion_id, moment, batch_size=batch_size, progress=progress
        )
    click.echo(
        f"converted {done.points:,} points of {done.members:,} members into vouchers worth "
        f"{done.value} {evaluator.currency.code} (as of {moment.isoformat()})"
    )


@ledger.command("reward-certificates")
@programme_option
@database_option
@as_of_option
@click.option("--batch-size", type=click.IntRange(1), default=jobs.BATCH, show_default=True)
@_guarded
def reward_certificates_command(
    programme_path: str, database: str, as_of: Any, batch_size: int
) -> None:
    """Issue the yearly reward certificate to every member whose renewal (plus the declared
    days) has come by --as-of (once per member and renewal)."""
    evaluator = _evaluator(programme_path)
    moment = When.instant(as_of, evaluator)
    with _database(database) as engine, _progress("issuing certificates") as progress:
        done = voucher_jobs.reward_certificates(
            engine, evaluator, moment, batch_size=batch_size, progress=progress
        )
    click.echo(
        f"issued {done.members:,} certificates worth {done.value} {evaluator.currency.code} "
        f"(as of {moment.isoformat()})"
    )


@ledger.command("anniversary-bonus")
@programme_option
@database_option
@as_of_option
@click.option("--batch-size", type=click.IntRange(1), default=jobs.BATCH, show_default=True)
@_guarded
def anniversary_bonus_command(
    programme_path: str, database: str, as_of: Any, batch_size: int
) -> None:
    """Give the anniversary bonus to every member whose renewal has come by --as-of (once
    per member and renewal)."""
    evaluator = _evaluator(programme_path)
    moment = When.instant(as_of, evaluator)
    with _database(database) as engine, _progress("anniversary bonuses") as progress:
        done = voucher_jobs.anniversary_bonus(
            engine, evaluator, moment, batch_size=batch_size, progress=progress
        )
    click.echo(
        f"gave {done.points:,} bonus points to {done.members:,} members "
        f"(as of {moment.isoformat()})"
    )
