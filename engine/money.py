"""Money: ISO 4217 currencies, minor units, rounding that never creates money, allocation.

Conventions (every caller relies on them):

* Money is ``Decimal``, never ``float``; an amount in *minor units* (fen, cents) is an ``int``.
* A currency's exponent (how many minor-unit digits) comes from CLDR through Babel, so JPY has
  0, CNY 2, KWD 3.
* A currency code is accepted only if CLDR lists it as legal tender still in use somewhere:
  withdrawn currencies (DEM), funds and metals (XAU, XTS) and offshore codes (CNH) are
  refused, because a programme cannot price anything in them.
* Rounding to minor units is always toward zero (``quantize_down``), so a discount or a
  points' value rounded here is never worth more than the exact figure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, Inexact
from functools import cache

from babel.core import get_global
from babel.numbers import get_currency_precision

from engine.errors import InputError

__all__ = [
    "Currency",
    "allocate",
    "currency",
    "from_minor",
    "is_known_currency",
    "parse_money",
    "quantize_down",
    "to_minor",
]

# An amount written as text: optional minus, digits, optional decimals. No exponents,
# underscores, spaces or leading '.', which Decimal() would accept but a marketer never means.
_AMOUNT_TEXT = re.compile(r"-?\d+(\.\d+)?")
# Shifting the decimal point (scaleb) in this context never rounds, whatever the size: the
# default context's 28 digits would round a huge amount silently, and Inexact is trapped anyway.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact])


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency and its number of minor-unit digits (CNY: 2, JPY: 0, KWD: 3)."""

    code: str
    exponent: int

    @property
    def quantum(self) -> Decimal:
        """The smallest amount: ``Decimal('0.01')`` for CNY, ``Decimal('1')`` for JPY."""
        return Decimal((0, (1,), -self.exponent))


@cache
def _currencies_in_use() -> frozenset[str]:
    # CLDR's territory table says, per country, which currencies were tender and until when;
    # a code with an open-ended tender entry anywhere is a currency in use today.
    table = get_global("territory_currencies")
    return frozenset(
        code
        for entries in table.values()
        for code, _start, end, tender in entries
        if end is None and tender
    )


def is_known_currency(code: str) -> bool:
    """Whether ``code`` is an ISO 4217 currency in use as legal tender (upper case, e.g. CNY)."""
    return isinstance(code, str) and code in _currencies_in_use()


def currency(code: str) -> Currency:
    """The currency for an ISO 4217 code; raises ``InputError`` for an unknown code."""
    if not is_known_currency(code):
        raise InputError(
            f"{code!r} is not a currency in use; write an ISO 4217 code in capitals, like CNY."
        )
    return Currency(code=code, exponent=get_currency_precision(code))


def parse_money(value: Decimal | int | str) -> Decimal:
    """An exact ``Decimal`` from a Decimal, an int or a text like ``"12.50"``.

    Floats are refused: 0.1 as a float is not 0.1, and money must be exact. Booleans are
    refused too (``True`` is an ``int`` in Python, never an amount).
    """
    if isinstance(value, bool | float):
        raise InputError(
            f"{value!r} is not an amount of money; give a decimal text like '12.50' "
            "(floats are refused because they are not exact)."
        )
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int) or (isinstance(value, str) and _AMOUNT_TEXT.fullmatch(value)):
        amount = Decimal(value)
    else:
        raise InputError(f"{value!r} is not an amount of money; write it like 12.50.")
    if not amount.is_finite():
        raise InputError(f"{value!r} is not an amount of money; it must be a finite number.")
    return amount


def _require_finite(amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InputError(f"{amount!r} is not an amount of money; pass a finite Decimal.")


def to_minor(amount: Decimal, cur: Currency) -> int:
    """The amount in minor units (``Decimal('12.50')`` CNY → 1250), exactly.

    Refuses an amount finer than the currency allows (12.505 CNY): silently rounding it would
    change someone's money. Trailing zeros are fine (12.500 CNY → 1250).
    """
    _require_finite(amount)
    scaled = amount.scaleb(cur.exponent, _EXACT)
    minor = int(scaled)  # exact: int() of a Decimal drops the fraction, never rounds the rest
    if minor != scaled:
        raise InputError(
            f"{amount} {cur.code} has more decimals than {cur.code} allows "
            f"({cur.exponent}); round it first."
        )
    return minor


def from_minor(minor: int, cur: Currency) -> Decimal:
    """The amount of ``minor`` units (1250 → ``Decimal('12.50')`` CNY), with exactly the
    currency's number of decimals."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise InputError(f"{minor!r} is not a whole number of minor units.")
    return Decimal(minor).scaleb(-cur.exponent, _EXACT)


def quantize_down(amount: Decimal, cur: Currency) -> Decimal:
    """The amount cut to whole minor units, toward zero (1.239 CNY → 1.23; -1.239 → -1.23).

    Used for discounts and for what points are worth, so rounding never creates money.
    """
    _require_finite(amount)
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    coefficient = int("".join(map(str, digits)))
    shift = exponent + cur.exponent
    minor = coefficient * 10**shift if shift >= 0 else coefficient // 10**-shift
    return from_minor(-minor if sign else minor, cur)


def _require_weights(total_minor: int, weights: Sequence[int]) -> None:
    if isinstance(total_minor, bool) or not isinstance(total_minor, int) or total_minor < 0:
        raise InputError(
            f"the amount to split must be whole minor units, 0 or more, not {total_minor!r}."
        )
    for index, weight in enumerate(weights):
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise InputError(f"weight #{index} must be a whole number, 0 or more, not {weight!r}.")
    if total_minor and not weights:
        raise InputError("cannot split an amount over no lines.")


def allocate(total_minor: int, weights: Sequence[int]) -> list[int]:
    """Split ``total_minor`` over lines in proportion to ``weights`` (largest remainder).

    Each line first gets the whole part of its exact share; the minor units left over go one
    each to the lines with the largest remainders, ties to the lower index. So the parts sum
    exactly to the total, none is negative, none differs from its exact share by a whole unit
    or more, and a line of weight 0 gets 0.

    If every weight is 0 (e.g. a basket of free items), the total is split as if all weights
    were equal: no line is favoured beyond the index tie-break.
    """
    _require_weights(total_minor, weights)
    if not any(weights):
        weights = [1] * len(weights)
    whole = sum(weights)
    parts = [total_minor * w // whole for w in weights]
    left = total_minor - sum(parts)
    if left:
        remainders = [total_minor * w % whole for w in weights]
        # Largest remainder first; a stable sort, even reversed, keeps ties in index order.
        # Fewer units are left than lines with a non-zero remainder, so zero weights never win.
        order = sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)
        for index in order[:left]:
            parts[index] += 1
    return parts
