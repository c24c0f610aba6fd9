"""Is a paid level's fee aimed at the top 5-10% of spenders, as the domain notes ask?

A bought level pays for itself once the member's gain over the entry level (its ``discount``
percent plus its extra points' worth at the burn rate) covers the fee: the **break-even
spend** per term. The fee targets the top 5-10% when the members whose spend (in the
qualifying period, scaled to the term) reaches the break-even are 5 to 10% of all members.
That share needs ledger data (``spends``: each member's qualifying spend); without it the
break-even is stated and the share is not measured.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import ROUND_CEILING, Decimal
from typing import Any

from engine.pricing.points import return_on_spend
from engine.review.model import Finding, percent
from engine.review.reading import Document, levels, plain

TARGET = (Decimal("0.05"), Decimal("0.10"))  # the share of members the fee is aimed at


def paid_fee_findings(doc: Document, spends: Sequence[Decimal] | None) -> Iterator[Finding]:
    entry = levels(doc)[0]["id"] if levels(doc) else None
    for index, level in enumerate(levels(doc)):
        if "paid" in level:
            yield _finding(doc, index, level, entry, spends)


def _gain(doc: Document, level: Any, entry: str | None) -> Decimal:
    """What a unit of spend gives at this level beyond the entry level."""
    discount = sum(
        (Decimal(str(b.get("percent", 0))) for b in level.get("benefits", [])
         if b.get("kind") == "discount"),
        Decimal(0),
    ) / 100  # fmt: skip
    earn, burn = doc.get("earn", {}), doc.get("burn")
    multipliers = earn.get("multipliers", {})
    extra = Decimal(str(multipliers.get(level["id"], 1))) - Decimal(str(multipliers.get(entry, 1)))
    points = Decimal(0)
    if burn and extra > 0:
        rate = return_on_spend(
            earn["points"], Decimal(str(earn["per"])), burn["points"], Decimal(str(burn["worth"]))
        )
        points = rate * extra
    return discount + points


def _finding(
    doc: Document, index: int, level: Any, entry: str | None, spends: Sequence[Decimal] | None
) -> Finding:
    path = ("tiers", "levels", index, "paid", "fee")
    fee, term = Decimal(str(level["paid"]["fee"])), int(level["paid"]["term_months"])
    currency = doc["programme"]["currency"]
    gain = _gain(doc, level, entry)
    if gain <= 0:
        return Finding(
            "paid.fee", "warning",
            f"the fee of {level['id']} never pays for itself: the level gives no discount and "
            "no extra points over the entry level",
            path, hint="give the paid level a discount or a higher points multiplier",
        )  # fmt: skip
    even = (fee / gain).quantize(Decimal(1), ROUND_CEILING)
    shown = f"{level['id']} pays for itself from {plain(even)} {currency} of spend per " \
        f"{term} months ({percent(gain)} back on {plain(fee)} {currency})"  # fmt: skip
    measured = {"break_even_spend": plain(even), "gain": percent(gain)}
    if not spends:
        return Finding(
            "paid.fee", "info",
            f"{shown}; no ledger data: the share of members it pays for is not measured",
            path, hint="review with --database to check it targets the top 5-10% by spend",
            measured=measured,
        )  # fmt: skip
    scaled = sorted((s * term / 12 for s in spends), reverse=True)
    share = Decimal(sum(1 for s in scaled if s >= even)) / len(scaled)
    measured["members_reaching_it"] = percent(share)
    low, high = (_fee_at(scaled, gain, q) for q in TARGET)
    if TARGET[0] <= share <= TARGET[1]:
        return Finding(
            "paid.fee", "ok", f"{shown}: {percent(share)} of members spend that much, within "
            "the top 5-10%", path, measured=measured,
        )  # fmt: skip
    aim = "too low: it gives the level away" if share > TARGET[1] else "too high: too few gain"
    return Finding(
        "paid.fee", "warning",
        f"{shown}: {percent(share)} of members spend that much, outside the top 5-10% ({aim})",
        path, hint=f"a fee from {plain(high)} to {plain(low)} {currency} targets the top 5-10% "
        "on this ledger", measured=measured,
    )  # fmt: skip


def _fee_at(scaled: Sequence[Decimal], gain: Decimal, share: Decimal) -> Decimal:
    """The fee whose break-even is the spend of the member at the top ``share`` boundary."""
    rank = max(int(share * len(scaled)) - 1, 0)
    return (scaled[rank] * gain).quantize(Decimal(1))
