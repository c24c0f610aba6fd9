"""Requirements as SQL: the set-based tier review's conditions, from the same model.

The review gives each member's window totals as columns (one per metric, e.g. from the
per-member per-window totals table); these functions build the boolean and the CASE the
review's UPDATE needs, so SQL and ``status.qualified`` cannot drift apart (the tests run both
on the same totals). Nothing here knows tables: columns come in by metric id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Integer, and_, case, false, literal, or_, true
from sqlalchemy.sql.elements import ColumnElement

from engine.tiering.model import TierModel
from engine.tiering.requirements import AnyOf, Leaf, Requirement

Columns = Mapping[str, ColumnElement[Any]]


def met_sql(requirement: Requirement, totals: Columns) -> ColumnElement[bool]:
    """The requirement as a boolean over the totals' columns (a missing metric counts 0:
    ``0 >= amount`` folds to false, as amounts are positive)."""
    if isinstance(requirement, Leaf):
        column = totals.get(requirement.metric)
        if column is None:
            return true() if requirement.at_least <= 0 else false()
        return column >= literal(requirement.at_least)
    parts = [met_sql(item, totals) for item in requirement.items]
    return or_(*parts) if isinstance(requirement, AnyOf) else and_(*parts)


def qualified_rank_sql(
    model: TierModel,
    held_rank: ColumnElement[Any],
    totals: Columns,
    lifetime: Columns | None = None,
) -> ColumnElement[Any]:
    """The rank ``status.qualified`` gives, as a CASE: the highest level whose lifetime
    requirement the lifetime totals meet, or whose ``requires`` (above ``held_rank``) or
    keep requirement (at or below it) the window totals meet; else 0."""
    whens: list[tuple[ColumnElement[bool], Any]] = []
    for level in reversed(model.levels[1:]):
        reach = met_sql(level.requires, totals) if level.requires is not None else false()
        keep = met_sql(level.keep, totals) if level.keep is not None else false()
        need = case((held_rank >= level.rank, keep), else_=reach)
        condition = need == true()
        if level.lifetime is not None and lifetime is not None:
            condition = or_(met_sql(level.lifetime, lifetime), condition)
        whens.append((condition, literal(level.rank, Integer)))
    if not whens:
        return literal(0, Integer)
    return case(*whens, else_=literal(0, Integer))
