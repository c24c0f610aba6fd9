"""Rules and campaign offers: which apply to a sale, and how they stack.

Matching is the matcher's job (durable-rules or compiled Python); this module
decides what happens *after* matching, identically for both: windows,
per-member limits, campaign groups and holdouts, de-duplication of join
combinations, and stacking.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from engine.calendar import end_of_day
from engine.rules.matching import Match

OfferKind = Literal["rule", "campaign", "outreach"]  # outreach: a member offer (quote.py)
HOLDOUT = "holdout"
DEFAULT_PRIORITY = 100


@dataclass(frozen=True)
class Offer:
    """A rule, or one campaign group's offer, ready to be applied."""

    kind: OfferKind
    id: str  # the rule or campaign id (what limits and traces refer to)
    name: str
    condition_id: str  # the id its condition carries in the matcher
    when: Mapping[str, Any]
    effects: tuple[Mapping[str, Any], ...]
    priority: int = DEFAULT_PRIORITY
    exclusive: bool = False
    window: tuple[datetime, datetime] | None = None
    limit: Mapping[str, Any] | None = None
    group: str | None = None  # campaign group id; None for rules and sunshine campaigns
    downpour: bool = False
    audience_id: str | None = None  # condition id of a sunshine campaign's audience
    # Derived once here rather than on every sale that applies the offer.
    source: str = field(init=False, repr=False, compare=False)
    reason: str = field(init=False, repr=False, compare=False)  # why it applies, for traces

    def __post_init__(self) -> None:
        suffix = f"/{self.group}" if self.group else ""
        object.__setattr__(self, "source", f"{self.kind}:{self.id}{suffix}")
        object.__setattr__(self, "reason", _why(self))

    @property
    def order(self) -> tuple[int, int, str, str]:
        return (self.priority, self.kind == "campaign", self.id, self.group or "")


@dataclass(frozen=True)
class Applied:
    """An offer that applies to this sale, with the basket lines its condition bound."""

    offer: Offer
    lines: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class Skipped:
    """An offer that did not apply, and why (for ``--explain``)."""

    offer: Offer
    reason: str


def compile_offers(
    rules: Sequence[Mapping[str, Any]], campaigns: Sequence[Mapping[str, Any]], tz: ZoneInfo
) -> list[Offer]:
    """Every rule and campaign offer of a programme, in application order."""
    offers = [_rule_offer(rule, tz) for rule in rules]
    for campaign in campaigns:
        offers += _campaign_offers(campaign, tz)
    return sorted(offers, key=lambda o: o.order)


def _rule_offer(rule: Mapping[str, Any], tz: ZoneInfo) -> Offer:
    return Offer(
        kind="rule",
        id=rule["id"],
        name=rule["name"],
        condition_id=f"rule:{rule['id']}",
        when=rule.get("when", {}),
        effects=tuple(rule["then"]),
        priority=rule.get("priority", DEFAULT_PRIORITY),
        exclusive=rule.get("stacking") == "exclusive",
        window=_window(rule.get("window"), tz),
        limit=rule.get("limit"),
    )


def _campaign_offers(campaign: Mapping[str, Any], tz: ZoneInfo) -> Iterator[Offer]:
    common = {
        "kind": "campaign",
        "id": campaign["id"],
        "name": campaign["name"],
        "window": _window(campaign["window"], tz),
        "limit": campaign.get("limit"),
        "priority": DEFAULT_PRIORITY,
    }
    shared_when = campaign.get("when", {})
    if campaign["kind"] == "sunshine":
        audience = f"audience:{campaign['id']}" if "audience" in campaign else None
        yield Offer(
            condition_id=f"campaign:{campaign['id']}",
            when=shared_when,
            effects=tuple(campaign["offer"]),
            audience_id=audience,
            **common,
        )
        return
    for group in campaign["groups"]:
        yield Offer(
            condition_id=f"campaign:{campaign['id']}/{group['id']}",
            when=_merge_when(shared_when, group.get("when", {})),
            effects=tuple(group["offer"]),
            group=group["id"],
            downpour=True,
            **common,
        )


def _merge_when(shared: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for section in ("transaction", "member"):
        fields = {**shared.get(section, {}), **own.get(section, {})}
        if fields:
            merged[section] = fields
    lines = [*shared.get("lines", []), *own.get("lines", [])]
    if lines:
        merged["lines"] = lines
    return merged


def audience_conditions(
    campaigns: Sequence[Mapping[str, Any]],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Sunshine audiences, and each downpour group's audience plus filter, as member conditions.

    A launched downpour campaign's groups are frozen in the ledger; the group conditions are
    only used to try a campaign before launch (see ``Trial``).
    """
    for campaign in campaigns:
        audience = audience_as_member(campaign.get("audience", {}))
        if campaign["kind"] == "sunshine" and audience:
            yield f"audience:{campaign['id']}", {"member": audience}
        for group in campaign.get("groups", []):
            member = _with_filter(audience, group.get("filter", {}))
            yield _trial_id(campaign["id"], group["id"]), {"member": member} if member else {}


def _with_filter(audience: Mapping[str, Any], group_filter: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**audience, **group_filter}
    if "tags" in audience and "tags" in group_filter:
        merged["tags"] = {**audience["tags"], **group_filter["tags"]}
    return merged


def _trial_id(campaign: str, group: str) -> str:
    return f"trial:{campaign}/{group}"


@dataclass(frozen=True)
class Trial:
    """How a launch would place a member in a downpour campaign, for trying it before launch."""

    campaign: str
    holdout_percent: float
    groups: tuple[str, ...]  # in the order a launch tries them (priority, then listing)

    @classmethod
    def of(cls, campaign: Mapping[str, Any]) -> Trial:
        ordered = sorted(
            enumerate(campaign["groups"]), key=lambda p: (p[1].get("priority", 100), p[0])
        )
        return cls(
            campaign["id"],
            float(campaign.get("holdout_percent", 0)),
            tuple(g["id"] for _, g in ordered),
        )

    def assign(self, member_id: str, bound: Mapping[str, Any]) -> str | None:
        """The member's group (or the holdout), or None outside every group's audience."""
        group = next((g for g in self.groups if _trial_id(self.campaign, g) in bound), None)
        if group is not None and in_holdout(self.campaign, member_id, self.holdout_percent):
            return HOLDOUT
        return group


def trials(campaigns: Sequence[Mapping[str, Any]]) -> dict[str, Trial]:
    return {c["id"]: Trial.of(c) for c in campaigns if c["kind"] == "downpour"}


def audience_as_member(audience: Mapping[str, Any]) -> dict[str, Any]:
    """The audience as a member condition. ``critical_point`` needs the ledger's analysis: it
    is resolved at preview and launch (engine/campaigns/critical.py), never at the till."""
    renamed = {"days_inactive": "days_since_last_purchase"}
    return {
        renamed.get(key, key): value for key, value in audience.items() if key != "critical_point"
    }


def _window(window: Mapping[str, str] | None, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    if window is None:
        return None
    return _instant(window["from"], tz, start=True), _instant(window["until"], tz, start=False)


def _instant(text: str, tz: ZoneInfo, *, start: bool) -> datetime:
    """A window bound: a date covers its whole local day; a time without offset is local."""
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime.combine(day, time.min, tz) if start else end_of_day(day, tz)
    moment = datetime.fromisoformat(text.replace(" ", "T"))
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def in_holdout(campaign_id: str, member_id: str, holdout_percent: float) -> bool:
    """A deterministic draw: the same member and campaign always give the same answer."""
    digest = hashlib.sha256(f"{campaign_id}\0{member_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % 10_000
    return bucket < round(holdout_percent * 100)


def select(
    offers: Sequence[Offer],
    matches: Iterable[Match],
    *,
    at: datetime,
    usage: Mapping[str, Mapping[str, int]],
    assignments: Mapping[str, str],
    stopped: Collection[str] = (),
    trying: Collection[Trial] = (),
    member_id: str = "",
    unmet: Callable[[str], str] | None = None,
    explain: bool = True,
) -> tuple[list[Applied], list[Skipped]]:
    """The offers that apply, in order, after eligibility and stacking; and the others.

    Without ``explain`` the offers whose condition did not match are left out of the others
    unread (most of a large programme's offers, on most sales): nobody reads why.

    Campaigns in ``trying`` are evaluated as if live: their window is ignored and a member
    not yet assigned to one gets the group a launch would give them. ``unmet`` names the test
    an offer's condition failed (``--explain``), given its condition id.
    """
    bound = _first_binding(matches)
    if trying:
        trial = {t.campaign: t.assign(member_id, bound) for t in trying}
        assignments = {**{c: g for c, g in trial.items() if g}, **assignments}
        stopped_or_tried = {t.campaign for t in trying}
    else:
        stopped_or_tried = set()
    applied: list[Applied] = []
    skipped: list[Skipped] = []
    for offer in offers:
        if not explain and offer.condition_id not in bound:
            continue  # ineligible whatever else holds; why is only for --explain
        reason = _ineligible(
            offer,
            bound,
            at=at,
            usage=usage,
            assignments=assignments,
            stopped=stopped,
            timeless=offer.id in stopped_or_tried,
            unmet=unmet,
        )
        if reason:
            skipped.append(Skipped(offer, reason))
        else:
            applied.append(Applied(offer, bound[offer.condition_id], offer.reason))
    return _stack(applied, skipped)


def _first_binding(matches: Iterable[Match]) -> dict[str, tuple[int, ...]]:
    # A join fires once per line combination; an offer applies once per sale, on the first.
    bound: dict[str, tuple[int, ...]] = {}
    for match in sorted(matches, key=_match_order):
        bound.setdefault(match.rule_id, match.lines)
    return bound


def _match_order(match: Match) -> tuple[str, tuple[int, ...]]:
    # Match's own order, as a key: the dataclass's generated __lt__ is far slower.
    return match.rule_id, match.lines


def _ineligible(
    offer: Offer,
    bound: Mapping[str, tuple[int, ...]],
    *,
    at: datetime,
    usage: Mapping[str, Mapping[str, int]],
    assignments: Mapping[str, str],
    stopped: Collection[str] = (),
    timeless: bool = False,
    unmet: Callable[[str], str] | None = None,
) -> str | None:
    if offer.kind == "campaign" and offer.id in stopped:
        return "the campaign's budget is spent"
    if offer.window and not timeless and not offer.window[0] <= at <= offer.window[1]:
        start, end = offer.window
        return f"outside its window ({start.isoformat()} to {end.isoformat()})"
    if offer.downpour:
        group = assignments.get(offer.id)
        if group == HOLDOUT:
            return "the member is in the campaign's holdout (control) group"
        if group != offer.group:
            return f"the member is not in group '{offer.group}'" + (
                f" (assigned to '{group}')" if group else " (not targeted by this campaign)"
            )
    if offer.audience_id and offer.audience_id not in bound:
        return "the member is not in the campaign's audience"
    if offer.condition_id not in bound:
        return unmet(offer.condition_id) if unmet else "its conditions are not met"
    if offer.limit:
        period = offer.limit.get("period", "ever")
        used = usage.get(offer.id, {}).get(period, 0)
        if used >= offer.limit["per_member"]:
            return f"per-member limit reached ({used} of {offer.limit['per_member']} per {period})"
    return None


def _why(offer: Offer) -> str:
    parts = [f"{section}: {_describe(fields)}" for section, fields in offer.when.items()]
    if offer.group:
        parts.insert(0, f"member is in group '{offer.group}'")
    return "; ".join(parts) if parts else "applies to every sale"


def _describe(fields: Any) -> str:
    if isinstance(fields, list):
        return " + ".join(_describe(f) for f in fields)
    if isinstance(fields, Mapping):
        return ", ".join(f"{k} {_describe_test(v)}" for k, v in fields.items())
    return str(fields)


def _describe_test(test: Any) -> str:
    if isinstance(test, list):
        return "in [" + ", ".join(map(str, test)) + "]"
    if isinstance(test, Mapping):
        return " and ".join(
            f"{op} {_describe_test(v) if isinstance(v, Mapping) else v}" for op, v in test.items()
        )
    return f"= {test}"


def _stack(applied: list[Applied], skipped: list[Skipped]) -> tuple[list[Applied], list[Skipped]]:
    """Rules combine unless one is exclusive: then the first exclusive rule stands alone."""
    exclusive = next((a for a in applied if a.offer.kind == "rule" and a.offer.exclusive), None)
    if exclusive is None:
        return applied, skipped
    kept = []
    for entry in applied:
        if entry.offer.kind == "rule" and entry is not exclusive:
            skipped.append(Skipped(entry.offer, f"rule '{exclusive.offer.id}' is exclusive"))
        else:
            kept.append(entry)
    return kept, skipped
