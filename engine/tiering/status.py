"""How long status lasts, and what one member's tier becomes at a review.

``decide`` is the whole review for one member, in plain Python; the ledger's set-based SQL
review must give the same answers (the differential test in the wiring phase compares them).
"""

from __future__ import annotations

import calendar as stdcal
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from engine.calendar import add_months, status_valid_until
from engine.tiering.model import Level, TierModel
from engine.tiering.requirements import Totals, met
from engine.tiering.windows import NO_ANCHORS, Anchors, next_window, window_of

ONE_DAY = timedelta(days=1)
LEGACY_PERIOD = {"calendar_year": "calendar_year", "rolling_months": "rolling_12_months"}

Reason = Literal[
    "placed", "upgraded", "renewed", "lifetime", "unchanged", "soft_landing", "dropped", "kept"
]


@dataclass(frozen=True)
class Held:
    """A member's status before the review."""

    tier: str | None
    valid_until: date | None  # None: never runs out (the base level, by hand, lifetime)
    since: date | None = None


@dataclass(frozen=True)
class Decision:
    """The member's status from ``effective`` on."""

    tier: str
    effective: date
    valid_until: date | None
    reason: Reason

    def changes(self, held: Held) -> bool:
        return (self.tier, self.valid_until) != (held.tier, held.valid_until)


def valid_until(model: TierModel, earned_on: date, anchors: Anchors = NO_ANCHORS) -> date:
    """The last day a tier earned on ``earned_on`` (a sale's day, or the review's day) lasts."""
    rule = model.validity
    if rule.kind == "legacy":
        period = LEGACY_PERIOD.get(model.window.kind, "anniversary_year")
        return status_valid_until(
            earned_on,
            rule.legacy_rule,  # type: ignore[arg-type]
            period,  # type: ignore[arg-type]
            joined=anchors.joined,
            through=rule.legacy_through,  # type: ignore[arg-type]
        )
    if rule.kind == "fixed_date":
        year = window_of(model.window, earned_on, anchors)[1].year + rule.years
        last = stdcal.monthrange(year, rule.month)[1]
        return date(year, rule.month, min(rule.day or last, last))
    if rule.kind == "months_from_upgrade":
        month = add_months(earned_on.replace(day=1), rule.months)
        return date(month.year, month.month, stdcal.monthrange(month.year, month.month)[1])
    if rule.kind == "until_next_review":
        return window_of(model.window, earned_on + ONE_DAY, anchors)[1]
    # rest_of_year_and_next: to the end of the year-like window after the one earned in.
    if model.window.kind in ("rolling_months", "calendar_months"):
        return date(earned_on.year + 1, 12, 31)
    return next_window(model.window, earned_on, anchors)[1]


def qualified(
    model: TierModel, held: str | None, totals: Totals, lifetime: Totals | None = None
) -> tuple[Level, bool]:
    """The highest level the totals give a member holding ``held``, and whether it is a
    lifetime one. Reaching a level above ``held`` needs ``requires``; keeping ``held`` or a
    level below it needs ``requalify`` (or ``requires`` when none is stated)."""
    rank = model.level(held).rank if held in model.order else -1
    for level in reversed(model.levels):
        if level.lifetime is not None and lifetime is not None and met(level.lifetime, lifetime):
            return level, True
        need = level.keep if level.rank <= rank else level.requires
        if need is not None and met(need, totals):
            return level, False
    return model.levels[0], False


def decide(
    model: TierModel,
    held: Held,
    review: date,
    totals: Totals,
    anchors: Anchors = NO_ANCHORS,
    lifetime: Totals | None = None,
) -> Decision:
    """One member's review on ``review`` (the last day of the window ``totals`` cover).

    Qualifying for ``held`` or higher renews or upgrades from the day after. A status still
    valid after ``review`` is kept. One that ran out drops per ``downgrade``: to the qualified
    level, or one level at most (a *soft landing*, kept to the end of the next window), or
    never; a grace of N months moves the drop's effective day N months past the end of status.
    """
    following = review + ONE_DAY
    current = model.level(held.tier) if held.tier in model.order else None
    level, forever = qualified(model, held.tier, totals, lifetime)
    base = model.levels[0]
    until = None if level is base or forever else valid_until(model, review, anchors)
    if until is not None and until <= review:
        # Status earned on this window would end with it (today's end_of_period): the
        # review places nobody above the base level by it.
        level, until = base, None
    if current is None or level.rank >= current.rank:
        if forever:
            return Decision(level.id, following, None, "lifetime")
        if current is None:
            return Decision(level.id, following, until, "placed")
        if level.rank > current.rank:
            return Decision(level.id, following, until, "upgraded")
        if held.valid_until is None or (until is not None and held.valid_until > until):
            until = held.valid_until  # renewing never shortens a longer status
        return Decision(level.id, following, until, "renewed")
    if held.valid_until is None or held.valid_until > review:
        return Decision(current.id, following, held.valid_until, "unchanged")
    return _drop(model, current, level, held.valid_until, following, anchors)


def _drop(
    model: TierModel,
    current: Level,
    level: Level,
    ran_out: date,
    following: date,
    anchors: Anchors,
) -> Decision:
    rule = model.downgrade
    effective = max(following, add_months(ran_out + ONE_DAY, rule.grace_months))
    if rule.to == "never":
        return Decision(current.id, following, None, "kept")
    if rule.to == "one_level" and current.rank - 1 > level.rank:
        landing = model.levels[current.rank - 1]
        # The courtesy status lasts to the end of the window the drop takes effect in.
        until = window_of(model.window, effective, anchors)[1]
        return Decision(landing.id, effective, until, "soft_landing")
    kept_until = None if level.rank == 0 else valid_until(model, following - ONE_DAY, anchors)
    return Decision(level.id, effective, kept_until, "dropped")


def reinstated(
    model: TierModel,
    lost: str,
    dropped_on: date,
    today: date,
    totals: Totals,
    anchors: Anchors = NO_ANCHORS,
) -> Decision | None:
    """The level ``lost`` back, if the member now meets what keeping it needs, within
    ``reinstate_months`` of the drop; None otherwise. Status then runs as if earned today."""
    months = model.downgrade.reinstate_months
    level = model.level(lost)
    if months == 0 or level.keep is None or today >= add_months(dropped_on, months):
        return None
    if not met(level.keep, totals):
        return None
    return Decision(level.id, today, valid_until(model, today, anchors), "renewed")
