"""The result of pricing one sale: its lines, the quote, and the quote's JSON.

Amounts are integer minor units while a sale is priced; ``Quote.as_dict`` gives money as
exact decimal strings and times in ISO 8601.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from engine.money import currency, from_minor
from engine.pricing.earning import Earned
from engine.pricing.model import Line
from engine.pricing.offers import Applied, Skipped
from engine.pricing.tiers import Progress, metric_json


@dataclass
class LineState:
    """A basket line while it is being priced (amounts in minor units).

    Add discounts with ``discount()``: it keeps ``after_discounts`` up to date, which pricing
    reads many times per quote.
    """

    index: int
    line: Line
    amount: int
    discounts: list[tuple[str, int]] = field(default_factory=list)
    redeemed: int = 0
    after_discounts: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.after_discounts = self.amount - sum(amount for _, amount in self.discounts)

    def discount(self, source: str, amount: int) -> None:
        self.discounts.append((source, amount))
        self.after_discounts -= amount

    @property
    def payable(self) -> int:
        return self.after_discounts - self.redeemed


@dataclass(frozen=True)
class TraceEntry:
    source: str  # "tier:gold", "rule:combo", "campaign:rain/a", "redemption"
    effect: str
    detail: str
    reason: str


@dataclass(frozen=True)
class VoucherUse:
    """What one voucher presented at the till paid (minor units); see engine.pricing.vouchers."""

    code: str
    value: int
    paid: int


@dataclass
class Quote:
    """Everything a sale means for the member, computed exactly and explained."""

    programme: str
    version: str
    currency: str
    transaction_id: str
    member_id: str
    evaluated_at: datetime
    lines: list[LineState]
    redeemed_points: int
    redeemed_lots: list[tuple[str, int]]
    reward: str | None
    earned: Earned
    pending_until: datetime | None
    expires_at: datetime | None
    tier: Progress
    applied: list[Applied]
    messages: list[str]
    trace: list[TraceEntry]
    not_applied: list[Skipped] | None = None
    exponent: int = 2
    earn_factor: Fraction = Fraction(1)  # the base points' multiplier for the tenders used
    vouchers: list[VoucherUse] = field(default_factory=list)  # presented codes, what each paid

    def money(self, minor: int) -> str:
        return str(from_minor(minor, currency(self.currency)))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view: money as exact decimal strings, times in ISO 8601."""
        total = sum(s.amount for s in self.lines)
        discounts = sum(s.amount - s.after_discounts for s in self.lines)
        redeemed = sum(s.redeemed for s in self.lines)
        result: dict[str, Any] = {
            "programme": self.programme,
            "version": self.version,
            "currency": self.currency,
            "transaction_id": self.transaction_id,
            "member_id": self.member_id,
            "evaluated_at": self.evaluated_at.isoformat(),
            "lines": [self._line(s) for s in self.lines],
            "totals": {
                "amount": self.money(total),
                "discounts": self.money(discounts),
                "redeemed_value": self.money(redeemed),
                "payable": self.money(total - discounts - redeemed),
            },
            "redemption": {
                "points": self.redeemed_points,
                "value": self.money(redeemed),
                "reward": self.reward,
                "lots": [{"lot_id": lot, "points": n} for lot, n in self.redeemed_lots],
            },
            "points": self._points(),
            "tier": self._tier(),
            "applied": [
                {"source": a.offer.source, "name": a.offer.name, "lines": list(a.lines)}
                for a in self.applied
            ],
            "messages": self.messages,
            "trace": [vars(entry) for entry in self.trace],
        }
        if self.vouchers:  # only when the sale presents vouchers: other quotes keep their shape
            result["vouchers"] = [
                {"code": v.code, "value": self.money(v.value), "paid": self.money(v.paid)}
                for v in self.vouchers
            ]
        if self.not_applied is not None:
            result["not_applied"] = [
                {"source": s.offer.source, "name": s.offer.name, "reason": s.reason}
                for s in self.not_applied
            ]
        return result

    def _line(self, state: LineState) -> dict[str, Any]:
        return {
            "id": state.line.id,
            "sku": state.line.sku,
            "category": state.line.category,
            "amount": self.money(state.amount),
            "discounts": [{"source": s, "amount": self.money(a)} for s, a in state.discounts],
            "redeemed_value": self.money(state.redeemed),
            "payable": self.money(state.payable),
        }

    def _points(self) -> dict[str, Any]:
        earned = self.earned
        carried = (
            {} if earned.remainder is None else {"remainder": remainder_text(earned.remainder)}
        )
        return {
            "base": earned.base,
            "tier_bonus": earned.tier_bonus,
            "rule_bonus": earned.rule_bonus,
            "campaign_bonus": earned.campaign_bonus,
            "capped": earned.capped,
            "total": earned.total,
            "status": _status(earned.total, self.pending_until),
            "spendable_from": self.pending_until.isoformat()
            if self.pending_until and earned.total > 0
            else None,
            # The last second of the last local day (§12), not its last microsecond.
            "expires_at": self.expires_at.isoformat("T", "seconds") if self.expires_at else None,
            **carried,
        }

    def _tier(self) -> dict[str, Any]:
        tier = self.tier
        remaining = tier.remaining
        return {
            "before": tier.tier_before,
            "after": tier.tier_after,
            "upgraded": tier.upgraded,
            "qualifying_before": str(tier.qualifying_before),
            "qualifying_after": str(tier.qualifying_after),
            "next": tier.next_tier,
            "next_threshold": str(tier.next_threshold) if tier.next_threshold is not None else None,
            "remaining_to_next": str(remaining) if remaining is not None else None,
        } | self._tier_path()

    def _tier_path(self) -> dict[str, Any]:
        """Programmes counting tier metrics: the window totals after the sale and the closest
        path to the next tier ("3 nights to Gold")."""
        shown = metric_json(self.tier)
        if "totals" in shown:
            shown["totals_after"] = shown.pop("totals")
        return shown


def _status(total: int, pending_until: datetime | None) -> str:
    """A sale that earns no points has nothing pending or spendable: ``none``."""
    if total <= 0:
        return "none"
    return "pending" if pending_until else "spendable"


REMAINDER_UNITS = 10**6  # a carried remainder is kept in millionths of a point, rounded down


def remainder_units(remainder: Fraction) -> int:
    """A carried remainder in millionths of a point, rounded down (never gives points away)."""
    return remainder.numerator * REMAINDER_UNITS // remainder.denominator


def remainder_text(remainder: Fraction) -> str:
    """A carried remainder as the quote shows it: the millionths kept, e.g. ``0.6``."""
    units = remainder_units(remainder)
    return f"{(Decimal(units) / REMAINDER_UNITS).normalize():f}" if units else "0"
