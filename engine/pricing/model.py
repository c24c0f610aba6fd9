"""The engine's inputs: a member's state and a transaction, parsed and checked.

Parsing reports every problem with its path (``lines[2].unit_price``) in one
``InputError``; nothing is half-parsed. Money becomes ``Decimal``, times must
carry an offset, dates are ``date``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from engine.errors import InputError, LoyaltyError
from engine.money import Currency, parse_money, to_minor
from engine.policy.problems import Path, Problem
from engine.policy.schema import schema_problems
from engine.tiering.quantities import Stay

PERIODS = ("day", "week", "month", "year", "campaign", "ever")
MIN_YEAR, MAX_YEAR = 1900, 2999  # beyond these, date arithmetic (expiry) and databases overflow
# The largest sale, in minor units: the matchers carry amounts as integers that must stay exact
# through JSON and C (2**53); a bigger total is refused here, naming the field, not deep inside.
MAX_SALE_MINOR = 10**15


@dataclass(frozen=True)
class Lot:
    """Spendable points earned together; they expire together."""

    id: str
    points: int
    earned_at: datetime
    expires_at: datetime | None = None

    @property
    def available(self) -> int:
        return self.points


@dataclass(frozen=True)
class MemberOffer:
    """An entitlement the member holds (granted by an outreach message), as the ledger keeps it.

    ``effects`` are the §14 effect shapes; ``on`` is a line selector (``{category: coffee}``)
    the basket must match, or None for any sale.
    """

    id: int
    trigger: str
    name: str
    effects: tuple[Mapping[str, Any], ...]
    on: Mapping[str, Any] | None
    valid_from: datetime
    valid_until: datetime
    uses_left: int

    def live(self, at: datetime) -> bool:
        return self.uses_left > 0 and self.valid_from <= at <= self.valid_until


@dataclass(frozen=True)
class Voucher:
    """A voucher presented at the till, as the ledger keeps it (``value`` in money)."""

    code: str
    value: Decimal
    expires_at: datetime | None = None
    channels: tuple[str, ...] = ()  # empty: every channel
    used: bool = False


@dataclass(frozen=True)
class Member:
    """A member's state at the time of a transaction, as the ledger knows it."""

    id: str
    tier: str | None = None
    tier_since: date | None = None
    lots: tuple[Lot, ...] = ()
    pending_points: int = 0
    qualifying_spend: Decimal = Decimal(0)
    earned_in_period: Mapping[str, int] = field(default_factory=dict)
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    birthday: date | None = None
    joined: date | None = None
    last_purchase_at: datetime | None = None
    campaigns: Mapping[str, str] = field(default_factory=dict)
    usage: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    offers: tuple[MemberOffer, ...] = ()  # outreach entitlements held (stored members only)
    points_remainder: Fraction = Fraction(0)  # carried from earlier sales (remainders: carry)
    # Current-window totals of each declared tier metric ("nights": 14), for programmes that
    # declare ``tiers.metrics`` (the ledger's ``member_metrics``; a scenario's ``metrics``).
    metric_totals: Mapping[str, Decimal] = field(default_factory=dict)
    # The stays already counted in the window (a folio continuing one is not a new stay).
    stays: tuple[Stay, ...] = ()
    vouchers: tuple[Voucher, ...] = ()  # the presented codes the ledger found for this member

    def spendable_lots(self, at: datetime) -> tuple[Lot, ...]:
        return tuple(lot for lot in self.lots if lot.expires_at is None or lot.expires_at >= at)

    def balance(self, at: datetime) -> int:
        return sum(lot.points for lot in self.spendable_lots(at))


@dataclass(frozen=True)
class Line:
    """One basket line; ``amount`` is what the till charges before our discounts."""

    id: str
    sku: str
    quantity: int
    unit_price: Decimal
    category: str = ""
    discount: Decimal = Decimal(0)
    # What the line says towards tier metrics (quantities, flags, attributes, stay), as sent:
    # read only by the tier language (``engine.tiering.quantities``).
    tiering: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def gross(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def amount(self) -> Decimal:
        return self.gross - self.discount


@dataclass(frozen=True)
class Tender:
    """One way the member paid part of a sale (``card``, ``stored_value``, ``gift_card``...)."""

    method: str
    amount: Decimal


@dataclass(frozen=True)
class Transaction:
    """A sale as the till sends it."""

    id: str
    at: datetime
    lines: tuple[Line, ...]
    store: str = ""
    channel: str = ""
    redeem_points: int = 0
    claim_reward: str | None = None
    tenders: tuple[Tender, ...] = ()
    # The sale's own quantities and flags towards tier metrics, as sent.
    tiering: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def tier_view(self) -> dict[str, Any]:
        """The sale as ``engine.tiering.quantities`` reads it (ids, categories, SKUs and what
        each line says towards tier metrics)."""
        return {
            **self.tiering,
            "lines": [
                {"id": ln.id, "sku": ln.sku, "quantity": ln.quantity, "category": ln.category}
                | dict(ln.tiering)
                for ln in self.lines
            ],
        }
    vouchers: tuple[str, ...] = ()  # voucher codes presented, used in this order


def parse_member(data: Any, currency: Currency) -> Member:
    """A ``Member`` from plain data (JSON), or an ``InputError`` listing every problem."""
    problems = _shape(data, "member")
    if problems:
        raise InputError("the member state is invalid", problems)
    reader = _Reader(currency)
    member = Member(
        id=data["id"],
        tier=data.get("tier"),
        tier_since=reader.date(data, "tier_since"),
        lots=tuple(reader.lot(lot, ("lots", i)) for i, lot in enumerate(data.get("lots", []))),
        pending_points=data.get("pending_points", 0),
        qualifying_spend=reader.money(data, "qualifying_spend") or Decimal(0),
        earned_in_period=dict(data.get("earned_in_period", {})),
        tags={
            k: tuple(v) if isinstance(v, list) else (v,) for k, v in data.get("tags", {}).items()
        },
        birthday=reader.date(data, "birthday"),
        joined=reader.date(data, "joined"),
        last_purchase_at=reader.moment(data, "last_purchase_at"),
        campaigns=dict(data.get("campaigns", {})),
        usage={k: dict(v) for k, v in data.get("usage", {}).items()},
        points_remainder=Fraction(Decimal(str(data.get("points_remainder", 0)))),
        metric_totals={k: Decimal(str(v)) for k, v in data.get("metrics", {}).items()},
    )
    reader.raise_if_any("the member state is invalid")
    return member


def parse_transaction(data: Any, currency: Currency) -> Transaction:
    """A ``Transaction`` from plain data (JSON), or an ``InputError`` listing every problem."""
    problems = _shape(data, "transaction")
    if problems:
        raise InputError("the transaction is invalid", problems)
    reader = _Reader(currency)
    lines = tuple(reader.line(line, ("lines", i)) for i, line in enumerate(data["lines"]))
    reader.unique_line_ids(lines)
    transaction = Transaction(
        id=data["id"],
        at=reader.moment(data, "at") or datetime.min,
        lines=lines,
        store=data.get("store", ""),
        channel=data.get("channel", ""),
        redeem_points=data.get("redeem_points", 0),
        claim_reward=data.get("claim_reward"),
        tenders=tuple(
            Tender(t["method"], reader.money(t, "amount", ("tenders", i)) or Decimal(0))
            for i, t in enumerate(data.get("tenders", []))
        ),
        tiering=_tiering(data),
        vouchers=tuple(data.get("vouchers", ())),
    )
    for index, duplicate in _duplicates(list(transaction.vouchers)):
        reader.add(("vouchers", index), f"voucher '{duplicate}' is presented twice")
    if transaction.redeem_points and transaction.claim_reward:
        reader.add(("claim_reward",), "redeem points or claim a reward, not both in one sale")
    reader.sale_size(lines)
    reader.raise_if_any("the transaction is invalid")
    return transaction


TIERING_FIELDS = ("quantities", "flags", "attributes", "stay")


def _tiering(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in TIERING_FIELDS if key in data}


def _shape(data: Any, schema: str) -> list[Problem]:
    if not isinstance(data, Mapping):
        return [Problem(f"the {schema} must be a JSON object", ())]
    return list(schema_problems(dict(data), schema))


class _Reader:
    """Converts checked fields, collecting problems instead of stopping at the first."""

    def __init__(self, currency: Currency) -> None:
        self.currency = currency
        self.problems: list[Problem] = []

    def add(self, path: Path, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(message, path, hint=hint, code="input"))

    def raise_if_any(self, message: str) -> None:
        if self.problems:
            raise InputError(message, self.problems)

    def money(self, data: Mapping[str, Any], key: str, base: Path = ()) -> Decimal | None:
        if key not in data:
            return None
        try:
            amount = parse_money(data[key] if not isinstance(data[key], float) else str(data[key]))
            to_minor(amount, self.currency)
        except LoyaltyError as exc:
            self.add((*base, key), str(exc))
            return Decimal(0)
        return amount

    def date(self, data: Mapping[str, Any], key: str, base: Path = ()) -> date | None:
        if key not in data:
            return None
        return date.fromisoformat(data[key])  # the schema's format check has passed

    def moment(self, data: Mapping[str, Any], key: str, base: Path = ()) -> datetime | None:
        if key not in data:
            return None
        text = data[key]
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.add(
                (*base, key),
                f"'{text}' is not a date and time",
                "use ISO 8601 with an offset, e.g. 2026-11-24T10:00:00+08:00",
            )
            return None
        if not MIN_YEAR <= moment.year <= MAX_YEAR:
            self.add((*base, key), f"'{text}' is outside the years {MIN_YEAR} to {MAX_YEAR}")
            return None
        if moment.tzinfo is None:
            self.add(
                (*base, key),
                f"'{text}' has no time zone offset",
                "add the offset, e.g. +08:00 or Z",
            )
            return None
        return moment

    def lot(self, data: Mapping[str, Any], path: Path) -> Lot:
        return Lot(
            id=data["id"],
            points=data["points"],
            earned_at=self.moment(data, "earned_at", path) or datetime.min,
            expires_at=self.moment(data, "expires_at", path) if data.get("expires_at") else None,
        )

    def line(self, data: Mapping[str, Any], path: Path) -> Line:
        line = Line(
            id=data["id"],
            sku=data["sku"],
            quantity=data["quantity"],
            unit_price=self.money(data, "unit_price", path) or Decimal(0),
            category=data.get("category", ""),
            discount=self.money(data, "discount", path) or Decimal(0),
            tiering=_tiering(data),
        )
        if line.unit_price < 0:
            self.add((*path, "unit_price"), "a unit price cannot be negative")
        if line.discount < 0 or line.discount > line.gross:
            self.add((*path, "discount"), f"the line discount must be between 0 and {line.gross}")
        return line

    def sale_size(self, lines: tuple[Line, ...]) -> None:
        """Refuse a line or a basket above ``MAX_SALE_MINOR`` (a typo'd price, a test value)."""
        limit = Decimal(MAX_SALE_MINOR).scaleb(-self.currency.exponent)
        largest = f"{limit:,f} {self.currency.code}"
        for index, line in enumerate(lines):
            if line.gross > limit:
                self.add(
                    ("lines", index, "unit_price"),
                    f"quantity times unit_price comes to {line.gross:,f}; a sale may come to "
                    f"at most {largest}",
                )
        total = sum((line.gross for line in lines), Decimal(0))
        if total > limit and all(line.gross <= limit for line in lines):
            self.add(("lines",), f"the lines come to {total:,f}; at most {largest} per sale")

    def unique_line_ids(self, lines: tuple[Line, ...]) -> None:
        for index, duplicate in _duplicates([line.id for line in lines]):
            self.add(("lines", index, "id"), f"line id '{duplicate}' is used twice")


def _duplicates(ids: list[str]) -> Iterator[tuple[int, str]]:
    seen: set[str] = set()
    for index, item in enumerate(ids):
        if item in seen:
            yield index, item
        seen.add(item)
