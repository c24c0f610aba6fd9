"""The ``loyalty`` command line.

Exit codes follow one rule everywhere: 0 success (warnings allowed), 1 the
input is invalid or a check failed, 2 the command was used wrongly.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import click

from engine import __version__
from engine.policy.loader import Programme, Report, validate_paths
from engine.policy.problems import Problem

EXIT_INVALID = 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    meta = programme.document["programme"]
    tiers = [level["id"] for level in programme.document.get("tiers", {}).get("levels", [])]
    counts = {k: len(programme.document.get(k, [])) for k in ("rules", "campaigns", "outreach")}
    return (
        f"{programme.ruleset_name}  {meta['name']} ({meta['currency']}, {meta['timezone']})  "
        f"tiers: {' < '.join(tiers) or '-'}  " + "  ".join(f"{k}: {n}" for k, n in counts.items())
    )
