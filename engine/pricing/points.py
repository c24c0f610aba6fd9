"""Points arithmetic: earning, what points are worth, what they really cost, redeeming them.

Conventions:

* Points are ``int``; money is ``Decimal``; rates (redemption rate, cost-of-goods ratio) are
  fractions between 0 and 1 as ``Decimal`` (80% is ``Decimal("0.8")``). The programme file
  states percentages; divide by 100 before calling.
* Intermediate arithmetic is done with exact fractions, so a rule like "5 points per 3.3"
  rounds the true value, not a 28-digit approximation of it.
* Money derived from points is cut to whole minor units toward zero (never creates money);
  points needed for an amount are rounded up (never too few).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Literal, Protocol, get_args

from engine.errors import InputError, RedemptionError
from engine.money import Currency, from_minor

__all__ = [
    "Lot",
    "PointsLot",
    "Rounding",
    "consume_lots",
    "points_for",
    "points_needed",
    "real_cost_of_points",
    "redemption_value",
    "return_on_spend",
    "round_points",
    "round_ratio",
    "validate_redemption",
]

Rounding = Literal["floor", "round_half_up", "ceil"]
_ROUNDINGS: tuple[str, ...] = get_args(Rounding)


# --- checks on arguments ---------------------------------------------------------------


def _whole(name: str, value: object, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be a whole number of at least {minimum}, not {value!r}.")
    return value


def _amount(name: str, value: object, *, positive: bool = False) -> Fraction:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InputError(f"{name} must be a finite Decimal, not {value!r}.")
    if value < 0 or (positive and value == 0):
        bound = "more than" if positive else "at least"
        raise InputError(f"{name} must be {bound} 0, not {value}.")
    return Fraction(value)


def _rate(name: str, value: object) -> Fraction:
    exact = _amount(name, value)
    if exact > 1:
        raise InputError(f"{name} is a fraction between 0 and 1 (80% is 0.8), not {value}.")
    return exact


def _to_decimal(value: Fraction) -> Decimal:
    # Exact when the fraction has a finite decimal form; else correct to 28 significant digits.
    return Decimal(value.numerator) / Decimal(value.denominator)


# --- rounding and earning ----------------------------------------------------------------


def round_fraction(value: Fraction, mode: Rounding) -> int:
    """Whole points from an exact fraction, by ``mode`` (see ``round_points``)."""
    return round_ratio(value.numerator, value.denominator, mode)


def round_ratio(numerator: int, denominator: int, mode: Rounding) -> int:
    """Whole points from ``numerator / denominator`` (denominator > 0), by ``mode``: the same
    rounding as ``round_fraction`` on integers alone, for the hot path of a quote."""
    if mode == "floor":
        return numerator // denominator
    if mode == "ceil":
        return -(-numerator // denominator)
    if mode == "round_half_up":
        # Half away from zero (2.5 → 3, -2.5 → -3): what people mean by "round half up".
        # floor(|n|/d + 1/2) == (2|n| + d) // 2d
        magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
        return magnitude if numerator >= 0 else -magnitude
    raise InputError(f"rounding must be one of {', '.join(_ROUNDINGS)}, not {mode!r}.")


def round_points(value: Decimal, mode: Rounding) -> int:
    """Whole points from an exact value: ``floor`` (down), ``ceil`` (up) or ``round_half_up``
    (to nearest, halves away from zero: 2.5 → 3, -2.5 → -3)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InputError(f"points to round must be a finite Decimal, not {value!r}.")
    return round_fraction(Fraction(value), mode)


def points_for(amount: Decimal, points: int, per: Decimal, mode: Rounding = "floor") -> int:
    """Points earned on ``amount`` at ``points`` per ``per`` units of currency, rounded once.

    ``points_for(Decimal("37.80"), 1, Decimal(1), "floor")`` → 37;
    5 per 10 on 37.80 → 18.9 → 18 (floor), 19 (round_half_up or ceil).
    The amount must not be negative: a return takes back what the sale earned, so compute the
    sale's points and negate them rather than rounding a negative amount.
    """
    rate = _whole("points", points) / _amount("per", per, positive=True)
    return round_fraction(_amount("amount", amount) * rate, mode)


# --- what points are worth ----------------------------------------------------------------


def _worth_fraction(burn_points: int, worth: Decimal) -> Fraction:
    """Money per point, exactly (100 points = 1 CNY → 1/100)."""
    return _amount("worth", worth, positive=True) / _whole("burn points", burn_points, minimum=1)


def redemption_value(points: int, burn_points: int, worth: Decimal, cur: Currency) -> Decimal:
    """What ``points`` pay for when ``burn_points`` are worth ``worth``, cut to minor units.

    ``redemption_value(1234, 100, Decimal(1), CNY)`` → ``Decimal("12.34")``;
    ``redemption_value(1, 3, Decimal(1), CNY)`` → ``Decimal("0.33")`` (toward zero).
    """
    exact = _whole("points", points) * _worth_fraction(burn_points, worth)
    return from_minor(math.floor(exact * 10**cur.exponent), cur)


def points_needed(value: Decimal, burn_points: int, worth: Decimal, cur: Currency) -> int:
    """The fewest points whose ``redemption_value`` is at least ``value`` (rounded up).

    A value finer than the currency's minor unit needs the points of the next minor unit up.
    """
    per_point = _worth_fraction(burn_points, worth)
    minor = math.ceil(_amount("value", value) * 10**cur.exponent)
    return math.ceil(Fraction(minor, 10**cur.exponent) / per_point)


def return_on_spend(
    earn_points: int, earn_per: Decimal, burn_points: int, burn_worth: Decimal
) -> Decimal:
    """The fraction of spend given back as points' value (0.02 means 2%).

    1 point per 1 CNY with 50 points = 1 CNY → ``Decimal("0.02")``; with 100 = 1 → 0.01.
    """
    earn_per_unit = _amount("earn per", earn_per, positive=True)
    earned_per_unit = _whole("earn points", earn_points) / earn_per_unit
    return _to_decimal(earned_per_unit * _worth_fraction(burn_points, burn_worth))


def real_cost_of_points(
    points: int,
    burn_points: int,
    worth: Decimal,
    redemption_rate: Decimal,
    cost_ratio: Decimal,
) -> Decimal:
    """What issuing ``points`` really costs the firm:
    (perceived value / 2) * redemption rate * cost-of-goods ratio.

    Perceived value is the points' face value (not cut to minor units: this is an estimate).
    It is halved because points attract spending twice, when earned and when redeemed.
    Rates are fractions 0..1. 1,000 points at 100 = 1 CNY, 0.8 redeemed, 0.75 cost → 3 CNY.
    """
    perceived = _whole("points", points) * _worth_fraction(burn_points, worth)
    rate = _rate("redemption rate", redemption_rate)
    ratio = _rate("cost ratio", cost_ratio)
    return _to_decimal(perceived / 2 * rate * ratio)


# --- redeeming ------------------------------------------------------------------------------


def _refuse(code: str, message: str) -> RedemptionError:
    return RedemptionError(f"redemption.{code}", message)


def validate_redemption(
    requested: int,
    *,
    balance: int,
    value_of: Callable[[int], Decimal],
    minimum: int = 0,
    step: int | None = None,
    max_value: Decimal | None = None,
) -> Decimal:
    """Check a request to redeem ``requested`` points and return what they pay for.

    ``value_of`` gives the money value of a number of points (e.g. ``redemption_value`` with
    the programme's burn rate bound). ``step`` means "in multiples of step"; ``max_value`` is
    the most points may pay of this bill (bill total * max bill percent / 100), ``None`` for no cap.

    Raises ``RedemptionError`` with the first rule broken, checked in this order:
    ``redemption.not_positive``, ``redemption.below_minimum``, ``redemption.not_a_step``,
    ``redemption.exceeds_balance``, ``redemption.exceeds_bill_share``.
    """
    if isinstance(requested, bool) or not isinstance(requested, int):
        raise InputError(f"points to redeem must be a whole number, not {requested!r}.")
    if isinstance(balance, bool) or not isinstance(balance, int):
        raise InputError(f"the balance must be a whole number of points, not {balance!r}.")
    _check_request(requested, minimum=_whole("minimum", minimum), step=step)
    if requested > balance:
        raise _refuse(
            "exceeds_balance",
            f"You asked to redeem {requested:,} points but the balance is {balance:,}.",
        )
    value = value_of(requested)
    if max_value is not None and value > max_value:
        raise _refuse(
            "exceeds_bill_share",
            f"{requested:,} points are worth {value}, but points may pay at most "
            f"{max_value} of this bill.",
        )
    return value


def _check_request(requested: int, *, minimum: int, step: int | None) -> None:
    if requested <= 0:
        raise _refuse("not_positive", f"Points to redeem must be more than 0, not {requested:,}.")
    if requested < minimum:
        raise _refuse(
            "below_minimum",
            f"At least {minimum:,} points must be redeemed at a time; you asked for {requested:,}.",
        )
    if step is not None and requested % _whole("step", step, minimum=1):
        lower = requested - requested % step
        hint = f"{lower:,} or {lower + step:,}" if lower else f"{step:,}"
        raise _refuse(
            "not_a_step",
            f"Points are redeemed in multiples of {step:,}; {requested:,} is not one (try {hint}).",
        )


class Lot(Protocol):
    """What ``consume_lots`` reads of a batch of points earned together."""

    @property
    def id(self) -> str: ...
    @property
    def available(self) -> int: ...
    @property
    def earned_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class PointsLot:
    """A batch of points earned together; ``expires_at`` is ``None`` for never."""

    id: str
    available: int
    earned_at: datetime
    expires_at: datetime | None = None


def _aware(name: str, at: datetime | None) -> None:
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise InputError(f"{name} {at.isoformat()} has no time zone; pass an aware datetime.")


def _spending_order(lots: Iterable[Lot]) -> list[Lot]:
    ordered = list(lots)
    ids = [lot.id for lot in ordered]
    if len(set(ids)) != len(ids):
        raise InputError("two lots share an id; each lot needs its own.")
    for lot in ordered:
        _whole(f"points available in lot {lot.id!r}", lot.available)
        _aware(f"lot {lot.id!r} earned_at", lot.earned_at)
        _aware(f"lot {lot.id!r} expires_at", lot.expires_at)
    # Soonest-expiring first so the member loses as little as possible; never-expiring last.
    return sorted(
        ordered,
        key=lambda lot: (
            lot.expires_at is None,
            lot.expires_at or lot.earned_at,
            lot.earned_at,
            lot.id,
        ),
    )


def consume_lots(lots: Sequence[Lot], points: int) -> list[tuple[str, int]]:
    """Which lots to take ``points`` from: ``[(lot_id, taken), ...]`` in spending order.

    Lots expiring soonest go first, never-expiring lots last; ties by earning time, then id.
    Only lots actually touched are listed. Pass only spendable lots (not pending, not expired):
    this function does not look at the clock. Raises ``redemption.exceeds_balance`` if the
    lots hold fewer than ``points``.
    """
    wanted = _whole("points to take", points)
    ordered = _spending_order(lots)
    held = sum(lot.available for lot in ordered)
    if wanted > held:
        raise _refuse(
            "exceeds_balance",
            f"You asked to redeem {wanted:,} points but only {held:,} can be spent.",
        )
    taken: list[tuple[str, int]] = []
    for lot in ordered:
        if wanted == 0:
            break
        take = min(lot.available, wanted)
        if take:
            taken.append((lot.id, take))
            wanted -= take
    return taken
