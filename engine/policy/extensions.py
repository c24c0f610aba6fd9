"""Semantic checks other rooms add to the programme validator.

The validator (``engine.policy.semantic``) knows the language's own rules; a room that owns a
part of the document with rules of its own (outreach templates: Jinja syntax, known
variables) registers a check here when it is imported, so ``engine.policy`` never imports
that room. The front doors (the CLI, the served registry, scenarios, review) import those
rooms, so every programme they load is checked in full.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from engine.policy.problems import Problem

Check = Callable[[Mapping[str, Any]], Iterable[Problem]]
_REGISTERED: list[Check] = []


def register_check(check: Check) -> Check:
    """Run ``check`` on every schema-valid programme, after the language's own checks.

    Registering the same check twice runs it once. Returns ``check`` (usable as a decorator).
    """
    if check not in _REGISTERED:
        _REGISTERED.append(check)
    return check


def registered_checks() -> tuple[Check, ...]:
    """The checks registered so far, in registration order."""
    return tuple(_REGISTERED)
