"""Semantic checks for the extended tier language (metrics, requirements, windows, validity,
downgrade, milestones, tier-restricted rewards) — what the JSON Schema cannot say.

The document is schema-valid when these run. Registered in ``semantic.CHECKS``.
"""

from __future__ import annotations

import calendar as stdcal
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from engine.money import currency, is_known_currency
from engine.policy.problems import Path, Problem

Document = Mapping[str, Any]
WHOLE_KINDS = {
    "nights": "nights",
    "stays": "stays",
    "segments": "segments",
    "counter": "counts",
    "points": "points",
}
WINDOW_FIELDS = {
    "start_month": ("year_from_month",),
    "months": ("rolling_months", "calendar_months", "review_anchored"),
    "from": ("membership_year",),
}
VALIDITY_FIELDS = {
    "month": ("fixed_date",),
    "day": ("fixed_date",),
    "years": ("fixed_date",),
    "months": ("months_from_upgrade",),
}


def check_tier_language(doc: Document) -> Iterator[Problem]:
    """Every check of the extended tier syntax; nothing to say about today's syntax."""
    tiers = doc.get("tiers")
    if not tiers:
        return
    kinds = metric_kinds(tiers)
    yield from _metric_fields(tiers.get("metrics", {}))
    yield from _qualifying(tiers)
    yield from _levels(doc, tiers, kinds)
    yield from _validity(tiers)
    yield from _downgrade(tiers)
    yield from _milestones(tiers, kinds)
    yield from _reward_tiers(doc, [level["id"] for level in tiers["levels"]])


def metric_kinds(tiers: Mapping[str, Any]) -> dict[str, str]:
    """Declared metrics by id → kind; today's syntax declares one, ``qualifying.metric``."""
    declared = tiers.get("metrics")
    if declared:
        return {name: raw["kind"] for name, raw in declared.items()}
    metric = tiers.get("qualifying", {}).get("metric", "spend")
    return {metric: "counter" if metric == "visits" else metric}


def _metric_fields(metrics: Mapping[str, Any]) -> Iterator[Problem]:
    for name, raw in metrics.items():
        path: Path = ("tiers", "metrics", name)
        kind = raw["kind"]
        if "points" in raw and kind != "points":
            yield Problem(
                f"'points: {raw['points']}' only applies to a points metric, not {kind}",
                (*path, "points"),
                hint="remove it, or write kind: points",
            )
        if kind in ("spend", "points", "stays") and {"quantity", "per"} & raw.keys():
            yield Problem(
                f"a {kind} metric is computed by the engine, so it reads no quantity",
                path,
                hint="quantity and per are for nights, segments, distance and counters",
            )


def _qualifying(tiers: Mapping[str, Any]) -> Iterator[Problem]:
    qualifying = tiers["qualifying"]
    if "metrics" in tiers and "metric" in qualifying:
        yield Problem(
            "qualifying.metric and tiers.metrics both say what is counted",
            ("tiers", "qualifying", "metric"),
            hint="with tiers.metrics declared, remove qualifying.metric",
        )
    window = qualifying.get("window")
    if window:
        yield from _fields_for(window, WINDOW_FIELDS, ("tiers", "qualifying", "window"))
        if window["kind"] == "year_from_month" and "start_month" not in window:
            yield Problem(
                "a year starting on a given month needs start_month",
                ("tiers", "qualifying", "window"),
                hint="e.g. start_month: 4 for April to March",
            )


def _fields_for(
    section: Mapping[str, Any], allowed: Mapping[str, tuple[str, ...]], path: Path
) -> Iterator[Problem]:
    for name, kinds in allowed.items():
        if name in section and section["kind"] not in kinds:
            yield Problem(
                f"'{name}' does not apply to kind {section['kind']}",
                (*path, name),
                hint=f"'{name}' is for kind {' or '.join(kinds)}",
            )


def _levels(doc: Document, tiers: Mapping[str, Any], kinds: Mapping[str, str]) -> Iterator[Problem]:
    exponent = _exponent(doc)
    for index, level in enumerate(tiers["levels"]):
        path: Path = ("tiers", "levels", index)
        if "requires" in level and "threshold" in level:
            yield Problem(
                f"level '{level['id']}' has both threshold and requires: say it once",
                (*path, "requires"),
                hint="threshold: {amount: N} means requires: {metric: <metric>, at_least: N}",
            )
        if index == 0 and {"requires", "requalify", "lifetime"} & level.keys():
            yield Problem(
                "the first level is where every member starts, so it takes no requirement",
                path,
            )
        if level.get("invitation_only") and "requires" in level:
            yield Problem(
                f"level '{level['id']}' is invitation-only, so its 'requires' is never used",
                (*path, "requires"),
                severity="warning",
                hint="remove invitation_only to let members reach it by their totals",
            )
        for key in ("requires", "requalify", "lifetime"):
            if key in level:
                yield from _requirement(level[key], (*path, key), kinds, exponent)
        yield from _hysteresis(level, path)


def _requirement(
    raw: Mapping[str, Any], path: Path, kinds: Mapping[str, str], exponent: int
) -> Iterator[Problem]:
    for key in ("any_of", "all_of"):
        for index, item in enumerate(raw.get(key, ())):
            yield from _requirement(item, (*path, key, index), kinds, exponent)
    if "metric" not in raw:
        return
    yield from _amount(raw["metric"], raw["at_least"], (*path, "at_least"), kinds, exponent)
    if raw["metric"] not in kinds:
        yield Problem(
            f"unknown metric '{raw['metric']}'",
            (*path, "metric"),
            hint=f"declared metrics: {', '.join(kinds)}",
            code="reference",
        )


def _amount(
    metric: str, amount: Any, path: Path, kinds: Mapping[str, str], exponent: int
) -> Iterator[Problem]:
    kind = kinds.get(metric)
    value = Decimal(str(amount))
    if kind in WHOLE_KINDS and value != value.to_integral_value():
        yield Problem(
            f"{metric} is counted in whole {WHOLE_KINDS[kind]}, so {amount} is ambiguous",
            path,
            hint=f"write a whole number, e.g. {int(value)} or {int(value) + 1}",
        )
    if kind == "spend" and -value.as_tuple().exponent > exponent:  # type: ignore[operator]
        yield Problem(
            f"{amount} has more decimals than the currency has",
            path,
            hint=f"write at most {exponent} decimals",
        )


def _hysteresis(level: Mapping[str, Any], path: Path) -> Iterator[Problem]:
    """Keeping a level should never need more than reaching it (two plain leaves compared)."""
    reach, keep = level.get("requires", {}), level.get("requalify", {})
    same = reach.get("metric") and reach.get("metric") == keep.get("metric")
    if same and Decimal(str(keep["at_least"])) > Decimal(str(reach["at_least"])):
        yield Problem(
            f"keeping '{level['id']}' needs more than reaching it",
            (*path, "requalify", "at_least"),
            severity="warning",
            hint="requalify is usually lower than requires (e.g. 40 to reach, 30 to keep)",
        )


def _validity(tiers: Mapping[str, Any]) -> Iterator[Problem]:
    validity = tiers.get("validity")
    if not validity:
        return
    path: Path = ("tiers", "validity")
    for old in ("status_lasts", "status_through"):
        if old in tiers:
            yield Problem(
                f"{old} and validity both say how long status lasts",
                ("tiers", old),
                hint="keep validity and remove " + old,
            )
    yield from _fields_for(validity, VALIDITY_FIELDS, path)
    kind = validity["kind"]
    if kind == "fixed_date" and "month" not in validity:
        yield Problem("a fixed end date needs month", path, hint="e.g. month: 2 for February")
    if kind == "fixed_date" and "day" in validity and "month" in validity:
        longest = stdcal.monthrange(2024, validity["month"])[1]
        if validity["day"] > longest or (validity["month"], validity["day"]) == (2, 29):
            yield Problem(
                f"day {validity['day']} is not in every year's month {validity['month']}",
                (*path, "day"),
                hint="leave out day to mean the month's last day",
            )
    window = tiers["qualifying"].get("window", {}).get("kind") or tiers["qualifying"].get("period")
    if kind == "rest_of_year_and_next" and window in (
        "rolling_months",
        "calendar_months",
        "rolling_12_months",
    ):
        yield Problem(
            "with a rolling window, 'rest of this year and all of next' means calendar years",
            (*path, "kind"),
            severity="warning",
            hint="status then lasts to 31 December of the year after it was earned",
        )


def _downgrade(tiers: Mapping[str, Any]) -> Iterator[Problem]:
    rule = tiers.get("downgrade")
    if not isinstance(rule, Mapping):
        return
    keeps = any(
        {"requires", "requalify"} & level.keys() or "threshold" in level
        for level in tiers["levels"][1:]
    )
    if rule.get("reinstate_months") and not keeps:
        yield Problem(
            "reinstatement needs a level that can be kept by the member's totals",
            ("tiers", "downgrade", "reinstate_months"),
        )
    if rule["to"] == "never" and {"grace_months", "reinstate_months"} & rule.keys():
        yield Problem(
            "a member who is never downgraded needs no grace or reinstatement",
            ("tiers", "downgrade"),
            severity="warning",
        )


def _milestones(tiers: Mapping[str, Any], kinds: Mapping[str, str]) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, milestone in enumerate(tiers.get("milestones", ())):
        path: Path = ("tiers", "milestones", index)
        if milestone["id"] in seen:
            yield Problem(f"milestone id '{milestone['id']}' is used twice", (*path, "id"))
        seen.add(milestone["id"])
        if milestone["metric"] not in kinds:
            yield Problem(
                f"unknown metric '{milestone['metric']}'",
                (*path, "metric"),
                hint=f"declared metrics: {', '.join(kinds)}",
                code="reference",
            )
            continue
        for key in ("every", "after", "up_to"):
            if key in milestone:
                yield from _amount(milestone["metric"], milestone[key], (*path, key), kinds, 99)
        for i, amount in enumerate(milestone.get("at", ())):
            yield from _amount(milestone["metric"], amount, (*path, "at", i), kinds, 99)
        if "at" in milestone and {"after", "up_to"} & milestone.keys():
            yield Problem(
                "after and up_to go with every, not with a list of amounts",
                path,
                hint="write at: [10, 20, 30] or every: 5 with after: 30",
            )


def _reward_tiers(doc: Document, known: list[str]) -> Iterator[Problem]:
    for index, reward in enumerate(doc.get("burn", {}).get("catalogue", ())):
        for i, tier in enumerate(reward.get("tiers", ())):
            if tier not in known:
                yield Problem(
                    f"unknown tier '{tier}'",
                    ("burn", "catalogue", index, "tiers", i),
                    hint=f"known tiers: {', '.join(known)}",
                    code="reference",
                )


def _exponent(doc: Document) -> int:
    code = doc.get("programme", {}).get("currency", "")
    return currency(code).exponent if is_known_currency(code) else 2
