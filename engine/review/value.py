"""What points and benefits are worth to a member, checked as strictly as the domain notes.

Three checks: points that *feel* worthless (a point worth a ten-thousandth of a yuan) or are
too slow to collect (1 point per 100 yuan); catalogue rewards priced above what their points
are worth at the stated burn value; and the mix of benefits by source (internal/external) and
cost (hard/soft), since the notes advise seeking external and soft benefits.

``concrete_gain`` and ``points_worth_something`` serve the "reason to join" principle: a pitch
must state the gain (an amount, a rate or a named benefit), and the points must be worth
something at the stated burn value.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from engine.pricing.points import return_on_spend
from engine.review.assumptions import Assumptions
from engine.review.measure import numbers_in
from engine.review.model import Finding
from engine.review.reading import Document, benefits, levels, plain

# A point worth less than this (in units of the programme's currency) feels like nothing:
# a member sees thousands of points and learns they buy one yuan. 100 points = 1 yuan gives
# 0.01 a point; 1,000 points = 1 yuan is the edge.
WORTHLESS_POINT = Decimal("0.001")
# Fewer points than this per unit of spend are too slow to collect: 1 point per 100 yuan
# means a 50-yuan basket earns nothing the member can see.
SLOW_POINTS_PER_UNIT = Decimal("0.1")
# Points give back less than this share of spend: not worth anything to a new member.
MIN_RETURN = Decimal("0.001")
# A catalogue price this much above the points' burn value is inflated; twice is serious.
INFLATED = Decimal("1.05")
INFLATED_SERIOUS = Decimal(2)
MIX_AXES = {"source": ("internal", "external"), "cost": ("hard", "soft")}
ADVISED = {"source": "external", "cost": "soft"}
# Words that name a concrete benefit in a pitch (English and Chinese): "free delivery",
# "a lounge", "生日礼"… A pitch of "Hello." or "Join and save." names none.
NAMED_BENEFIT = re.compile(
    r"\bfree\s+\w+|\bdiscounts?\b|\b\w+\s+off\b|\blounge|\bbirthday\s+(?:gift|treat|cake)|"
    r"\bdelivery|\bparking|\bupgrade|\bcashback|免费|折|减|赠|送|礼|包邮|贵宾|積分|积分抵",
    re.IGNORECASE,
)


def point_value(doc: Document) -> Decimal | None:
    """What one point is worth at the burn value (None without a burn section)."""
    burn = doc.get("burn")
    return Decimal(str(burn["worth"])) / burn["points"] if burn else None


def points_per_unit(doc: Document) -> Decimal:
    earn = doc["earn"]
    return Decimal(earn["points"]) / Decimal(str(earn["per"]))


def points_worth_something(doc: Document) -> bool:
    """Points that are spendable, worth a visible amount each, and give back something."""
    value, burn = point_value(doc), doc.get("burn")
    if value is None or burn is None or value < WORTHLESS_POINT:
        return False
    earn = doc["earn"]
    rate = return_on_spend(
        earn["points"], Decimal(str(earn["per"])), burn["points"], Decimal(str(burn["worth"]))
    )
    return rate >= MIN_RETURN


def concrete_gain(doc: Document) -> str | None:
    """How the pitch states the member's gain (a figure, a named benefit), or None."""
    pitch = doc["programme"]["pitch"]
    if figures := numbers_in(pitch):
        return f"states figures: {', '.join(figures[:3])}"
    if match := NAMED_BENEFIT.search(pitch):
        return f'names "{match.group(0)}"'
    for name in _own_names(doc):
        if len(name) >= 3 and name.casefold() in pitch.casefold():
            return f'names "{name}"'
    return None


def _own_names(doc: Document) -> Iterator[str]:
    """Rewards and offers the programme defines: naming one in the pitch is concrete."""
    for reward in doc.get("burn", {}).get("catalogue", []):
        yield reward["name"]
    for rule in doc.get("rules", []):
        yield rule.get("name", "")


def check_points_feel(doc: Document, _: Assumptions) -> Iterator[Finding]:
    code = doc["programme"]["currency"]
    value, per_unit = point_value(doc), points_per_unit(doc)
    if value is not None and value < WORTHLESS_POINT:
        burn = doc["burn"]
        yield Finding(
            "points.feel",
            "warning",
            f"a point is worth {plain(value)} {code} ({plain(burn['points'])} points = "
            f"{plain(Decimal(str(burn['worth'])))} {code}): balances look large and buy "
            "almost nothing, so points feel worthless",
            ("burn", "points"),
            hint="scale both sides down: 1 point per 1 unit and 100 points = 1 unit",
            measured={"point_value": plain(value), "currency": code},
        )
    if per_unit < SLOW_POINTS_PER_UNIT:
        spend = (1 / per_unit).quantize(Decimal(1))
        yield Finding(
            "points.feel",
            "warning",
            f"points are too slow to collect: 1 point per {plain(spend)} {code} of spend; "
            "an everyday basket earns nothing the member can see",
            ("earn", "points"),
            hint="earn 1 point per 1 unit and lower the burn value to keep the same return",
            measured={"points_per_unit": plain(per_unit)},
        )


def check_catalogue_prices(doc: Document, _: Assumptions) -> Iterator[Finding]:
    value = point_value(doc)
    if value is None:
        return
    code = doc["programme"]["currency"]
    for index, reward in enumerate(doc["burn"].get("catalogue", [])):
        price = _reward_value(reward)
        if price is None or price <= 0:
            continue
        worth = Decimal(reward["points"]) * value
        path = ("burn", "catalogue", index, "points")
        times = worth / price
        measured = {
            "points": str(reward["points"]),
            "points_worth": plain(worth),
            "item_value": plain(price),
            "times": plain(times.quantize(Decimal("0.01"))),
        }
        stated = (
            f"'{reward['name']}' ({plain(price)} {code}) costs {reward['points']:,} points, "
            f"worth {plain(worth.quantize(Decimal('0.01')))} {code} at the burn value"
        )
        if times > INFLATED:
            yield Finding(
                "burn.catalogue",
                "serious" if times >= INFLATED_SERIOUS else "warning",
                f"{stated}: priced {plain(times.quantize(Decimal('0.01')))}x its value, "
                "so points are not spendable at their promised value",
                path,
                hint=f"price it at {_fair_points(price, value):,} points",
                measured=measured,
            )
        else:
            yield Finding("burn.catalogue", "ok", stated, path, measured=measured)


def _reward_value(reward: Mapping[str, Any]) -> Decimal | None:
    if "voucher" in reward:
        return Decimal(str(reward["voucher"]))
    if "max_price" in reward.get("free_item", {}):
        return Decimal(str(reward["free_item"]["max_price"]))
    return None


def _fair_points(price: Decimal, value: Decimal) -> int:
    return int((price / value).to_integral_value())


def benefit_mix(doc: Document) -> dict[str, Counter[str]]:
    """Benefits counted by source and by cost ('unstated' where a benefit does not say)."""
    mix: dict[str, Counter[str]] = {axis: Counter() for axis in MIX_AXES}
    for _, _, _, benefit in benefits(doc):
        for axis in MIX_AXES:
            mix[axis][benefit.get(axis, "unstated")] += 1
    return mix


def check_benefit_mix(doc: Document, _: Assumptions) -> Iterator[Finding]:
    if not any(level.get("benefits") for level in levels(doc)):
        return
    mix = benefit_mix(doc)
    shown = "; ".join(
        f"{axis}: "
        + ", ".join(f"{mix[axis][v]} {v}" for v in (*values, "unstated") if mix[axis][v])
        for axis, values in MIX_AXES.items()
    )
    measured = {f"{axis}.{v}": str(n) for axis, counts in mix.items() for v, n in counts.items()}
    path = ("tiers", "levels")
    missing = [f"no {ADVISED[axis]} benefit" for axis in MIX_AXES if not mix[axis][ADVISED[axis]]]
    unstated = mix["source"]["unstated"] + mix["cost"]["unstated"]
    if missing:
        yield Finding(
            "benefits.mix",
            "warning",
            f"benefit mix by {shown}: {' and '.join(missing)}",
            path,
            hint="seek external benefits (a partner pays) and soft ones (near-zero cost each "
            "time, e.g. a service line); state source and cost on every benefit",
            measured=measured,
        )
    else:
        note = f" ({unstated} answers unstated)" if unstated else ""
        yield Finding(
            "benefits.mix", "ok", f"benefit mix by {shown}{note}", path, measured=measured
        )
