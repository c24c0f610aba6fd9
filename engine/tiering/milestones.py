"""Milestones: a bonus each time a metric's window total crosses an amount, paid once."""

from __future__ import annotations

from decimal import Decimal

from engine.tiering.model import Milestone


def crossings(milestone: Milestone, before: Decimal, after: Decimal) -> tuple[Decimal, ...]:
    """The milestone amounts crossed going from ``before`` to ``after`` (``before < a ≤ after``).

    A fall (a return) crosses nothing; the ledger records each amount paid in the window, so
    a total that falls and rises again does not pay twice.
    """
    if after <= before:
        return ()
    if milestone.every is None:
        return tuple(a for a in milestone.at if before < a <= after)
    step, start = milestone.every, milestone.after
    top = after if milestone.up_to is None else min(after, milestone.up_to)
    # The first multiple of ``step`` above ``start`` that is also above ``before``.
    first = start + step * max(Decimal(1), ((before - start) // step) + 1)
    found = []
    amount = first
    while amount <= top:
        found.append(amount)
        amount += step
    return tuple(found)
