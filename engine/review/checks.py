"""The design checks of the source text, one generator per check.

Each check yields findings with a path inside the programme; the scorecard places them on a
file and line. Passing checks yield an "ok" finding saying what was measured, so a report
shows everything that was checked, not only what failed.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.pricing.points import real_cost_of_points, return_on_spend
from engine.review.assumptions import Assumptions
from engine.review.measure import normalise_number, numbers_in, spoken_length
from engine.review.model import Finding, percent
from engine.review.reading import Document, levels, plain
from engine.review.value import check_benefit_mix, check_catalogue_prices, check_points_feel

WARN_TIERS = 4  # "airlines sometimes add a 4th"
SERIOUS_TIERS = 5  # "5-6 tiers is a design smell"
PITCH_SECONDS = 15
POSTER_TERMS = 7  # about what one reads from 2-3 metres (seven, plus or minus two)
POSTER_TERMS_SERIOUS = 10
SPEND_SAMPLE = 100  # the real cost of points is stated per 100 units of spend
EASY_PER = (1, 10, 100, 1000)  # "1 point per 10" is easy: drop a zero

Check = Callable[[Document, Assumptions], Iterator[Finding]]


def check_tier_count(doc: Document, _: Assumptions) -> Iterator[Finding]:
    count = len(levels(doc))
    if not count:
        return
    path = ("tiers", "levels")
    if count >= SERIOUS_TIERS:
        yield Finding(
            "tiers.count",
            "serious",
            f"{count} tiers: 5 or more is a design smell; members cannot keep them apart",
            path,
            hint="three tiers are enough (Standard, Gold, Platinum)",
            measured={"tiers": str(count)},
        )
    elif count == WARN_TIERS:
        yield Finding(
            "tiers.count",
            "warning",
            "4 tiers: three are enough; a 4th is only worth it with a clear gap to fill",
            path,
            hint="merge two levels, or keep the 4th only if it is plainly named (Silver)",
            measured={"tiers": str(count)},
        )
    else:
        yield Finding("tiers.count", "ok", f"{count} tiers", path, measured={"tiers": str(count)})


# Status words by rank, in English and Chinese (simplified and traditional). A name's rank is
# the highest word it contains, so "白金" (platinum) is not read as "金" (gold).
RANK_WORDS: tuple[tuple[int, str], ...] = (
    (0, r"\b(?:standard|classic|basic|regular|member|essential)|普卡|普通|会员|會員|经典|經典"),
    (1, r"\bbronze|铜|銅"),
    (2, r"\bsilver|银|銀"),
    (3, r"\bgold|金"),
    (4, r"\bplatinum|白金|铂金|鉑金"),
    (5, r"\bdiamond|钻|鑽"),
    (6, r"\bblack|黑卡|黑金"),
)
NUMBERED = re.compile(
    r"(?:\b(?:level|tier|lv|vip|v|l)\s*\.?\s*)(\d+)|(\d+)\s*(?:stars?\b|星|级|級)",
    re.IGNORECASE,
)
CJK_NUMERALS = "一二三四五六七八九十"
CJK_NUMBERED = re.compile(f"([{CJK_NUMERALS}])\\s*(?:星|级|級)")


def tier_rank(name: str) -> tuple[str, int] | None:
    """Where a name says it stands: ("metal", 3) for Gold, ("number", 2) for Level 2."""
    # Numbers first: in "三星会员" (three-star member) the number ranks, not "member".
    if match := NUMBERED.search(name):
        return "number", int(match.group(1) or match.group(2))
    if match := CJK_NUMBERED.search(name):
        return "number", CJK_NUMERALS.index(match.group(1)) + 1
    ranks = [rank for rank, words in RANK_WORDS if re.search(words, name, re.IGNORECASE)]
    return ("metal", max(ranks)) if ranks else None


def check_tier_names(doc: Document, _: Assumptions) -> Iterator[Finding]:
    named = [(i, level["name"], tier_rank(level["name"])) for i, level in enumerate(levels(doc))]
    if len(named) < 2:
        return
    problems = [*_unplaced_names(named), *_names_out_of_order(named)]
    yield from problems
    if not problems:
        order = " < ".join(name for _, name, _ in named)
        yield Finding("tiers.names", "ok", f"names read in order: {order}", ("tiers", "levels"))


def _unplaced_names(named: list[tuple[int, str, Any]]) -> Iterator[Finding]:
    for index, name, rank in named:
        if rank is None:
            yield Finding(
                "tiers.names",
                "warning",
                f"'{name}' does not say where it stands: members cannot tell which level is higher",
                ("tiers", "levels", index, "name"),
                hint="use plain, ordered names: Standard, Gold, Platinum (普卡、金卡、白金卡)",
            )


def _names_out_of_order(named: list[tuple[int, str, Any]]) -> Iterator[Finding]:
    ranked = [(i, name, rank) for i, name, rank in named if rank is not None]
    for (_, lower, low_rank), (index, name, rank) in itertools.pairwise(ranked):
        if rank[0] != low_rank[0]:
            message = f"'{name}' and '{lower}' mix named and numbered levels"
        elif rank[1] <= low_rank[1]:
            message = f"'{name}' is above '{lower}' but its name does not read higher"
        else:
            continue
        yield Finding(
            "tiers.names",
            "serious",
            message,
            ("tiers", "levels", index, "name"),
            hint="order the names the way members already rank them: Silver < Gold < Platinum",
        )


def check_earn_ratio(doc: Document, _: Assumptions) -> Iterator[Finding]:
    earn = doc["earn"]
    code = doc["programme"]["currency"]
    yield from _ratio(earn["points"], earn["per"], code, ("earn", "points"), "the earn rate")
    for index, override in enumerate(earn.get("overrides", [])):
        if "points" in override and "per" in override:
            target = override.get("category") or override.get("sku")
            path = ("earn", "overrides", index)
            what = f"the rate on {target}"
            yield from _ratio(override["points"], override["per"], code, path, what)


def _ratio(
    points: int, per: Decimal, code: str, path: tuple[str | int, ...], what: str
) -> Iterator[Finding]:
    stated = f"{plain(points)} point{'s' if points != 1 else ''} per {plain(per)} {code}"
    simple = Decimal(per) == 1 or (points == 1 and Decimal(per) in EASY_PER)
    if simple:
        yield Finding("earn.ratio", "ok", f"{what} is simple: {stated}", path)
        return
    per_unit = Decimal(points) / Decimal(per)
    yield Finding(
        "earn.ratio",
        "warning",
        f"{what} is hard to work out in your head: {stated} (= {plain(per_unit)} per 1 {code})",
        path,
        hint="write 1 point per 1 unit of currency and set the burn value to keep the same return",
        measured={"points_per_unit": plain(per_unit)},
    )


def check_points_value(doc: Document, assumed: Assumptions) -> Iterator[Finding]:
    burn, earn = doc.get("burn"), doc["earn"]
    if not burn:
        yield Finding(
            "points.value",
            "warning",
            "points cannot be spent (no burn section), so they are worth nothing to members",
            ("earn",),
            hint="add burn: {points: 100, worth: 1} (100 points = 1 unit, 1% back)",
        )
        return
    rate = return_on_spend(
        earn["points"], Decimal(earn["per"]), burn["points"], Decimal(burn["worth"])
    )
    yield _band_finding(rate, assumed, ("burn", "worth"), "the base rate")
    top = max((Decimal(m) for m in earn.get("multipliers", {}).values()), default=Decimal(1))
    if top > 1 and rate * top * 100 > assumed.return_band_percent[1]:
        tier = max(earn["multipliers"], key=lambda t: Decimal(earn["multipliers"][t]))
        yield _band_finding(rate * top, assumed, ("earn", "multipliers", tier), f"{tier} x{top}")


def _band_finding(rate: Decimal, assumed: Assumptions, path: Any, what: str) -> Finding:
    low, high = assumed.return_band_percent
    source = "stated" if assumed.is_stated("return_band_percent") else "default"
    band = f"{plain(low)}% to {plain(high)}% ({source})"
    measured = {"return_on_spend": percent(rate), "band": band}
    shown = f"points at {what} give back {percent(rate)} of spend"
    if rate * 100 < low:
        return Finding(
            "points.value",
            "warning",
            f"{shown}, below the band {band}: too little for members to notice",
            path,
            hint="raise the burn value (e.g. 50 points = 1 unit) or the earn rate",
            measured=measured,
        )
    if rate * 100 > high:
        return Finding(
            "points.value",
            "warning",
            f"{shown}, above the band {band}: more than the margin was meant to give",
            path,
            hint="lower the burn value or the multiplier, or widen the band if it is intended",
            measured=measured,
        )
    return Finding(
        "points.value", "ok", f"{shown}, within the band {band}", path, measured=measured
    )


def check_expiry(doc: Document, _: Assumptions) -> Iterator[Finding]:
    expiry = doc.get("expiry", {})
    rush_hint = "prefer rolling expiry (rolling: {days: 365}): expiries spread over the year"
    if "calendar" in expiry:
        yield Finding(
            "expiry.calendar",
            "warning",
            f"points expire on 31 December {_years_after(expiry['calendar']['years_after'])}: "
            "expect a year-end redemption rush",
            ("expiry", "calendar"),
            hint=rush_hint + ", and each expiry is a reason to contact the member",
        )
    elif "fixed_date" in expiry:
        yield Finding(
            "expiry.calendar",
            "warning",
            f"every point expires on one day ({expiry['fixed_date']}): expect a redemption rush",
            ("expiry", "fixed_date"),
            hint=rush_hint,
        )
    elif expiry:
        kind = next((k for k in ("rolling", "end_of_month") if k in expiry), "inactivity")
        message = f"{_spread(kind, expiry[kind])}: expiries spread over the year"
        yield Finding("expiry.calendar", "ok", message, ("expiry", kind))
    else:
        yield Finding(
            "expiry.calendar",
            "info",
            "points never expire: no year-end rush, but no expiry reminders to contact members",
            ("earn",),
        )


def _spread(kind: str, rule: Mapping[str, Any]) -> str:
    if kind == "rolling":
        amount, unit = (rule["days"], "days") if "days" in rule else (rule["months"], "months")
        return f"points expire {amount} {unit} after they are earned (rolling)"
    if kind == "end_of_month":
        return f"points expire at the end of the month, {rule['months_after']} months later"
    return f"the balance lapses after {rule['months']} months without a purchase"


def _years_after(years: int) -> str:
    if years == 0:
        return "of the year they are earned"
    if years == 1:
        return "of the year after they are earned"
    return f"{years} years after the year they are earned"


def check_qualifying_metric(doc: Document, _: Assumptions) -> Iterator[Finding]:
    qualifying = doc.get("tiers", {}).get("qualifying")
    if qualifying is None:
        return
    declared = doc["tiers"].get("metrics")
    if declared:
        yield from _declared_metrics(declared)
        return
    components = qualifying.get("components", [])
    metric = qualifying.get("metric", "spend")
    if len(components) >= 2:
        yield Finding(
            "tiers.metric",
            "warning",
            f"a composite qualifying metric of {len(components)} parts "
            f"({', '.join(components)}): members cannot count their own progress",
            ("tiers", "qualifying", "components"),
            hint="qualify on one simple metric: spend over the period",
        )
    elif metric != "spend":
        yield Finding(
            "tiers.metric",
            "info",
            f"tiers qualify on {metric}; the design notes recommend spend for retail",
            ("tiers", "qualifying"),
        )
    else:
        yield Finding("tiers.metric", "ok", "one simple metric: spend", ("tiers", "qualifying"))


def _declared_metrics(declared: Mapping[str, Any]) -> Iterator[Finding]:
    """``tiers.metrics`` (§24): past two metrics members cannot follow their own progress."""
    path = ("tiers", "metrics")
    names = ", ".join(declared)
    if len(declared) > 2:
        yield Finding(
            "tiers.metric",
            "warning",
            f"tiers count {len(declared)} metrics ({names}): members cannot count their own "
            "progress",
            path,
            hint="qualify on one or two simple metrics (nights OR stays, spend)",
        )
    elif all(raw.get("kind") == "spend" for raw in declared.values()):
        yield Finding("tiers.metric", "ok", "one simple metric: spend", path)
    else:
        yield Finding(
            "tiers.metric",
            "info",
            f"tiers qualify on {names}; the till shows the closest path to the next tier",
            path,
        )


def check_pitch(doc: Document, assumed: Assumptions) -> Iterator[Finding]:
    wpm, cpm = assumed.words_per_minute, assumed.characters_per_minute
    spoken = spoken_length(doc["programme"]["pitch"], wpm, cpm)
    parts = [f"{spoken.characters} characters at {cpm} characters/min"]
    if spoken.words or not spoken.characters:  # mixed text counts both; say what was counted
        parts.insert(0, f"{spoken.words} words at {wpm} words/min")
    counted = " + ".join(parts if spoken.characters else parts[:1])
    measured = {
        "seconds": str(spoken.seconds.quantize(Decimal("0.1"), ROUND_HALF_UP)),
        "words": str(spoken.words),
        "characters": str(spoken.characters),
        "words_per_minute": str(wpm),
        "characters_per_minute": str(cpm),
    }
    path = ("programme", "pitch")
    if spoken.seconds > PITCH_SECONDS:
        yield Finding(
            "pitch.length",
            "warning",
            f"the pitch takes {spoken.shown} to say ({counted}); a clerk has {PITCH_SECONDS} s",
            path,
            hint="keep the one highlight a clerk can say in a breath; move the rest to the poster",
            measured=measured,
        )
    else:
        message = f"the pitch takes {spoken.shown} to say ({counted}), within {PITCH_SECONDS} s"
        yield Finding("pitch.length", "ok", message, path, measured=measured)


def poster_terms(doc: Document) -> list[str]:
    """What one poster must print: the pitch's figures, each tier's name, each tier's
    headline figures (its discount and its fee). The same figure counts once."""
    terms = numbers_in(doc["programme"]["pitch"])
    for level in levels(doc):
        terms.append(level["name"])
        for benefit in level.get("benefits", []):
            if benefit["kind"] == "discount" and "percent" in benefit:
                terms.append(normalise_number(f"{benefit['percent']}%"))
        if "paid" in level:
            terms.append(normalise_number(str(level["paid"]["fee"])))
    return list(dict.fromkeys(terms))


def check_poster(doc: Document, _: Assumptions) -> Iterator[Finding]:
    terms = poster_terms(doc)
    count = len(terms)
    listed = ", ".join(terms)
    rule = f"at most {POSTER_TERMS} headline terms"
    measured = {"terms": str(count), "limit": str(POSTER_TERMS)}
    path = ("programme", "pitch")
    if count <= POSTER_TERMS:
        message = f"{count} headline terms fit one poster ({rule}): {listed}"
        yield Finding("poster.terms", "ok", message, path, measured=measured)
        return
    yield Finding(
        "poster.terms",
        "serious" if count > POSTER_TERMS_SERIOUS else "warning",
        f"{count} headline terms for one poster ({rule}): {listed}",
        path,
        hint="cut figures from the pitch or merge tier benefits until the poster reads at 2-3 m",
        measured=measured,
    )


def check_real_cost(doc: Document, assumed: Assumptions) -> Iterator[Finding]:
    burn, earn = doc.get("burn"), doc["earn"]
    code = doc["programme"]["currency"]
    if not burn:
        return  # points.value already says points are worth nothing
    points = math.floor(Decimal(earn["points"]) * SPEND_SAMPLE / Decimal(earn["per"]))
    perceived = Decimal(points) * Decimal(burn["worth"]) / burn["points"]
    rate = assumed.redemption_rate_percent / 100
    cogs = assumed.cost_of_goods_percent / 100
    cost = real_cost_of_points(points, burn["points"], Decimal(burn["worth"]), rate, cogs)
    both = assumed.is_stated("redemption_rate_percent") and assumed.is_stated(
        "cost_of_goods_percent"
    )
    working = (
        f"{points:,} points on {SPEND_SAMPLE} {code} of spend are perceived as "
        f"{_money(perceived)} {code}; ({_money(perceived)} / 2) x "
        f"{plain(assumed.redemption_rate_percent)}% redeemed x "
        f"{plain(assumed.cost_of_goods_percent)}% cost of goods = {_money(cost)} {code}"
    )
    yield Finding(
        "points.real_cost",
        "info" if both else "warning",
        f"real cost of points: {_money(cost)} {code} per {SPEND_SAMPLE} {code} of spend "
        f"({working})",
        ("review", "assumptions") if "review" in doc else ("burn",),
        hint=None if both else DEFAULTS_HINT,
        measured={
            "points_per_100": str(points),
            "perceived_value": _money(perceived),
            "real_cost_per_100": str(cost),
            "currency": code,
        },
    )


def check_review_section(doc: Document, _: Assumptions) -> Iterator[Finding]:
    if "review" not in doc:
        yield Finding(
            "review.section",
            "warning",
            "the proposal has no review section: no claims to weigh and no assumptions, so "
            "defaults were used",
            ("programme",),
            hint="add review: with claims for the six principles and your assumptions",
        )


DEFAULTS_HINT = (
    "state redemption_rate_percent and cost_of_goods_percent in review.assumptions; "
    "the domain's example figures (80%, 75%) were used"
)


def _money(value: Decimal) -> str:
    """Two decimals, or three when a small amount would otherwise lose its last figure."""
    shown = value.quantize(Decimal("0.01"), ROUND_HALF_UP)
    if shown != value and value < 1:
        shown = value.quantize(Decimal("0.001"), ROUND_HALF_UP)
    return f"{shown:f}"


CHECKS: tuple[Check, ...] = (
    check_review_section,
    check_tier_count,
    check_tier_names,
    check_qualifying_metric,
    check_earn_ratio,
    check_points_value,
    check_points_feel,
    check_catalogue_prices,
    check_real_cost,
    check_expiry,
    check_pitch,
    check_poster,
    check_benefit_mix,
)


def design_findings(doc: Mapping[str, Any], assumed: Assumptions) -> Iterator[Finding]:
    for check in CHECKS:
        yield from check(doc, assumed)
