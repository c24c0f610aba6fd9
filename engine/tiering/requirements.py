"""Requirement expressions (``any_of``/``all_of`` over ``metric ≥ amount``) and the gap to them.

The gap is the *closest path*: the fewest things still to do, as the till would say it
("3 nights to Gold"). Paths are compared by how much of each leaf remains, as a fraction of
the leaf's amount, summed; so "2 of 20 nights" is closer than "1 of 6 stays" (0.1 < 0.17).
Ties go to the path declared first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Union

Totals = Mapping[str, Decimal]
ZERO = Decimal(0)


@dataclass(frozen=True)
class Leaf:
    metric: str
    at_least: Decimal


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Requirement, ...]


@dataclass(frozen=True)
class AllOf:
    items: tuple[Requirement, ...]


Requirement = Union[Leaf, AnyOf, AllOf]  # noqa: UP007 — a runtime alias for the dataclasses


@dataclass(frozen=True)
class Shortfall:
    """``remaining`` more of ``metric`` is needed to reach ``at_least``."""

    metric: str
    remaining: Decimal
    at_least: Decimal

    @property
    def fraction(self) -> Decimal:
        return self.remaining / self.at_least if self.at_least else ZERO


Path = tuple[Shortfall, ...]


def met(requirement: Requirement, totals: Totals) -> bool:
    """Whether ``totals`` (missing metrics count 0) meet the requirement."""
    if isinstance(requirement, Leaf):
        return totals.get(requirement.metric, ZERO) >= requirement.at_least
    if isinstance(requirement, AnyOf):
        return any(met(item, totals) for item in requirement.items)
    return all(met(item, totals) for item in requirement.items)


def gap(requirement: Requirement, totals: Totals) -> Path:
    """The closest path to meeting the requirement; empty when it is met."""
    if isinstance(requirement, Leaf):
        have = totals.get(requirement.metric, ZERO)
        if have >= requirement.at_least:
            return ()
        return (Shortfall(requirement.metric, requirement.at_least - have, requirement.at_least),)
    paths = [gap(item, totals) for item in requirement.items]
    if isinstance(requirement, AnyOf):
        return min(paths, key=cost)  # min keeps the first of equals
    return _merge(paths)


def cost(path: Path) -> Decimal:
    """How far a path is from done: the remaining fraction of each leaf, summed."""
    return sum((shortfall.fraction for shortfall in path), ZERO)


def _merge(paths: list[Path]) -> Path:
    """All of several paths: one shortfall per metric, the largest (it covers the others)."""
    largest: dict[str, Shortfall] = {}
    for path in paths:
        for shortfall in path:
            known = largest.get(shortfall.metric)
            if known is None or shortfall.at_least > known.at_least:
                largest[shortfall.metric] = shortfall
    return tuple(largest.values())


def metrics_of(requirement: Requirement) -> set[str]:
    """Every metric a requirement mentions."""
    if isinstance(requirement, Leaf):
        return {requirement.metric}
    return set().union(*(metrics_of(item) for item in requirement.items))


def leaves(requirement: Requirement) -> list[Leaf]:
    """Every leaf, in declaration order (for checks and SQL generation)."""
    if isinstance(requirement, Leaf):
        return [requirement]
    return [leaf for item in requirement.items for leaf in leaves(item)]
