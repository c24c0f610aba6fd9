"""How every ``loyalty`` command ends on a domain error: one red line, its problems, exit 1.

The CLI's counterpart of ``api/errors.py``: a command decorated with ``@domain_errors`` never
shows a traceback for a ``LoyaltyError``. Usage errors stay click's (exit 2).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, ParamSpec, TypeVar

import click

from engine.errors import LoyaltyError, ProblemsError, RedemptionError
from engine.policy.problems import Problem

EXIT_INVALID = 1
P = ParamSpec("P")
R = TypeVar("R")


def domain_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a domain error into its message and problems on stderr, and exit code 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except LoyaltyError as exc:
            fail(headline(exc), [problem.render() for problem in problems_of(exc)])

    return run


def fail(message: str, details: Sequence[str] = ()) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    for line in details:
        click.secho(f"  {line}", fg="red", err=True)
    sys.exit(EXIT_INVALID)


def headline(exc: LoyaltyError) -> str:
    """The message, with a refused redemption's stable code: ``... [redemption.too_small]``."""
    return f"{exc} [{exc.code}]" if isinstance(exc, RedemptionError) else str(exc)


def problems_of(exc: LoyaltyError) -> list[Problem]:
    return exc.problems if isinstance(exc, ProblemsError) else []
