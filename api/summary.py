"""A programme as the console's "one poster": the facts a marketer reads, in plain words.

Built from the document the process serves, so what the page says is what prices.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_symbol

from engine.policy.model import TierPolicy
from engine.pricing import Evaluator


def programme_summary(evaluator: Evaluator, source: str | None) -> dict[str, Any]:
    model = evaluator.model
    head = model.identity
    symbol = _symbol(evaluator.currency.code, head.locale)
    burn = model.burn.section if model.burn is not None else None
    expiry = model.expiry.section if model.expiry.stated else None
    return {
        "id": evaluator.programme.id,
        "version": evaluator.programme.version,
        "name": head.name,
        "pitch": head.pitch if head.pitch is not None else "",
        "currency": evaluator.currency.code,
        "timezone": str(evaluator.tz),
        "files": list(evaluator.programme.files),
        "tiers": _tiers(model.tiers, symbol),
        "earn": {"words": _earn_words(model.earn.section, symbol), "rules": model.earn.section},
        "burn": {"words": _burn_words(burn, symbol), "rules": burn},
        "expiry": {"words": _expiry_words(expiry), "rules": expiry},
        "rules": [_rule(rule) for rule in model.rules],
        "campaigns": [_campaign(c) for c in model.campaigns],
        "source": source,
    }


def _symbol(code: str, locale: str | None) -> str:
    try:
        return get_currency_symbol(code, Locale.parse(locale or "en", sep="-"))
    except (UnknownLocaleError, ValueError):
        return get_currency_symbol(code, "en")


def _money(symbol: str, amount: Any) -> str:
    value = Decimal(str(amount))
    text = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{symbol}{text}"


def _plural(count: Any, word: str) -> str:
    return f"{count} {word}" if Decimal(str(count)) == 1 else f"{count} {word}s"


def _earn_words(earn: Mapping[str, Any], symbol: str) -> str:
    words = f"{_plural(earn['points'], 'point')} per {_money(symbol, earn['per'])}"
    multipliers = {tier: m for tier, m in earn.get("multipliers", {}).items() if m != 1}
    if multipliers:
        words += "; " + ", ".join(f"{tier} x{m}" for tier, m in multipliers.items())
    excluded = earn.get("exclude", {}).get("categories", [])
    if excluded:
        words += f"; nothing on {', '.join(excluded)}"
    if earn.get("pending_days"):
        words += f"; spendable after {_plural(earn['pending_days'], 'day')}"
    return words


def _burn_words(burn: Mapping[str, Any] | None, symbol: str) -> str:
    if not burn:
        return "points cannot be spent"
    words = f"{_plural(burn['points'], 'point')} = {_money(symbol, burn['worth'])}"
    if burn.get("minimum"):
        words += f"; from {burn['minimum']} points"
    if burn.get("step"):
        words += f" in steps of {burn['step']}"
    if burn.get("max_bill_percent") not in (None, 100):
        words += f"; at most {burn['max_bill_percent']}% of a bill"
    rewards = [f"{r['name']} ({r['points']} points)" for r in burn.get("catalogue", [])]
    if rewards:
        words += "; rewards: " + ", ".join(rewards)
    return words


def _expiry_words(expiry: Mapping[str, Any] | None) -> str:
    expiry = expiry or {}
    if "rolling" in expiry:
        (unit, count), *_ = expiry["rolling"].items()
        words = f"{_plural(count, unit.rstrip('s'))} after they are earned"
    elif "calendar" in expiry:
        years = expiry["calendar"]["years_after"]
        words = f"on 31 December, {_plural(years, 'year')} after the year they are earned"
    elif "end_of_month" in expiry:
        months = expiry["end_of_month"]["months_after"]
        words = f"at the end of the month {_plural(months, 'month')} after they are earned"
    elif "fixed_date" in expiry:
        words = f"all on {expiry['fixed_date']}"
    elif "inactivity" in expiry:
        words = f"all after {_plural(expiry['inactivity']['months'], 'month')} without a purchase"
    else:
        return "points never expire"
    reminders = expiry.get("remind_days_before", [])
    if reminders:
        words += f"; reminded {', '.join(map(str, reminders))} days before"
    return "points expire " + words


def _tiers(tiers: TierPolicy, symbol: str) -> list[dict[str, Any]]:
    period = tiers.period.replace("_", " ")
    metric = tiers.metric
    levels = []
    for level in tiers.levels:
        threshold = (level.get("threshold") or {}).get("amount")
        if threshold is None:
            words = "where every member starts"
        elif metric == "spend":
            words = f"from {_money(symbol, threshold)} qualifying spend ({period})"
        else:
            words = f"from {threshold} {metric.replace('_', ' ')} ({period})"
        levels.append(
            {
                "id": level["id"],
                "name": level.get("name", level["id"]),
                "threshold": threshold,
                "threshold_words": words,
                "benefits": [
                    b.get("description", b.get("kind", "")) for b in level.get("benefits", [])
                ],
            }
        )
    return levels


def _named(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": item["id"],
        "name": item.get("name", item["id"]),
        "description": item.get("description"),
    }


def _rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    window = rule.get("window")
    return {**_named(rule), "window_words": _window_words(window) if window else "always on"}


def _window_words(window: Mapping[str, Any]) -> str:
    return f"{window.get('from') or 'open'} to {window.get('until') or 'open'}"


def _campaign(campaign: Mapping[str, Any]) -> dict[str, Any]:
    window = campaign.get("window", {})
    words = f"{campaign.get('kind', 'campaign')}, {_window_words(window)}"
    return {
        **_named(campaign),
        "kind": campaign.get("kind"),
        "window": window,
        "window_words": words,
    }
