"""The holidays a programme declares, checked beyond the schema: real days, unique ids, and
greeting triggers that name declared holidays."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from engine.policy.extensions import register_check
from engine.policy.problems import Problem

LEAP_YEAR = 2024  # a fixed MM-DD is a real day if it exists in a leap year (29 February does)


@register_check
def holiday_problems(doc: Mapping[str, Any]) -> Iterator[Problem]:
    declared: dict[str, int] = {}
    for index, holiday in enumerate(doc.get("holidays", [])):
        path = ("holidays", index)
        if holiday["id"] in declared:
            yield Problem(
                f"holiday id '{holiday['id']}' is declared twice",
                (*path, "id"),
                hint=f"the first is holidays[{declared[holiday['id']]}]",
            )
        declared.setdefault(holiday["id"], index)
        if "date" in holiday and not _real_day(holiday["date"]):
            yield Problem(f"'{holiday['date']}' is not a day of the year", (*path, "date"))
    for index, trigger in enumerate(doc.get("outreach", [])):
        for h, name in enumerate(trigger.get("holidays", [])):
            if trigger["trigger"] == "holiday" and name not in declared:
                known = ", ".join(declared) or "none are declared"
                yield Problem(
                    f"holiday '{name}' is not declared in the programme's holidays",
                    ("outreach", index, "holidays", h),
                    hint=f"declared holidays: {known}",
                )


def _real_day(month_day: str) -> bool:
    month, day = (int(part) for part in month_day.split("-"))
    try:
        date(LEAP_YEAR, month, day)
    except ValueError:
        return False
    return True
