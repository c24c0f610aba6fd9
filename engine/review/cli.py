"""``loyalty review``: a proposal's scorecard against the six principles, or what changed
between two versions of it.

Exit codes: 0 launchable; 1 rework, or a proposal or decision file is invalid; 2 the command
was used wrongly. Register with ``main.add_command(review)`` in ``engine.cli``.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import click
from sqlalchemy import select

import engine.outreach.templates  # noqa: F401 (registers the template check with the validator)
from engine.policy.loader import Programme, validate_paths
from engine.policy.problems import Problem
from engine.review.decisions import Decisions, default_decisions_path, load_decisions
from engine.review.diff import diff_reviews
from engine.review.model import Review
from engine.review.render import FORMATS, render, render_diff
from engine.review.scorecard import review_programme

EXIT_LAUNCHABLE, EXIT_REWORK = 0, 1


class _Invalid(Exception):
    """A file the review cannot use; its problems are printed instead of a report."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


@click.command("review")
@click.argument("proposal", type=click.Path(exists=True))
@click.argument("new", required=False, type=click.Path(exists=True))
@click.option(
    "--decisions",
    "decisions_file",
    type=click.Path(exists=True, dir_okay=False),
    help="the reviewer's decision file (default: <proposal stem>.review.yaml beside the "
    "proposal, if it exists); with two proposals it applies to the NEW one",
)
@click.option(
    "--database",
    "database_url",
    help="a ledger to measure against (its members' qualifying spend): the paid-fee check "
    "then says which share of members a paid level's fee pays for",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for the terminal, markdown, a one-page html file, or json",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="write the report to this file instead of printing it",
)
def review(
    proposal: str,
    new: str | None,
    decisions_file: str | None,
    database_url: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Review PROPOSAL against the six principles and the design checks.

    With a second file, NEW, show what changed from PROPOSAL to NEW: the verdict, the
    principles, the findings and the rules, tiers and other items behind them.

    Exits 0 when the proposal (or NEW) is launchable, 1 when it needs rework or a file is
    invalid, 2 when the command was used wrongly.
    """
    try:
        if new is None:
            programme, result = _reviewed(proposal, decisions_file, database_url)
            text = render(result, fmt)
        else:
            old_programme, old_result = _reviewed(proposal, None)
            programme, result = _reviewed(new, decisions_file, database_url)
            text = render_diff(diff_reviews(old_programme, old_result, programme, result), fmt)
    except _Invalid as invalid:
        _print_problems(invalid.problems, fmt)
        sys.exit(EXIT_REWORK)
    _emit(text, output, result)
    sys.exit(EXIT_LAUNCHABLE if result.verdict.launchable else EXIT_REWORK)


def _reviewed(
    path: str, decisions_file: str | None, database_url: str | None = None
) -> tuple[Programme, Review]:
    programme = _load(_main_file(path))
    decisions = _decisions(programme, decisions_file)
    spends = _spends(database_url, programme.id) if database_url else None
    return programme, review_programme(programme, decisions, spends)


def _spends(database_url: str, programme: str) -> list[Decimal]:
    """Each member's qualifying spend in the ledger (read only). The ledger is imported here:
    a review without --database never loads it."""
    from engine.ledger.db import open_database, reading
    from engine.ledger.tables import members

    engine = open_database(database_url, create=False)
    try:
        with reading(engine) as conn:
            rows = conn.execute(
                select(members.c.qualifying_spend).where(
                    members.c.programme == programme, members.c.merged_into.is_(None)
                )
            )
            return [Decimal(str(spend)) for (spend,) in rows]
    finally:
        engine.dispose()


def _main_file(path: str) -> Path:
    given = Path(path)
    if given.is_dir():  # a programme's folder stands for its programme.yaml
        given = given / "programme.yaml"
        if not given.is_file():
            raise click.BadParameter(f"{path} has no programme.yaml", param_hint="PROPOSAL")
    return given


def _load(path: Path) -> Programme:
    report = validate_paths([path])
    if not report.ok:
        raise _Invalid(report.problems)
    if len(report.programmes) != 1:  # a fragment: valid, but nothing to review
        missing = Problem(
            "this file does not declare a programme (no programme: section)",
            hint="review the programme file that includes it",
            code="review.not_a_programme",
        )
        raise _Invalid([missing.at(str(path), 1, 1)])
    return report.programmes[0]


def _decisions(programme: Programme, given: str | None) -> Decisions | None:
    path = Path(given) if given else default_decisions_path(programme.files[0])
    if given is None and not path.is_file():
        return None
    decisions, problems = load_decisions(path, programme.id)
    if decisions is None:
        raise _Invalid(problems)
    return decisions


def _print_problems(problems: list[Problem], fmt: str) -> None:
    if fmt == "json":
        records = [p.as_record() for p in problems]
        click.echo(json.dumps({"valid": False, "problems": records}, ensure_ascii=False, indent=2))
        return
    for problem in problems:
        click.echo(problem.render())
    click.echo("invalid: the proposal cannot be reviewed until these problems are fixed")


def _emit(text: str, output: str | None, result: Review) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    Path(output).write_text(text, encoding="utf-8")
    click.echo(f"{result.verdict.word}: {result.verdict.summary}; report written to {output}")
