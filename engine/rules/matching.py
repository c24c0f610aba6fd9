"""What a matcher returns and promises: shared by every matching back end (durable, python).

The factory that picks a back end is ``engine.rules.build_matcher``: kept out of this module so
the back ends can import ``Match`` without importing one another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from engine.rules.facts import Facts

MatcherKind = Literal["durable", "python"]


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
