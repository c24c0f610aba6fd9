"""Small readers over a merged, schema-valid programme document.

The review reads the programme's own structure (rules, campaigns, benefits) rather than its
prose, so these helpers answer structural questions: which offers exist, what a condition's
lower bound is, how long a window lasts, whether dates recur monthly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeGuard

from engine.policy.problems import Path

Document = Mapping[str, Any]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A pattern needs this many repeats before it is a habit rather than a few special days.
MIN_MONTHLY_REPEATS = 3
# A recurring deal inside a shorter window is a promotion, not a habit.
MIN_HABIT_WINDOW_DAYS = 56


@dataclass(frozen=True)
class Offer:
    """A rule, a campaign or a campaign group: something with a condition that gives."""

    path: Path
    label: str
    when: Mapping[str, Any]
    window: Mapping[str, Any] | None
    limit: Mapping[str, Any] | None
    is_rule: bool


def offers(doc: Document) -> Iterator[Offer]:
    """Every rule, campaign and campaign group, in document order."""
    for index, rule in enumerate(doc.get("rules", [])):
        yield Offer(
            ("rules", index),
            f"rule '{rule['id']}' ({rule['name']})",
            rule.get("when") or {},
            rule.get("window"),
            rule.get("limit"),
            True,
        )
    for index, campaign in enumerate(doc.get("campaigns", [])):
        path: Path = ("campaigns", index)
        label = f"campaign '{campaign['id']}' ({campaign['name']})"
        window, limit = campaign.get("window"), campaign.get("limit")
        yield Offer(path, label, campaign.get("when") or {}, window, limit, False)
        for g, group in enumerate(campaign.get("groups", [])):
            yield Offer(
                (*path, "groups", g),
                f"campaign '{campaign['id']}' group '{group['id']}'",
                group.get("when") or {},
                window,
                limit,
                False,
            )


def levels(doc: Document) -> list[Mapping[str, Any]]:
    return list(doc.get("tiers", {}).get("levels", []))


def benefits(doc: Document) -> Iterator[tuple[Path, int, Mapping[str, Any], Mapping[str, Any]]]:
    """(path, level index, level, benefit) for every benefit of every level."""
    for index, level in enumerate(levels(doc)):
        for b, benefit in enumerate(level.get("benefits", [])):
            yield ("tiers", "levels", index, "benefits", b), index, level, benefit


def lower_bound(test: Any) -> Decimal | None:
    """The smallest value a test accepts (``{gte: 200}`` → 200), or None if unbounded."""
    if isinstance(test, Mapping):
        candidates = [test.get("gte"), test.get("gt"), test.get("eq")]
        if isinstance(test.get("between"), list):
            candidates.append(test["between"][0])
        if isinstance(test.get("in"), list):
            candidates.append(min(test["in"], default=None))
        numbers = [Decimal(c) for c in candidates if _is_number(c)]
        return max(numbers) if numbers else None
    if isinstance(test, list):
        numbers = [Decimal(c) for c in test if _is_number(c)]
        return min(numbers) if numbers else None
    return Decimal(test) if _is_number(test) else None


def upper_bound(test: Any) -> Decimal | None:
    """The largest value a test accepts (``{between: [1, 14]}`` → 14), or None."""
    if isinstance(test, Mapping):
        candidates = [test.get("lte"), test.get("lt"), test.get("eq")]
        if isinstance(test.get("between"), list):
            candidates.append(test["between"][1])
        numbers = [Decimal(c) for c in candidates if _is_number(c)]
        return min(numbers) if numbers else None
    return lower_bound(test) if not isinstance(test, list) else None


def _is_number(value: Any) -> TypeGuard[int | Decimal]:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def window_days(window: Mapping[str, Any] | None) -> int | None:
    """Days a window lasts (both ends included), or None when always live or unreadable."""
    if not window:
        return None
    try:
        start = date.fromisoformat(str(window["from"])[:10])
        end = date.fromisoformat(str(window["until"])[:10])
    except (KeyError, ValueError):
        return None
    return (end - start).days + 1


def lasts_long_enough(window: Mapping[str, Any] | None) -> bool:
    days = window_days(window)
    return days is None or days >= MIN_HABIT_WINDOW_DAYS


def weekdays(test: Any) -> list[str]:
    """The weekdays a ``weekday`` test names (a value or a list)."""
    values = test if isinstance(test, list) else [test]
    return [str(v) for v in values if str(v) in WEEKDAYS]


def listed_dates(test: Any) -> list[date]:
    """The dates a ``date`` test lists (a value, a list or ``{in: [...]}``)."""
    if isinstance(test, Mapping):
        test = test.get("in", test.get("eq", []))
    values = test if isinstance(test, list) else [test]
    found = []
    for value in values:
        try:
            found.append(date.fromisoformat(str(value)))
        except ValueError:
            continue
    return found


def monthly_day(test: Any) -> int | None:
    """The day of the month a date list repeats on, in enough different months, or None."""
    days: Counter[int] = Counter()
    for day in {(d.year, d.month, d.day) for d in listed_dates(test)}:
        days[day[2]] += 1
    common = days.most_common(1)
    if common and common[0][1] >= MIN_MONTHLY_REPEATS:
        return common[0][0]
    return None


def is_one_off(limit: Mapping[str, Any] | None) -> bool:
    """A limit of once ever (a sign-up gift) does not bring anyone back twice."""
    return bool(limit and limit.get("period") == "ever" and limit.get("per_member") == 1)


def plain(value: Decimal | int) -> str:
    """A number as a reader writes it: 200.00 → '200', 1.5 → '1.5', 3000 → '3,000'."""
    return f"{Decimal(value).normalize():,f}"
