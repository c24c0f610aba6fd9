"""The benchmarked sale: the coffee-shop programme, a gold member and a 5-line basket.

Wednesday 18 November 2026 at 08:15 in Shanghai, the member's last visit two days before:
every coffee-shop rule fires (the combo twice: two coffees by one pastry).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.money import to_minor
from engine.policy.loader import Programme, load_programme
from engine.pricing import Evaluator, LineState
from engine.pricing.facts import build_facts
from engine.pricing.model import Member, Transaction, parse_member, parse_transaction
from engine.rules.facts import Facts

PROGRAMME = Path(__file__).resolve().parent.parent / "rules" / "coffee-shop" / "programme.yaml"

_LOT: dict[str, Any] = {
    "id": "lot-1",
    "points": 120,
    "earned_at": "2026-01-05T09:00:00+08:00",
    "expires_at": "2027-01-31T23:59:59+08:00",
}
MEMBER: dict[str, Any] = {
    "id": "m-1001",
    "tier": "gold",
    "qualifying_spend": "1260.00",
    "joined": "2025-04-02",
    "birthday": "1990-06-12",
    "last_purchase_at": "2026-11-16T08:40:00+08:00",
    "earned_in_period": {"day": 0, "month": 310},
    "lots": [
        _LOT,
        {**_LOT, "id": "lot-2", "points": 340, "earned_at": "2026-06-11T08:10:00+08:00"},
        {**_LOT, "id": "lot-3", "points": 75, "earned_at": "2026-10-02T07:55:00+08:00"},
    ],
}


def _line(number: int, sku: str, price: str, category: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "id": str(number),
        "sku": sku,
        "quantity": quantity,
        "unit_price": price,
        "category": category,
    }


TRANSACTION: dict[str, Any] = {
    "id": "t-20261118-0042",
    "at": "2026-11-18T08:15:00+08:00",
    "store": "sh-001",
    "channel": "store",
    "lines": [
        _line(1, "LATTE-M", "32.00", "coffee"),
        _line(2, "AMERICANO-M", "26.00", "coffee"),
        _line(3, "CROISSANT", "18.00", "pastry"),
        _line(4, "BEANS-YIRG-250", "88.00", "beans", quantity=2),
        _line(5, "MUG-ANNIV-2026", "59.00", "merch"),
    ],
}

# Other sales the hand-written baseline is checked against (not timed): no rule, other tiers.
VARIANTS: tuple[tuple[dict[str, Any], dict[str, Any]], ...] = (
    (
        {**MEMBER, "tier": "platinum", "last_purchase_at": "2026-11-01T10:00:00+08:00"},
        {**TRANSACTION, "at": "2026-11-21T15:30:00+08:00"},
    ),
    (
        {"id": "m-2", "tier": "standard", "qualifying_spend": "790.00"},
        {
            **TRANSACTION,
            "at": "2026-12-18T09:59:00+08:00",
            "lines": [
                _line(1, "LATTE-M", "32.00", "coffee"),
                _line(2, "GIFT-100", "100.00", "gift_cards"),
                _line(3, "BEANS-HOUSE-500", "75.50", "beans"),
            ],
        },
    ),
    (
        {
            **MEMBER,
            "earned_in_period": {"day": 1900},
            "usage": {"back-within-three-days": {"month": 4}},
        },
        TRANSACTION,
    ),
)


@dataclass(frozen=True)
class Sale:
    """One member and one transaction, parsed once, and the facts the matchers see."""

    member: Member
    transaction: Transaction
    facts: Facts


@dataclass(frozen=True)
class Setup:
    programme: Programme
    durable: Evaluator
    python: Evaluator
    sale: Sale


def load() -> Setup:
    programme = load_programme(PROGRAMME)
    durable = Evaluator(programme, matcher="durable")
    python = Evaluator(programme, matcher="python")
    return Setup(programme, durable, python, parse_sale(durable, MEMBER, TRANSACTION))


def parse_sale(evaluator: Evaluator, member: dict[str, Any], transaction: dict[str, Any]) -> Sale:
    """Parse as a request handler would, and build the facts as ``Evaluator.quote`` does."""
    cur = evaluator.currency
    parsed_member = parse_member(member, cur)
    parsed = parse_transaction(transaction, cur)
    states = [LineState(i, line, to_minor(line.amount, cur)) for i, line in enumerate(parsed.lines)]
    facts = build_facts(parsed_member, parsed, states, at=parsed.at, tz=evaluator.tz, currency=cur)
    return Sale(parsed_member, parsed, facts)
