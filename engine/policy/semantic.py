"""Checks the JSON Schema cannot express: order, uniqueness, references, money.

Each check is a small generator that yields problems with paths; positions are
added by the loader. The document is already schema-valid when these run, so
they may rely on its shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import PolicyError
from engine.money import currency, is_known_currency
from engine.policy.extensions import registered_checks
from engine.policy.problems import Path, Problem
from engine.policy.tier_checks import check_tier_language
from engine.rules.parser import parse_when

Document = Mapping[str, Any]
Check = Callable[[Document], Iterable[Problem]]
LOT_EXPIRY_KINDS = ("rolling", "calendar", "end_of_month", "fixed_date")


def semantic_problems(doc: Document) -> Iterator[Problem]:
    """Run every semantic check over a schema-valid programme document: the language's own,
    then those other rooms registered (``engine.policy.extensions``)."""
    for check in (*CHECKS, *registered_checks()):
        yield from check(doc)


def check_currency_and_timezone(doc: Document) -> Iterator[Problem]:
    meta = doc["programme"]
    if not is_known_currency(meta["currency"]):
        yield Problem(
            f"'{meta['currency']}' is not an ISO 4217 currency code",
            ("programme", "currency"),
            hint="use a code such as CNY, EUR or USD",
        )
    try:
        ZoneInfo(meta["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        yield Problem(
            f"'{meta['timezone']}' is not an IANA time zone",
            ("programme", "timezone"),
            hint="use a name such as Asia/Shanghai or Europe/Paris",
        )


def check_tier_levels(doc: Document) -> Iterator[Problem]:
    levels = doc.get("tiers", {}).get("levels", [])
    yield from _unique_ids(levels, ("tiers", "levels"), "tier level")
    for index, level in enumerate(levels):
        path = ("tiers", "levels", index)
        if index == 0 and "threshold" in level:
            yield Problem(
                "the first level is where every member starts, so it takes no threshold",
                (*path, "threshold"),
            )
        reachable = {"threshold", "paid", "requires", "lifetime"} & level.keys()
        if index > 0 and not (reachable or level.get("invitation_only")):
            yield Problem(
                f"level '{level['id']}' has no threshold, is not paid and not invitation-only: "
                "no member can reach it",
                path,
                hint="add threshold: {amount: ...} or {top_percent: ...}",
            )
        if "floor" in level and "top_percent" not in level.get("threshold", {}):
            yield Problem(
                "a floor only applies to a top_percent threshold",
                (*path, "floor"),
                severity="warning",
            )
    yield from _ascending(levels, "amount", "threshold amounts must rise with each level", True)
    yield from _ascending(
        levels,
        "top_percent",
        "top percentages must shrink as levels rise (top 20% → top 5%)",
        False,
    )


def check_status_through(doc: Document) -> Iterator[Problem]:
    """``status_through`` only decides where a 12-month status ends."""
    tiers = doc.get("tiers", {})
    rolling = "rolling_12_months" in (
        tiers.get("status_lasts"),
        tiers.get("qualifying", {}).get("period"),
    )
    if "status_through" in tiers and not rolling:
        yield Problem(
            "status_through changes nothing here: status ends with a calendar or membership "
            "year, not 12 months after it was earned",
            ("tiers", "status_through"),
            severity="warning",
            hint="it applies to status_lasts: rolling_12_months or a rolling_12_months period",
        )


def _ascending(
    levels: list[dict[str, Any]], kind: str, message: str, rising: bool
) -> Iterator[Problem]:
    previous: tuple[int, Decimal] | None = None
    for index, level in enumerate(levels):
        value = level.get("threshold", {}).get(kind)
        if value is None:
            continue
        if previous is not None:
            ok = value > previous[1] if rising else value < previous[1]
            if not ok:
                earlier = levels[previous[0]]["id"]
                yield Problem(
                    f"{message}: '{level['id']}' has {value} but the lower level '{earlier}' "
                    f"has {previous[1]}",
                    ("tiers", "levels", index, "threshold", kind),
                )
        previous = (index, value)


def check_ids_unique(doc: Document) -> Iterator[Problem]:
    # Rules and campaigns share one namespace: traces and limits name them by id.
    effects = [("rules", r) for r in doc.get("rules", [])]
    effects += [("campaigns", c) for c in doc.get("campaigns", [])]
    seen: dict[str, str] = {}
    counters: dict[str, int] = {"rules": 0, "campaigns": 0}
    for section, item in effects:
        index = counters[section]
        counters[section] += 1
        if item["id"] in seen:
            yield Problem(
                f"id '{item['id']}' is already used by {seen[item['id']]}",
                (section, index, "id"),
                hint="rule and campaign ids must all differ",
            )
        else:
            seen[item["id"]] = f"{section[:-1]} #{index + 1}"
    yield from _unique_ids(doc.get("outreach", []), ("outreach",), "outreach trigger")
    catalogue = doc.get("burn", {}).get("catalogue", [])
    yield from _unique_ids(catalogue, ("burn", "catalogue"), "reward")
    for index, campaign in enumerate(doc.get("campaigns", [])):
        yield from _unique_ids(campaign.get("groups", []), ("campaigns", index, "groups"), "group")


def _unique_ids(items: list[dict[str, Any]], path: Path, what: str) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if item["id"] in first:
            yield Problem(
                f"{what} id '{item['id']}' is used twice (first at entry {first[item['id']] + 1})",
                (*path, index, "id"),
            )
        first.setdefault(item["id"], index)


def check_tier_references(doc: Document) -> Iterator[Problem]:
    known = [level["id"] for level in doc.get("tiers", {}).get("levels", [])]
    for path, name in _tier_mentions(doc):
        if name not in known:
            hint = f"known tiers: {', '.join(known)}" if known else "declare tiers.levels first"
            yield Problem(f"unknown tier '{name}'", path, hint=hint, code="reference")


def _tier_mentions(doc: Document) -> Iterator[tuple[Path, str]]:
    for tier in doc.get("earn", {}).get("multipliers", {}):
        yield ("earn", "multipliers", tier), tier
    exempt = doc.get("expiry", {}).get("inactivity", {}).get("exempt", {})
    for index, tier in enumerate(exempt.get("tiers", [])):
        yield ("expiry", "inactivity", "exempt", "tiers", index), tier
    for index, rule in enumerate(doc.get("rules", [])):
        yield from _tier_values(
            rule.get("when", {}).get("member", {}), ("rules", index, "when", "member")
        )
    for index, campaign in enumerate(doc.get("campaigns", [])):
        path: Path = ("campaigns", index)
        yield from _tier_values(campaign.get("audience", {}), (*path, "audience"))
        yield from _tier_values(
            campaign.get("when", {}).get("member", {}), (*path, "when", "member")
        )
        for g, group in enumerate(campaign.get("groups", [])):
            yield from _tier_values(group.get("filter", {}), (*path, "groups", g, "filter"))


def _tier_values(section: Mapping[str, Any], path: Path) -> Iterator[tuple[Path, str]]:
    test = section.get("tier")
    if test is None:
        return
    if isinstance(test, str):
        yield (*path, "tier"), test
    elif isinstance(test, list):
        for i, value in enumerate(test):
            yield (*path, "tier", i), str(value)
    elif isinstance(test, dict):
        for op, value in test.items():
            values = value if isinstance(value, list) else [value]
            for i, item in enumerate(values):
                suffix: Path = (i,) if isinstance(value, list) else ()
                yield (*path, "tier", op, *suffix), str(item)


def check_windows(doc: Document) -> Iterator[Problem]:
    sections = [("rules", doc.get("rules", [])), ("campaigns", doc.get("campaigns", []))]
    for section, items in sections:
        for index, item in enumerate(items):
            window = item.get("window")
            if window is None:
                continue
            path = (section, index, "window")
            start, end = _moment(window["from"]), _moment(window["until"])
            if start is None or end is None:
                bad = "from" if start is None else "until"
                yield Problem(f"'{window[bad]}' is not a real date or time", (*path, bad))
            elif end < start:
                yield Problem(
                    f"the window ends ({window['until']}) before it starts ({window['from']})",
                    (*path, "until"),
                )


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None
    # Offsets only shift within a day; comparing naive local readings is what marketers mean.
    return moment.replace(tzinfo=None)


def check_money_precision(doc: Document) -> Iterator[Problem]:
    code = doc["programme"]["currency"]
    if not is_known_currency(code):
        return  # reported by check_currency_and_timezone
    exponent = currency(code).exponent
    for path, amount in _money_values(doc):
        if isinstance(amount, int | Decimal) and _decimals(amount) > exponent:
            yield Problem(
                f"{amount} has more decimals than {code} allows ({exponent})",
                path,
                hint=f"round it to {exponent} decimal places",
            )


def _decimals(amount: int | Decimal) -> int:
    if isinstance(amount, int):
        return 0
    exponent = amount.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _money_values(doc: Document) -> Iterator[tuple[Path, Any]]:
    for index, level in enumerate(doc.get("tiers", {}).get("levels", [])):
        path: Path = ("tiers", "levels", index)
        yield (*path, "threshold", "amount"), level.get("threshold", {}).get("amount")
        yield (*path, "floor"), level.get("floor")
        yield (*path, "paid", "fee"), level.get("paid", {}).get("fee")
    # burn.worth is not listed: it is a ratio (1,000 points = 7.00 may be written as 1 point =
    # 0.007), kept exact; only the money a redemption pays is cut to the minor unit (§19.5).
    yield ("earn", "per"), doc.get("earn", {}).get("per")
    for index, reward in enumerate(doc.get("burn", {}).get("catalogue", [])):
        yield ("burn", "catalogue", index, "voucher"), reward.get("voucher")
        max_price = reward.get("free_item", {}).get("max_price")
        yield ("burn", "catalogue", index, "free_item", "max_price"), max_price
    for path, effect in _effects(doc):
        yield (*path, "discount", "amount"), effect.get("discount", {}).get("amount")
        yield (*path, "free_item", "max_price"), effect.get("free_item", {}).get("max_price")
    for index, campaign in enumerate(doc.get("campaigns", [])):
        yield ("campaigns", index, "budget", "money"), campaign.get("budget", {}).get("money")
    for index, trigger in enumerate(doc.get("outreach", [])):
        yield ("outreach", index, "within_amount"), trigger.get("within_amount")


def _effects(doc: Document) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    for index, rule in enumerate(doc.get("rules", [])):
        for e, effect in enumerate(rule["then"]):
            yield ("rules", index, "then", e), effect
    for index, campaign in enumerate(doc.get("campaigns", [])):
        for e, effect in enumerate(campaign.get("offer", [])):
            yield ("campaigns", index, "offer", e), effect
        for g, group in enumerate(campaign.get("groups", [])):
            for e, effect in enumerate(group["offer"]):
                yield ("campaigns", index, "groups", g, "offer", e), effect
    for index, trigger in enumerate(doc.get("outreach", [])):
        for e, effect in enumerate(trigger.get("offer", [])):
            yield ("outreach", index, "offer", e), effect


def check_effects(doc: Document) -> Iterator[Problem]:
    for path, effect in _effects(doc):
        discount = effect.get("discount")
        if discount is not None and ("percent" in discount) == ("amount" in discount):
            yield Problem(
                "a discount needs exactly one of percent or amount",
                (*path, "discount"),
                hint="write {percent: 10} or {amount: 5}",
            )


def check_conditions(doc: Document) -> Iterator[Problem]:
    """Parse every ``when`` into the rule tree: types and units the schema cannot see."""
    code = doc["programme"]["currency"]
    exponent = currency(code).exponent if is_known_currency(code) else 2
    for path, owner_id, when in _conditions(doc):
        try:
            parse_when(owner_id, when, currency_exponent=exponent)
        except PolicyError as exc:
            # The parser's paths start at the rule's ``when``: ("when", "transaction", ...).
            yield from (problem.under(path) for problem in exc.problems)


def _conditions(doc: Document) -> Iterator[tuple[Path, str, Mapping[str, Any]]]:
    for index, rule in enumerate(doc.get("rules", [])):
        if "when" in rule:
            yield ("rules", index), rule["id"], rule["when"]
    for index, campaign in enumerate(doc.get("campaigns", [])):
        if "when" in campaign:
            yield ("campaigns", index), campaign["id"], campaign["when"]
        for g, group in enumerate(campaign.get("groups", [])):
            if "when" in group:
                yield (
                    ("campaigns", index, "groups", g),
                    f"{campaign['id']}.{group['id']}",
                    group["when"],
                )


def check_schedule(doc: Document) -> Iterator[Problem]:
    dated = [
        (("earn", "schedule"), doc.get("earn", {}).get("schedule", [])),
        (("burn", "values"), (doc.get("burn") or {}).get("values", [])),
    ]
    for base, entries in dated:
        for index, entry in enumerate(entries):
            start, end = entry.get("effective_from"), entry.get("effective_until")
            if start and end and _is_date(str(start)) and _is_date(str(end)) and end < start:
                yield Problem(
                    f"this rate ends on {end}, before it starts on {start}",
                    (*base, index, "effective_until"),
                )


def check_remainders(doc: Document) -> Iterator[Problem]:
    earn = doc.get("earn", {})
    if earn.get("remainders") != "carry":
        return
    needs = {"rounding": "floor", "rounding_scope": "basket", "round_at": "base"}
    for key, wanted in needs.items():
        if earn.get(key, wanted) != wanted:
            yield Problem(
                f"carrying remainders needs {key}: {wanted}, not {earn[key]}",
                ("earn", key),
                hint="the fraction carried is what rounding down the basket's base points cut off",
            )


def check_caps(doc: Document) -> Iterator[Problem]:
    period = doc.get("earn", {}).get("caps", {}).get("per_period", {})
    resets_on = period.get("resets_on")
    if resets_on is None:
        return
    path = ("earn", "caps", "per_period", "resets_on")
    if period.get("period") != "year":
        yield Problem(f"resets_on is for a year cap; this cap is per {period.get('period')}", path)
    elif not _is_date(f"2000-{resets_on}"):
        yield Problem(f"'{resets_on}' is not a day of the year", path, hint="MM-DD, e.g. 04-01")


def check_expiry(doc: Document) -> Iterator[Problem]:
    expiry = doc.get("expiry", {})
    kinds = [kind for kind in LOT_EXPIRY_KINDS if kind in expiry]
    for kind in kinds[1:]:
        yield Problem(
            f"choose one way for points to expire: '{kinds[0]}' and '{kind}' are both given",
            ("expiry", kind),
            hint="inactivity may be combined with any of them",
        )
    fixed = expiry.get("fixed_date")
    launch = doc["programme"].get("launch")
    if fixed and launch and _is_date(fixed) and _is_date(launch) and fixed <= launch:
        yield Problem(
            f"points would expire on {fixed}, before the programme launches on {launch}",
            ("expiry", "fixed_date"),
        )
    if expiry.get("remind_days_before") and not (kinds or "inactivity" in expiry):
        yield Problem(
            "expiry reminders are set but points never expire",
            ("expiry", "remind_days_before"),
            severity="warning",
        )


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def check_burn(doc: Document) -> Iterator[Problem]:
    burn = doc.get("burn")
    if not burn:
        return
    minimum, step = burn.get("minimum"), burn.get("step")
    if minimum and step and minimum % step:
        yield Problem(
            f"the minimum redemption ({minimum}) is not a multiple of the step ({step}), "
            "so it can never be redeemed exactly",
            ("burn", "minimum"),
            severity="warning",
        )
    for index, reward in enumerate(burn.get("catalogue", [])):
        if ("free_item" in reward) == ("voucher" in reward):
            yield Problem(
                f"reward '{reward['id']}' needs exactly one of free_item or voucher",
                ("burn", "catalogue", index),
            )


def check_earn(doc: Document) -> Iterator[Problem]:
    for index, override in enumerate(doc["earn"].get("overrides", [])):
        path = ("earn", "overrides", index)
        if ("category" in override) == ("sku" in override):
            yield Problem("an override names exactly one of category or sku", path)
        if "multiplier" in override and "points" in override:
            yield Problem("give either points (with per) or a multiplier, not both", path)
        if "multiplier" not in override and "points" not in override:
            yield Problem("an override needs points (with per) or a multiplier", path)


def check_campaigns(doc: Document) -> Iterator[Problem]:
    for index, campaign in enumerate(doc.get("campaigns", [])):
        path: Path = ("campaigns", index)
        if campaign["kind"] == "sunshine" and "groups" in campaign:
            yield Problem(
                "a sunshine campaign gives everyone the same offer, so it has no groups",
                (*path, "groups"),
                hint="use kind: downpour to target groups",
            )
        if campaign["kind"] == "downpour" and "offer" in campaign:
            yield Problem(
                "a downpour campaign's offers belong to its groups",
                (*path, "offer"),
                hint="move the offer into each group",
            )
        yield from _unreachable_groups(campaign.get("groups", []), path)


def _unreachable_groups(groups: list[dict[str, Any]], path: Path) -> Iterator[Problem]:
    ordered = sorted(enumerate(groups), key=lambda pair: (pair[1].get("priority", 100), pair[0]))
    catch_all = None
    for index, group in ordered:
        if catch_all is not None:
            yield Problem(
                f"group '{group['id']}' is never used: group '{catch_all}' before it has no filter "
                "and takes every member",
                (*path, "groups", index),
                severity="warning",
            )
        elif "filter" not in group:
            catch_all = group["id"]


def check_outreach(doc: Document) -> Iterator[Problem]:
    needs = {
        "days_before": ("points_expiring", "paid_level_ending"),
        "cycle_days": ("lapse",),
        "within_amount": ("near_upgrade",),
        "change": ("tier_change",),
        "after_days": ("never_bought",),
        "until_days": ("never_bought",),
        "holidays": ("holiday",),
        "days_ahead": ("holiday",),
    }
    for index, trigger in enumerate(doc.get("outreach", [])):
        for field, trigger_kinds in needs.items():
            if field in trigger and trigger["trigger"] not in trigger_kinds:
                yield Problem(
                    f"'{field}' only applies to {' and '.join(trigger_kinds)} triggers, "
                    f"not {trigger['trigger']}",
                    ("outreach", index, field),
                    severity="warning",
                )
        levels = doc.get("tiers", {}).get("levels", [])
        if trigger["trigger"] == "paid_level_ending" and not any("paid" in x for x in levels):
            yield Problem(
                "a paid_level_ending trigger needs a level that can be bought (paid)",
                ("outreach", index, "trigger"),
            )
        if trigger["trigger"] == "near_upgrade" and not doc.get("tiers"):
            yield Problem("a near_upgrade trigger needs tiers", ("outreach", index, "trigger"))


def check_outreach_grants(doc: Document) -> Iterator[Problem]:
    """A granted offer needs effects, and an id of its own: the till records its uses by id."""
    offer_ids = {item["id"] for section in ("rules", "campaigns") for item in doc.get(section, [])}
    for index, trigger in enumerate(doc.get("outreach", [])):
        if "grants" not in trigger:
            continue
        if not [e for e in trigger.get("offer", []) if "message" not in e]:
            yield Problem(
                "a trigger that grants an offer needs an 'offer' that gives something",
                ("outreach", index, "grants"),
                hint="e.g. offer: [{bonus_points: 50}]",
            )
        if trigger["id"] in offer_ids:
            yield Problem(
                f"id '{trigger['id']}' is also a rule or campaign id",
                ("outreach", index, "id"),
                hint="a trigger that grants offers needs an id no rule or campaign uses",
            )


def check_relative_audiences(doc: Document) -> Iterator[Problem]:
    """An audience relative to the critical point needs the ledger's analysis, resolved at
    launch: only a downpour campaign (frozen at launch) can have one, not a sunshine one."""
    for index, campaign in enumerate(doc.get("campaigns", [])):
        if "critical_point" in campaign.get("audience", {}) and campaign["kind"] != "downpour":
            yield Problem(
                "audience.critical_point is resolved at launch: only a downpour campaign can "
                "use it",
                ("campaigns", index, "audience", "critical_point"),
                hint="type the band by hand (audience.balance) for a sunshine campaign",
            )


CHECKS: tuple[Check, ...] = (
    check_currency_and_timezone,
    check_tier_levels,
    check_tier_language,
    check_status_through,
    check_ids_unique,
    check_tier_references,
    check_windows,
    check_money_precision,
    check_effects,
    check_conditions,
    check_expiry,
    check_caps,
    check_remainders,
    check_schedule,
    check_burn,
    check_earn,
    check_campaigns,
    check_outreach,
    check_outreach_grants,
    check_relative_audiences,
)
