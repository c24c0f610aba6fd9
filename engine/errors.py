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

Edges (CLI, HTTP) catch ``LoyaltyError`` and render it; anything else is a bug. Each class
states how an edge answers it: ``status`` (an HTTP status), ``slug`` (the problem type's last
segment) and ``title``; a subclass inherits its family's unless it says otherwise. These are
plain data, so the domain imports nothing of HTTP; ``api/errors.py`` reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from engine.policy.problems import Problem


class LoyaltyError(Exception):
    """Base class of every error the domain raises on purpose."""

    status: ClassVar[int] = 422
    slug: ClassVar[str] = "refused"
    title: ClassVar[str] = "Refused"


class ProblemsError(LoyaltyError):
    """An error that carries a list of problem records (each names a path and a message)."""

    status, slug, title = 422, "invalid", "Invalid"

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class PolicyError(ProblemsError):
    """A programme's files are invalid."""

    status, slug, title = 422, "invalid-body", "Invalid request body"


class InputError(ProblemsError):
    """A member state, transaction or request body is malformed."""

    status, slug, title = 422, "invalid-body", "Invalid request body"


class RedemptionError(LoyaltyError):
    """A redemption is refused; ``code`` is stable and documented."""

    status, slug, title = 422, "redemption-refused", "Redemption refused"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class UnknownError(LoyaltyError):
    """Something named by the caller does not exist."""

    status, slug, title = 404, "not-found", "Not found"


class UnknownProgramme(UnknownError):
    """No loaded programme has this id."""


class UnknownMember(UnknownError):
    """No member has this id in this programme."""


class UnknownTransaction(UnknownError):
    """No stored sale has this id in this programme."""


class ConflictError(LoyaltyError):
    """An id (transaction, idempotency key) was reused with a different body."""

    status, slug, title = 409, "conflict", "Conflict"


class EngineError(LoyaltyError):
    """The rules engine failed: a bug or an engine trap, never the caller's input."""

    status, slug, title = 500, "engine-failure", "Engine failure"
