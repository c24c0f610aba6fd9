"""Turn a member and a transaction into the matchers' facts.

Facts are normalised once: money in integer minor units, dates as YYYYMMDD
integers, local times in the programme's zone, tags as lists. Conditions see
the amounts the till sent (after its own line discounts), before any of our
discounts, so no rule depends on another rule's effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from engine.calendar import birthday_flags, local_date, weekday_code, yyyymmdd
from engine.money import Currency, to_minor
from engine.pricing.model import Line, Member, Transaction
from engine.rules.facts import Facts

HOLDOUT = "holdout"


class PricedLine(Protocol):
    """A sale line with its price in minor units (read-only, so frozen dataclasses fit)."""

    @property
    def index(self) -> int: ...
    @property
    def line(self) -> Line: ...
    @property
    def amount(self) -> int: ...


def build_facts(
    member: Member,
    transaction: Transaction,
    lines: Sequence[PricedLine],
    *,
    at: datetime,
    tz: ZoneInfo,
    currency: Currency,
) -> Facts:
    """The facts for one evaluation at ``at`` (what-if dates move every date-based fact)."""
    return Facts(
        transaction=_transaction_fact(transaction, lines, at, tz),
        member=_member_fact(member, at, tz),
        lines=tuple(_line_fact(state, currency) for state in lines),
    )


def _transaction_fact(
    transaction: Transaction, lines: Sequence[PricedLine], at: datetime, tz: ZoneInfo
) -> dict[str, Any]:
    local = at.astimezone(tz)
    return {
        "amount": sum(state.amount for state in lines),
        "channel": transaction.channel,
        "store": transaction.store,
        "date": yyyymmdd(local.date()),
        "weekday": weekday_code(local.date()),
        "hour": local.hour,
        "item_count": sum(state.line.quantity for state in lines),
    }


def _member_fact(member: Member, at: datetime, tz: ZoneInfo) -> dict[str, Any]:
    today = local_date(at, tz)
    fact: dict[str, Any] = {
        "tier": member.tier or "",
        "balance": member.balance(at),
        "tags": {name: list(values) for name, values in member.tags.items()},
        **birthday_flags(member.birthday, today),
    }
    if member.last_purchase_at is not None:
        fact["days_since_last_purchase"] = (today - local_date(member.last_purchase_at, tz)).days
    if member.joined is not None:
        fact["joined"] = yyyymmdd(member.joined)
        fact["days_since_joined"] = (today - member.joined).days
    groups = sorted(f"{c}/{g}" for c, g in member.campaigns.items() if g != HOLDOUT)
    if groups:
        fact["campaign_group"] = groups[0]
    return fact


def _line_fact(state: PricedLine, currency: Currency) -> dict[str, Any]:
    line = state.line
    return {
        "index": state.index,
        "category": line.category,
        "sku": line.sku,
        "quantity": line.quantity,
        "unit_price": to_minor(line.unit_price, currency),
        "amount": state.amount,
    }
