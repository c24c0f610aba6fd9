"""Vouchers at the till: each presented code pays part of the basket, once.

A voucher is money off the sale, taken after tier, rule and campaign discounts and before
points are redeemed (rules/README.md, "Vouchers"). It is spread over the lines like a
discount, under the source ``voucher:<code>``, so points are earned on what is left to pay.
A voucher worth more than what is left pays what is left; the rest is not kept (single use).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from engine.errors import RedemptionError
from engine.money import Currency, allocate, from_minor, to_minor
from engine.pricing.model import Member, Transaction, Voucher
from engine.pricing.result import LineState, TraceEntry, VoucherUse


def use_vouchers(
    member: Member,
    transaction: Transaction,
    states: Sequence[LineState],
    at: datetime,
    trace: list[TraceEntry],
    cur: Currency,
) -> list[VoucherUse]:
    """Apply each presented code in order; refuse the sale if one cannot be used."""
    held = {voucher.code: voucher for voucher in member.vouchers}
    uses = []
    for code in transaction.vouchers:
        voucher = held.get(code)
        _check(code, voucher, transaction.channel, at)
        assert voucher is not None  # _check refused it otherwise
        value = to_minor(voucher.value, cur)
        paid = min(value, sum(max(s.after_discounts, 0) for s in states))
        _spread(f"voucher:{code}", paid, states)
        uses.append(VoucherUse(code, value, paid))
        unused = f"; {from_minor(value - paid, cur)} left unused" if paid < value else ""
        trace.append(
            TraceEntry(
                f"voucher:{code}",
                "voucher",
                f"pays {from_minor(paid, cur)} {cur.code}{unused}",
                "presented by the member",
            )
        )
    return uses


def _check(code: str, voucher: Voucher | None, channel: str, at: datetime) -> None:
    if voucher is None:
        raise RedemptionError(
            "voucher.unknown", f"There is no voucher '{code}' this member can use."
        )
    if voucher.used:
        raise RedemptionError("voucher.used", f"Voucher '{code}' has been used already.")
    if voucher.expires_at is not None and at > voucher.expires_at:
        raise RedemptionError(
            "voucher.expired", f"Voucher '{code}' expired at {voucher.expires_at.isoformat()}."
        )
    if voucher.channels and channel not in voucher.channels:
        where = ", ".join(voucher.channels)
        raise RedemptionError(
            "voucher.wrong_channel",
            f"Voucher '{code}' can be used only in: {where} (this sale: '{channel or 'none'}').",
        )


def _spread(source: str, total: int, states: Sequence[LineState]) -> None:
    """Split what a voucher pays over the lines in proportion to what is left on each."""
    weights = [max(s.after_discounts, 0) for s in states]
    if total <= 0 or not any(weights):
        return
    for state, share in zip(states, allocate(total, weights), strict=True):
        if share:
            state.discount(source, share)
