"""The matcher interface shared by the durable-rules matcher and the plain-Python one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from engine.errors import PolicyError
from engine.rules.facts import Facts
from engine.rules.tree import Condition

MatcherKind = Literal["durable", "python"]
# durable-rules reads "$state"/"$flow" in a ruleset name as a statechart or a flowchart.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:+-]{0,127}$")


@dataclass(frozen=True, order=True)
class Match:
    """One way a rule matched: the line indexes bound to its line patterns, in pattern order."""

    rule_id: str
    lines: tuple[int, ...] = ()


def ordered(matches: Iterable[Match]) -> list[Match]:
    """Sorted and without duplicates (keyed: the dataclass's own ``__lt__`` is far slower)."""
    return sorted(set(matches), key=_key)


def _key(match: Match) -> tuple[str, tuple[int, ...]]:
    return match.rule_id, match.lines


class Matcher(Protocol):
    name: str

    def match(self, facts: Facts) -> list[Match]:
        """Every match of every rule, sorted, without duplicates."""
        ...


def build_matcher(kind: MatcherKind, name: str, conditions: Sequence[Condition]) -> Matcher:
    """Build a matcher; both kinds accept exactly the same conditions (durable-rules' limits)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"matcher name must match {_NAME.pattern}, got {name!r}")
    conditions = tuple(conditions)
    # Imported here: both implementations import Match from this module.
    from engine.rules.network import check_limits

    problems = check_limits(conditions)
    if problems:
        raise PolicyError(f"{name}: the rules exceed durable-rules' limits", problems)
    if kind == "python":
        from engine.rules.python import PythonMatcher

        return PythonMatcher(name, conditions)
    if kind == "durable":
        from engine.rules.durable import durable_matcher

        return durable_matcher(name, conditions)
    raise ValueError(f"unknown matcher kind {kind!r}; use 'durable' or 'python'")
