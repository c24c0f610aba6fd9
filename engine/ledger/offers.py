"""Member offers: the entitlements outreach messages promise, held, used and given back.

An outreach trigger with ``grants`` creates one ``member_offers`` row with each task it
creates (``engine.outreach.grants``). This module is the ledger's side of them:

- ``held_offers``: what a member's quote may apply (loaded with the member, ``state.py``);
- ``use_member_offers``: a committed sale that applied an offer uses it once (one call from
  ``postings.post_quote``, inside the sale's transaction, with the member's row locked);
- ``give_back_uses``: a return of the whole sale gives its uses back, as it reverts the
  sale's rule and campaign uses.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from engine.errors import ConflictError
from engine.ledger.tables import member_offer_uses, member_offers
from engine.pricing import Quote
from engine.pricing.model import MemberOffer

PREFIX = "outreach:"  # the condition id of a member offer in a quote: outreach:<row id>
# Stored JSON keeps fractional numbers as text (no float ever touches money); read back exact.
DECIMAL_FIELDS = frozenset({"percent", "amount", "max_price", "points_multiplier"})


def held_offers(
    conn: Connection, programme: str, member_id: str, at: datetime
) -> tuple[MemberOffer, ...]:
    """The member's offers with uses left whose window has not ended at ``at``.

    Offers whose window has not begun are loaded too, so an explained quote can say why.
    """
    rows = conn.execute(
        select(member_offers)
        .where(
            member_offers.c.programme == programme,
            member_offers.c.member_id == member_id,
            member_offers.c.uses_left > 0,
            member_offers.c.valid_until >= at,
        )
        .order_by(member_offers.c.id)
    ).mappings()
    return tuple(
        MemberOffer(
            id=row["id"],
            trigger=row["trigger_id"],
            name=row["effect"]["name"],
            effects=tuple(_with_numbers(effect) for effect in row["effect"]["offer"]),
            on=row["effect"].get("on"),
            valid_from=row["valid_from"],
            valid_until=row["valid_until"],
            uses_left=row["uses_left"],
        )
        for row in rows
    )


def _with_numbers(value: Any, key: str = "") -> Any:
    """An effect as the document gives it: decimals written as text become ``Decimal``."""
    if isinstance(value, dict):
        return {k: _with_numbers(v, k) for k, v in value.items()}
    if isinstance(value, str) and key in DECIMAL_FIELDS:
        return Decimal(value)
    return value


def use_member_offers(
    conn: Connection, programme: str, member_id: str, quote: Quote, at: datetime
) -> None:
    """Take one use of every member offer the committed sale applied, and record which sale."""
    for applied in quote.applied:
        if applied.offer.kind != "outreach":
            continue
        offer_id = int(applied.offer.condition_id.removeprefix(PREFIX))
        taken = conn.execute(
            update(member_offers)
            .where(
                member_offers.c.id == offer_id,
                member_offers.c.programme == programme,
                member_offers.c.member_id == member_id,
                member_offers.c.uses_left > 0,
            )
            .values(uses_left=member_offers.c.uses_left - 1)
        ).rowcount
        if taken != 1:  # the member's row is locked: only a bug or a hand edit gets here
            raise ConflictError(f"the offer '{applied.offer.name}' was used up meanwhile; retry")
        conn.execute(
            insert(member_offer_uses).values(
                offer_id=offer_id,
                transaction_id=quote.transaction_id,
                programme=programme,
                at=at,
                returned=False,
            )
        )


def give_back_uses(conn: Connection, programme: str, sale_id: str) -> int:
    """A return of the whole sale gives back the uses it took; how many were given back.

    A partial return keeps the use: the member still had the sale the offer was for.
    """
    used = (
        conn.execute(
            select(member_offer_uses.c.offer_id).where(
                member_offer_uses.c.programme == programme,
                member_offer_uses.c.transaction_id == sale_id,
                member_offer_uses.c.returned.is_(False),
            )
        )
        .scalars()
        .all()
    )
    for offer_id in used:
        conn.execute(
            update(member_offers)
            .where(member_offers.c.id == offer_id)
            .values(uses_left=member_offers.c.uses_left + 1)
        )
    if used:
        conn.execute(
            update(member_offer_uses)
            .where(
                member_offer_uses.c.programme == programme,
                member_offer_uses.c.transaction_id == sale_id,
            )
            .values(returned=True)
        )
    return len(used)
