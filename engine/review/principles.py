"""Evidence for the six principles, read from the programme's own structure.

One small function per principle. Each returns a ``Reading``: whether the structure alone
meets the principle, and the evidence found (also when it is not enough, so the reviewer
sees what is there). Claims from the review section are added by the scorecard, never here:
what a proposer says counts only as "needs judgement" until a reviewer confirms it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.review.model import Evidence
from engine.review.reading import (
    Document,
    benefits,
    is_one_off,
    lasts_long_enough,
    levels,
    lower_bound,
    monthly_day,
    offers,
    plain,
    weekdays,
)
from engine.review.value import concrete_gain, points_worth_something

STATUS_KINDS = ("privilege", "upgrade")  # what other people can see a member get
RECURRING_PERIODS = ("week", "month")
NEXT_VISIT_TRIGGERS = ("lapse", "points_expiring", "near_upgrade")
# Words that tie a benefit to a cause rather than to money (English, simplified and
# traditional Chinese). A reviewer still sees the text, and can reject it.
CAUSE_WORDS = re.compile(
    r"charit|donat|\bcause|plant|\btrees?\b|environment|recycl|community|volunteer|"
    r"foundation|公益|慈善|捐|环保|環保|社区|社區|植树|植樹|义工|義工",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reading:
    met: bool
    evidence: tuple[Evidence, ...]


def _found(text: str, *path: str | int) -> Evidence:
    return Evidence("structure", text, tuple(path))


def _reading(evidence: Iterator[Evidence] | list[Evidence]) -> Reading:
    found = tuple(evidence)
    return Reading(bool(found), found)


def reason_to_join(doc: Document) -> Reading:
    """A pitch that states the member's gain concretely (an amount, a rate or a named
    benefit) plus something every member gets from day one; points count only when they are
    worth something at the stated burn value."""
    gain = concrete_gain(doc)
    pitch = _found(f'pitch: "{doc["programme"]["pitch"]}"', "programme", "pitch")
    said = f"the pitch {gain}" if gain else "the pitch states no amount, rate or named benefit"
    stated = _found(said, "programme", "pitch")
    welcome = [*_first_level_benefits(doc), *_welcome_offers(doc), *_spendable_points(doc)]
    return Reading(bool(welcome) and gain is not None, (pitch, stated, *welcome))


def _first_level_benefits(doc: Document) -> Iterator[Evidence]:
    for path, index, level, benefit in benefits(doc):
        if index == 0:
            yield _found(f"{level['name']}: {benefit['description']}", *path)


def _welcome_offers(doc: Document) -> Iterator[Evidence]:
    for offer in offers(doc):
        member = offer.when.get("member", {})
        if offer.is_rule and ("days_since_joined" in member or "joined" in member):
            yield _found(f"welcome offer: {offer.label}", *offer.path)


def _spendable_points(doc: Document) -> Iterator[Evidence]:
    earn, burn, code = doc["earn"], doc.get("burn"), doc["programme"]["currency"]
    if burn and points_worth_something(doc):
        yield _found(
            f"points from the first purchase: {plain(earn['points'])} per "
            f"{plain(earn['per'])} {code}, {plain(burn['points'])} points = "
            f"{plain(burn['worth'])} {code} off",
            "burn",
        )


def repurchase_incentive(doc: Document) -> Reading:
    """A reward catalogue, or offers that pull the member back again and again."""
    return _reading([*_catalogue(doc), *_next_visit_rules(doc), *_win_back_outreach(doc)])


def _catalogue(doc: Document) -> Iterator[Evidence]:
    rewards = doc.get("burn", {}).get("catalogue", [])
    if rewards:
        cheapest = min(rewards, key=lambda r: r["points"])
        yield _found(
            f"reward catalogue: {len(rewards)} reward{'s' if len(rewards) > 1 else ''} to save "
            f"towards, from {cheapest['name']} at {cheapest['points']:,} points",
            "burn",
            "catalogue",
        )


def _next_visit_rules(doc: Document) -> Iterator[Evidence]:
    for offer in offers(doc):
        member = offer.when.get("member", {})
        if offer.is_rule and "days_since_last_purchase" in member and not is_one_off(offer.limit):
            yield _found(f"next-visit offer: {offer.label}", *offer.path)


def _win_back_outreach(doc: Document) -> Iterator[Evidence]:
    # Only an offer the till honours counts: a message that promises one without ``grants``
    # is a promise nobody keeps, not an incentive.
    for index, trigger in enumerate(doc.get("outreach", [])):
        if (
            trigger["trigger"] in NEXT_VISIT_TRIGGERS
            and trigger.get("offer")
            and "grants" in trigger
        ):
            yield _found(
                f"{trigger['trigger']} outreach '{trigger['id']}' with an offer for the next visit",
                "outreach",
                index,
            )


def bigger_baskets(doc: Document) -> Reading:
    """Spend-over-threshold (满减) or multi-item (bundle) conditions on an offer to members.

    Campaign groups are left out: their minimum spend is a condition of a reactivation
    offer to a few targeted members, not a reason for everyone to fill the basket.
    """
    return _reading(
        _found(f"{reason}: {offer.label}", *offer.path)
        for offer in offers(doc)
        if "groups" not in offer.path
        for reason in _basket_reasons(offer.when)[:1]
    )


def _basket_reasons(when: Mapping[str, Any]) -> list[str]:
    reasons = []
    sale = when.get("transaction", {})
    if (amount := lower_bound(sale.get("amount"))) and amount > 0:
        reasons.append(f"spend over {plain(amount)}")
    if (items := lower_bound(sale.get("item_count"))) and items >= 2:
        reasons.append(f"{plain(items)} items or more")
    lines = when.get("lines", [])
    if len(lines) >= 2:
        reasons.append(f"a bundle of {len(lines)} lines")
    for line in lines:
        if (quantity := lower_bound(line.get("quantity"))) and quantity >= 2:
            reasons.append(f"{plain(quantity)} or more of one item")
        if (amount := lower_bound(line.get("amount"))) and amount > 0:
            reasons.append(f"a line over {plain(amount)}")
    return reasons


def stickiness(doc: Document) -> Reading:
    """A member deal that recurs every week or every month: a habit, not a one-off."""
    return _reading([*_recurring_offers(doc), *_recurring_benefits(doc)])


def _recurring_offers(doc: Document) -> Iterator[Evidence]:
    for offer in offers(doc):
        if not lasts_long_enough(offer.window):
            continue
        sale = offer.when.get("transaction", {})
        days = weekdays(sale.get("weekday", []))
        if 0 < len(days) < 7:
            yield _found(f"every week ({', '.join(days)}): {offer.label}", *offer.path)
        elif (day := monthly_day(sale.get("date"))) is not None:
            yield _found(f"every month on day {day}: {offer.label}", *offer.path)
        elif monthly := _monthly_fields(sale):
            yield _found(f"every month ({monthly}): {offer.label}", *offer.path)


def _monthly_fields(sale: Mapping[str, Any]) -> str:
    """The recurring monthly tests a sale condition uses (day_of_month: [18]…), as written."""
    names = ("day_of_month", "nth_weekday", "days_to_month_end", "last_day_of_month")
    return ", ".join(f"{name}: {_yaml(sale[name])}" for name in names if name in sale)


def _yaml(value: Any) -> str:
    return "true" if value is True else str(value)  # as the file writes it, not Python's True


def _recurring_benefits(doc: Document) -> Iterator[Evidence]:
    for path, _, level, benefit in benefits(doc):
        if benefit.get("per") in RECURRING_PERIODS:
            yield _found(f"{level['name']}: {benefit['description']} (per {benefit['per']})", *path)


def emotional_bond(doc: Document) -> Reading:
    """A themed card, or a benefit tied to a cause rather than to money."""
    theme = doc.get("review", {}).get("theme")
    found = [_found(f'themed card: "{theme}"', "review", "theme")] if theme else []
    for path, _, level, benefit in benefits(doc):
        text = f"{benefit['description']} {benefit.get('partner', '')}"
        if CAUSE_WORDS.search(text):
            found.append(_found(f"cause-linked: {level['name']}: {benefit['description']}", *path))
    return _reading(found)


def social_face(doc: Document) -> Reading:
    """A paid or invitation-only level, or status others can see on the higher levels."""
    found = []
    for index, level in enumerate(levels(doc)):
        if "paid" in level:
            fee = f"{plain(level['paid']['fee'])} {doc['programme']['currency']}"
            found.append(_found(f"paid level: {level['name']} for {fee}", "tiers", "levels", index))
        if level.get("invitation_only"):
            found.append(
                _found(f"invitation-only level: {level['name']}", "tiers", "levels", index)
            )
    for path, index, level, benefit in benefits(doc):
        if index > 0 and benefit["kind"] in STATUS_KINDS:
            found.append(
                _found(f"{benefit['kind']} for {level['name']}: {benefit['description']}", *path)
            )
    return _reading(found)


READERS: dict[str, Callable[[Document], Reading]] = {
    "reason_to_join": reason_to_join,
    "repurchase_incentive": repurchase_incentive,
    "bigger_baskets": bigger_baskets,
    "stickiness": stickiness,
    "emotional_bond": emotional_bond,
    "social_face": social_face,
}
