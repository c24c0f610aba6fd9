"""The one exception hierarchy of the domain.

    LoyaltyError                 base of everything the domain raises on purpose
    ├── PolicyError              a programme's files are invalid (carries the problems)
    ├── InputError               a member, transaction or request is malformed (carries problems)
    ├── RedemptionError          a redemption is refused (carries a stable ``code``)
    ├── UnknownError             something named does not exist
    │   ├── UnknownProgramme
    │   ├── UnknownMember
    │   └── UnknownTransaction
    ├── ConflictError            the same id arrived again with a different body
    └── EngineError              the rules engine failed; a bug or a trap, never bad input

Edges (CLI, HTTP) catch ``LoyaltyError`` and render it; anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class LoyaltyError(Exception):
    """Base class of every error the domain raises on purpose."""


class ProblemsError(LoyaltyError):
    """An error that carries a list of problem records (each names a path and a message)."""

    def __init__(self, message: str, problems: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class PolicyError(ProblemsError):
    """A programme's files are invalid."""


class InputError(ProblemsError):
    """A member state, transaction or request body is malformed."""


class RedemptionError(LoyaltyError):
    """A redemption is refused; ``code`` is stable and documented."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class UnknownError(LoyaltyError):
    """Something named by the caller does not exist."""


class UnknownProgramme(UnknownError):
    """No loaded programme has this id."""


class UnknownMember(UnknownError):
    """No member has this id in this programme."""


class UnknownTransaction(UnknownError):
    """No stored sale has this id in this programme."""


class ConflictError(LoyaltyError):
    """An id (transaction, idempotency key) was reused with a different body."""


class EngineError(LoyaltyError):
    """The rules engine failed: a bug or an engine trap, never the caller's input."""
