"""Vouchers in the ledger: issued, listed, used once at the till, each movement journalled.

- ``issue``: one voucher for a member (a rule's effect, a conversion job, a certificate);
- ``generate``: bearer codes in bulk for a campaign, unguessable and unique;
- ``held_vouchers``: the presented codes a quote may use (loaded with the member);
- ``use_vouchers``: a committed sale uses what its quote applied, exactly once even when two
  tills race for one code (the conditional UPDATE lets one of them through);
- ``member_vouchers``: what the member view lists;
- ``issue_for_sale`` / ``void_sale_vouchers``: a rule's ``voucher`` effect issues one with the
  committed sale; a return of the whole sale ends it if unused.

A return does not give back a voucher the sale used: what it paid is part of the sale's
discount, and the till refunds only money the member paid (rules/README.md, "Vouchers").
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from engine.calendar import end_of_day, local_date
from engine.errors import ConflictError, InputError, LoyaltyError
from engine.ledger import dialect
from engine.ledger.tables import voucher_events, vouchers
from engine.money import Currency, currency, parse_money, to_minor
from engine.policy.problems import Problem
from engine.pricing import Quote
from engine.pricing.model import Voucher

# No 0/O, 1/I/L, U: a code read aloud or typed at a till is not mistaken. 30 symbols, 12 of
# them: about 59 bits, so guessing a live code among a million is ~1 in 5·10^11 per try.
ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 12
MAX_BATCH = 10_000  # codes one bulk request may create (a campaign may ask several times)
CHUNK = 1_000  # rows per INSERT of a bulk generation


def new_code() -> str:
    """An unguessable voucher code such as ``K7QM-2XWD-9HTA`` (``secrets``, not ``random``)."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(symbols[i : i + 4] for i in range(0, CODE_LENGTH, 4))


@dataclass(frozen=True)
class Issue:
    """What one voucher is: its worth, where it may be used, until when, and why it exists."""

    value: Decimal
    source: str
    batch: str
    expires_at: datetime | None = None
    channels: tuple[str, ...] = ()
    points: int = 0


def issue(
    conn: Connection, programme: str, member_id: str | None, what: Issue, at: datetime
) -> str | None:
    """Issue one voucher; None when ``what.batch`` already gave this member one (a re-run)."""
    while True:
        code = new_code()
        inserted = conn.execute(
            dialect.insert_new(conn, vouchers)
            .values(**_row(programme, member_id, what, at), code=code)
            .returning(vouchers.c.id)
        ).first()
        if inserted is not None:
            break
        if _issued(conn, programme, member_id, what.batch):
            return None
        # else the code collided with another one: draw again
    _event(conn, programme, inserted[0], "issue", member_id, None, what.value, at, what.source)
    return code


def generate(conn: Connection, programme: str, what: Issue, count: int, at: datetime) -> list[str]:
    """``count`` bearer codes for a campaign, all new; a collision (never seen, but possible)
    is drawn again, so the batch always holds exactly ``count`` distinct codes."""
    made: list[str] = []
    while len(made) < count:
        want = min(CHUNK, count - len(made))
        codes = {new_code() for _ in range(want)}
        rows = [{**_row(programme, None, what, at), "code": code} for code in codes]
        stored = conn.execute(
            dialect.insert_new(conn, vouchers).returning(vouchers.c.id, vouchers.c.code), rows
        ).all()
        conn.execute(
            insert(voucher_events),
            [
                _event_row(programme, vid, "issue", None, None, what.value, at, what.source)
                for vid, _ in stored
            ],
        )
        made.extend(code for _, code in stored)
    return made


def issue_many(
    conn: Connection,
    programme: str,
    what: Issue,
    values: Mapping[str, Decimal],
    points: Mapping[str, int],
    at: datetime,
) -> set[str]:
    """One voucher per member of ``values`` (worth its value, ``points`` converted into it)
    under ``what``'s batch, in one INSERT; the members whose voucher was written. A member
    who already has one of this batch gets none (a re-run); so does one whose drawn code
    collided (vanishingly rare): the job's next run issues theirs."""
    if not values:
        return set()
    rows = [
        {
            **_row(programme, member, what, at),
            "value": value,
            "points": points.get(member, 0),
            "code": new_code(),
        }
        for member, value in values.items()
    ]
    stored = conn.execute(
        dialect.insert_new(conn, vouchers).returning(
            vouchers.c.id, vouchers.c.member_id, vouchers.c.value
        ),
        rows,
    ).all()
    if stored:
        conn.execute(
            insert(voucher_events),
            [
                _event_row(programme, vid, "issue", member, None, value, at, what.source)
                for vid, member, value in stored
            ],
        )
    return {member for _, member, _ in stored}


def batch_codes(conn: Connection, programme: str, batch: str) -> list[str]:
    """The codes already issued under ``batch`` (a repeated bulk request gets these back)."""
    query = select(vouchers.c.code).where(
        vouchers.c.programme == programme, vouchers.c.batch == batch
    )
    return list(conn.execute(query.order_by(vouchers.c.id)).scalars())


def held_vouchers(
    conn: Connection, programme: str, member_id: str, codes: Sequence[str]
) -> tuple[Voucher, ...]:
    """The presented codes the member may use: their own, or bearer codes (used ones too,
    so the quote can say so). Codes of another member are not found."""
    if not codes:
        return ()
    rows = conn.execute(
        select(vouchers).where(
            vouchers.c.programme == programme,
            vouchers.c.code.in_(list(codes)),
            or_(vouchers.c.member_id == member_id, vouchers.c.member_id.is_(None)),
        )
    ).mappings()
    return tuple(
        Voucher(
            code=row["code"],
            value=Decimal(row["value"]),
            expires_at=row["expires_at"],
            channels=tuple(row["channels"] or ()),
            used=row["used_at"] is not None,
        )
        for row in rows
    )


def use_vouchers(
    conn: Connection, programme: str, member_id: str, quote: Quote, at: datetime
) -> None:
    """Mark every voucher the committed sale used, once; a concurrent sale that used one
    first makes this one fail (409, nothing written), whichever member it was."""
    for use in quote.vouchers:
        done = conn.execute(
            update(vouchers)
            .where(
                vouchers.c.programme == programme,
                vouchers.c.code == use.code,
                vouchers.c.used_at.is_(None),
                or_(vouchers.c.member_id == member_id, vouchers.c.member_id.is_(None)),
            )
            .values(used_at=at, used_by=quote.transaction_id, used_member=member_id)
            .returning(vouchers.c.id)
        ).first()
        if done is None:
            raise ConflictError(f"voucher '{use.code}' was used by another sale at the same moment")
        paid = Decimal(quote.money(use.paid))
        _event(conn, programme, done[0], "use", member_id, quote.transaction_id, paid, at, None)


def member_vouchers(
    conn: Connection, programme: str, member_id: str, at: datetime, quantum: Decimal
) -> list[dict[str, Any]]:
    """The member's vouchers and the bearer codes they used, newest first, each with its
    state at ``at``."""
    rows = conn.execute(
        select(vouchers)
        .where(
            vouchers.c.programme == programme,
            # their own, and the bearer codes they used
            or_(vouchers.c.member_id == member_id, vouchers.c.used_member == member_id),
        )
        .order_by(vouchers.c.issued_at.desc(), vouchers.c.id.desc())
    ).mappings()
    return [_listed(row, at, quantum) for row in rows]


def _listed(row: Any, at: datetime, quantum: Decimal) -> dict[str, Any]:
    expires = row["expires_at"]
    if row["used_at"] is not None:
        state = "used"
    elif expires is not None and expires < at:
        state = "expired"
    else:
        state = "open"
    return {
        "code": row["code"],
        "value": str(Decimal(row["value"]).quantize(quantum)),
        "state": state,
        "source": row["source"],
        "channels": list(row["channels"] or ()),
        "issued_at": row["issued_at"].isoformat(),
        "expires_at": expires.isoformat() if expires else None,
        "used_at": row["used_at"].isoformat() if row["used_at"] else None,
        "used_by": row["used_by"],
    }


def _issued(conn: Connection, programme: str, member_id: str | None, batch: str) -> bool:
    query = select(func.count()).where(
        vouchers.c.programme == programme,
        vouchers.c.batch == batch,
        vouchers.c.member_id == member_id,
    )
    return bool(conn.execute(query).scalar_one())


def _row(programme: str, member_id: str | None, what: Issue, at: datetime) -> dict[str, Any]:
    return {
        "programme": programme,
        "member_id": member_id,
        "value": what.value,
        "points": what.points,
        "source": what.source,
        "batch": what.batch,
        "channels": list(what.channels),
        "issued_at": at,
        "expires_at": what.expires_at,
    }


def _event(
    conn: Connection,
    programme: str,
    voucher_id: int,
    kind: str,
    member_id: str | None,
    transaction_id: str | None,
    amount: Decimal,
    at: datetime,
    reason: str | None,
) -> None:
    row = _event_row(programme, voucher_id, kind, member_id, transaction_id, amount, at, reason)
    conn.execute(insert(voucher_events), [row])


def _event_row(
    programme: str,
    voucher_id: int,
    kind: str,
    member_id: str | None,
    transaction_id: str | None,
    amount: Decimal,
    at: datetime,
    reason: str | None,
) -> dict[str, Any]:
    return {
        "programme": programme,
        "voucher_id": voucher_id,
        "kind": kind,
        "member_id": member_id,
        "transaction_id": transaction_id,
        "amount": amount,
        "at": at,
        "reason": reason,
    }


def journal_of(conn: Connection, programme: str, codes: Iterable[str]) -> list[dict[str, Any]]:
    """Every event of the given codes, oldest first (for tests and the member's history)."""
    query = (
        select(
            vouchers.c.code,
            voucher_events.c.kind,
            voucher_events.c.amount,
            voucher_events.c.transaction_id,
        )
        .join(vouchers, vouchers.c.id == voucher_events.c.voucher_id)
        .where(voucher_events.c.programme == programme, vouchers.c.code.in_(list(codes)))
        .order_by(voucher_events.c.id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


@dataclass(frozen=True)
class Bulk:
    """A request for a campaign's bearer codes: ``count`` vouchers of ``value`` each."""

    id: str
    campaign: str
    count: int
    value: Decimal
    expires_at: datetime | None
    channels: tuple[str, ...]

    @property
    def batch(self) -> str:
        return f"bulk:{self.id}"

    def issue(self) -> Issue:
        return Issue(
            self.value, f"campaign:{self.campaign}", self.batch, self.expires_at, self.channels
        )


def parse_bulk(body: Any, cur: Currency) -> Bulk:
    """A bulk request from JSON, or an ``InputError`` naming every bad field."""
    if not isinstance(body, dict):
        raise InputError("the voucher batch is invalid", [Problem("expected a JSON object", ())])
    problems: list[Problem] = []

    def bad(field: str, message: str) -> None:
        problems.append(Problem(message, (field,), code="input"))

    ident, campaign = body.get("id"), body.get("campaign", body.get("id"))
    if not isinstance(ident, str) or not 0 < len(ident) <= MAX_TEXT:
        bad("id", f"id must be text of 1 to {MAX_TEXT} characters (the batch's identity)")
    if not isinstance(campaign, str) or not 0 < len(campaign) <= MAX_TEXT:
        bad("campaign", f"campaign must be text of 1 to {MAX_TEXT} characters")
    count = body.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= MAX_BATCH:
        bad("count", f"count must be a whole number from 1 to {MAX_BATCH:,}")
    value = _money(body.get("value"), cur, bad)
    expires_at = _instant(body.get("expires_at"), bad)
    channels = body.get("channels", [])
    if not isinstance(channels, list) or not all(
        isinstance(c, str) and 0 < len(c) <= 64 for c in channels
    ):
        bad("channels", "channels must be a list of channel names (empty: every channel)")
    if problems:
        raise InputError("the voucher batch is invalid", problems)
    return Bulk(str(ident), str(campaign), int(str(count)), value, expires_at, tuple(channels))


MAX_TEXT = 64


def _money(value: Any, cur: Currency, bad: Callable[[str, str], None]) -> Decimal:
    try:
        amount = parse_money(value if not isinstance(value, float) else str(value))
        to_minor(amount, cur)
    except (LoyaltyError, TypeError):
        bad("value", f'value must be an amount in {cur.code}, e.g. "5.00"')
        return Decimal(0)
    if amount <= 0:
        bad("value", "a voucher's value must be more than 0")
    return amount


def _instant(value: Any, bad: Callable[[str, str], None]) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        bad("expires_at", "expires_at must be a date and time with an offset")
        return None
    return moment


# --- vouchers a rule's effect issues ----------------------------------------------------------


def issue_for_sale(
    conn: Connection, programme: str, member_id: str, quote: Quote, tz: Any
) -> list[dict[str, Any]]:
    """Issue the vouchers the committed sale's applied rules and campaigns give (a ``then``
    effect ``voucher: {value, expires_in_days?, channels?}``); what the sale's answer lists.
    Each is keyed by the sale and the offer, so a sale issues each offer's voucher once."""
    made = []
    at = quote.evaluated_at
    for applied in quote.applied:
        for effect in applied.offer.effects:
            spec = effect.get("voucher")
            if not isinstance(spec, Mapping):
                continue
            days = spec.get("expires_in_days")
            expires = end_of_day(local_date(at, tz) + timedelta(days=days), tz) if days else None
            what = Issue(
                Decimal(str(spec["value"])),
                applied.offer.source,
                f"sale:{quote.transaction_id}:{applied.offer.source}",
                expires,
                tuple(spec.get("channels", ())),
            )
            code = issue(conn, programme, member_id, what, at)
            if code is not None:
                made.append(
                    {
                        "code": code,
                        "value": quote.money(to_minor(what.value, currency(quote.currency))),
                        "source": what.source,
                        "expires_at": expires.isoformat() if expires else None,
                    }
                )
    return made


def void_sale_vouchers(conn: Connection, programme: str, sale_id: str, at: datetime) -> None:
    """A whole return takes back the vouchers the sale issued that are still unused: they
    end now (a voucher already used stays used; the money it took off is the store's)."""
    prefix = f"sale:{sale_id}:"
    rows = conn.execute(
        update(vouchers)
        .where(
            vouchers.c.programme == programme,
            vouchers.c.batch.startswith(prefix, autoescape=True),
            vouchers.c.used_at.is_(None),
            or_(vouchers.c.expires_at.is_(None), vouchers.c.expires_at > at),
        )
        .values(expires_at=at)
        .returning(vouchers.c.id, vouchers.c.member_id, vouchers.c.value)
    ).all()
    for vid, member, value in rows:
        _event(conn, programme, vid, "void", member, sale_id, value, at, "the sale was returned")
