"""Outreach message templates: Jinja2, sandboxed, strict, checked at validation time.

A template is Jinja2 (``{{ name }}``, ``{% if offer %}…{% endif %}``, filters such as
``{{ name | upper }}``). The short form ``{name}`` is accepted as well and means ``{{ name }}``,
so the templates written before Jinja2 keep working. Templates run in Jinja2's sandbox (no
attribute access to Python internals) with ``StrictUndefined``: a variable that is not listed
below is an error, reported by ``template_problems`` when the programme is validated, never a
blank in a message.

Amounts and dates are already formatted for the programme's ``locale`` (default ``en``) and
currency when a template sees them: ``value`` is a number with the currency's decimals
(``12.34``), ``value_money`` the same with the currency's symbol (``¥12.34``), dates are
written out in full (``2026年12月31日``, ``31 December 2026``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import (
    format_currency,
    format_decimal,
    get_decimal_symbol,
    get_group_symbol,
)
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from engine.money import Currency
from engine.outreach import holidays as _holidays  # noqa: F401  (registers its check too)
from engine.policy.extensions import register_check
from engine.policy.problems import Problem

COMMON: dict[str, str] = {
    "name": "the member's name ('' when not known)",
    "member_id": "the member's id",
    "programme": "the programme's name",
    "tier": "the name of the member's tier (after the change, for tier_change)",
    "tier_id": "the id of the member's tier",
    "balance": "the member's points balance, e.g. 1,250",
    "today": "the date of the run, e.g. 24 November 2026",
    "channel": "the channel: sms, email, call, app_push or wechat",
    "offer": "the trigger's offer in words, e.g. '500 bonus points' ('' without an offer)",
}
BY_TRIGGER: dict[str, dict[str, str]] = {
    "points_expiring": {
        "points": "points expiring from today to days_before days on, e.g. 1,250",
        "value": "what those points are worth, e.g. 12.50",
        "value_money": "the same with the currency symbol, e.g. ¥12.50",
        "expiry_date": "the first day on which some of them expire",
        "days_left": "days from today to expiry_date (0 = today)",
    },
    "birthday": {"birthday": "this year's birthday (28 February for 29 February in common years)"},
    "lapse": {
        "last_purchase_date": "the day of the member's last purchase",
        "days_since": "days since that purchase",
        "cycle_days": "the expected purchase cycle used for the member, in days",
    },
    "near_upgrade": {
        "next_tier": "the name of the next tier",
        "amount_to_go": "spend still needed for the next tier, e.g. 320.00",
        "amount_to_go_money": "the same with the currency symbol",
        "spend": "qualifying spend of the current period",
        "spend_money": "the same with the currency symbol",
        "threshold": "the next tier's threshold",
        "threshold_money": "the same with the currency symbol",
        "period_end": "the last day of the qualifying period",
        "to_go": "programmes counting tier metrics: the closest path in words, e.g. '3 nights'",
    },
    "never_bought": {
        "joined": "the day the member joined",
        "days_since_joined": "days since the member joined, without a purchase",
    },
    "holiday": {
        "holiday": "the holiday's name, as the programme declares it",
        "holiday_date": "the holiday's date this year",
    },
    "upgrade": {
        "previous_tier": "the name of the tier before the upgrade",
        "since": "the day of the upgrade",
    },
    "paid_level_ending": {
        "paid_tier": "the name of the bought level",
        "ends_on": "the last day the bought level holds",
        "days_left": "days from today to ends_on (0 = today)",
        "fee": "the fee last paid for it, e.g. 1,880.00",
        "fee_money": "the same with the currency symbol",
    },
    "downgrade": {
        "review_date": "the last day the current tier lasts",
        "new_tier": "the name of the tier the member keeps after the review",
        "amount_to_keep": "spend still needed to keep the tier",
        "amount_to_keep_money": "the same with the currency symbol",
        "spend": "qualifying spend of the current period",
        "spend_money": "the same with the currency symbol",
        "to_keep": "programmes counting tier metrics: what keeping the tier still needs",
    },
}
_SHORT_FORM = re.compile(r"(?<!\{)\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}(?!\})")


def variables_for(trigger: Mapping[str, Any]) -> dict[str, str]:
    """The variables a trigger's template may use, with what each holds."""
    kind = trigger["trigger"]
    if kind == "tier_change":
        kind = trigger.get("change", "upgrade")
    return {**COMMON, **BY_TRIGGER.get(kind, {})}


def to_jinja(template: str) -> str:
    """``{name}`` → ``{{ name }}``; Jinja2's own ``{{ }}``, ``{% %}`` and ``{# #}`` stay."""
    return _SHORT_FORM.sub(r"{{ \1 }}", template)


@cache
def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


def compile_template(template: str) -> Template:
    """The template compiled in the sandbox; raises ``TemplateSyntaxError`` with its line."""
    return environment().from_string(to_jinja(template))


# --- validation ---------------------------------------------------------------------------------


@register_check
def template_problems(document: Mapping[str, Any]) -> Iterator[Problem]:
    """Syntax errors and unknown variables in every outreach template of a programme."""
    for index, trigger in enumerate(document.get("outreach", [])):
        if isinstance(trigger.get("template"), str) and "trigger" in trigger:
            yield from _problems(trigger, ("outreach", index, "template"))


def _problems(trigger: Mapping[str, Any], path: tuple[str | int, ...]) -> Iterator[Problem]:
    allowed = variables_for(trigger)
    source = to_jinja(trigger["template"])
    try:
        tree = environment().parse(source)
        environment().compile(tree)  # unknown filters and tests fail here
    except TemplateSyntaxError as error:
        yield Problem(
            f"the template does not compile: {error.message} (line {error.lineno} of the template)",
            path,
            hint="templates are Jinja2: {{ name }}, {% if offer %}...{% endif %}",
            code="outreach.template",
        )
        return
    unknown = meta.find_undeclared_variables(tree) - allowed.keys()
    for name in sorted(unknown):
        yield Problem(
            f"unknown variable '{name}' on line {_first_line(tree, name)} of the template",
            path,
            hint=f"a {_kind(trigger)} template can use: {', '.join(sorted(allowed))}",
            code="outreach.template",
        )


def _first_line(tree: nodes.Template, name: str) -> int:
    lines = [node.lineno for node in tree.find_all(nodes.Name) if node.name == name]
    return min(lines, default=1)


def _kind(trigger: Mapping[str, Any]) -> str:
    if trigger["trigger"] == "tier_change":
        return f"tier_change ({trigger.get('change', 'upgrade')})"
    return str(trigger["trigger"])


# --- formatting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Formats:
    """Numbers, money and dates written for the programme's locale and currency.

    Babel decides every format. For speed, amounts are written with Python's own grouping
    and the locale's symbols when that gives exactly Babel's result on a sample (most
    locales); otherwise, and for negative amounts, Babel writes each one.
    """

    locale: Locale
    currency: Currency
    symbols: dict[int, str] | None = None  # ',' and '.' → the locale's group and decimal
    money_pattern: str | None = None  # the currency's format with {} for the number

    @classmethod
    def of(cls, locale: str, cur: Currency) -> Formats:
        plain = cls(_locale(locale), cur)
        sample = Decimal(1234567) + Decimal(89) / 100
        symbols = {
            ord(","): get_group_symbol(locale=plain.locale),
            ord("."): get_decimal_symbol(locale=plain.locale),
        }
        fast = cls(plain.locale, cur, symbols)
        number = fast.number(sample)
        if number != plain.number(sample):
            return plain
        pattern = plain.money(sample).replace(number, "{}")
        if pattern.count("{}") != 1 or pattern.format(fast.number(Decimal(0))) != plain.money(
            Decimal(0)
        ):
            return plain
        return cls(plain.locale, cur, symbols, pattern)

    def points(self, value: int) -> str:
        if self.symbols is not None and value >= 0:
            return f"{value:,}".translate(self.symbols)
        return _decimal(Decimal(value), None, self.locale)

    def number(self, amount: Decimal) -> str:
        if self.symbols is not None and amount >= 0:
            return f"{amount:,.{self.currency.exponent}f}".translate(self.symbols)
        decimals = "." + "0" * self.currency.exponent if self.currency.exponent else ""
        return _decimal(amount, f"#,##0{decimals}", self.locale)

    def money(self, amount: Decimal) -> str:
        if self.money_pattern is not None and amount >= 0:
            return self.money_pattern.format(self.number(amount))
        return _money(amount, self.currency.code, self.locale)

    def day(self, value: date) -> str:
        return _day(value, self.locale)

    def amounts(self, name: str, amount: Decimal) -> dict[str, str]:
        """``{name: "12.50", name_money: "¥12.50"}``."""
        return {name: self.number(amount), f"{name}_money": self.money(amount)}


def _locale(tag: str) -> Locale:
    try:
        return Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


# Messages repeat the same few dates and amounts: Babel's formatting is the cost of rendering.
@lru_cache(maxsize=65536)
def _decimal(value: Decimal, pattern: str | None, locale: Locale) -> str:
    return format_decimal(value, format=pattern, locale=locale)


@lru_cache(maxsize=65536)
def _money(value: Decimal, code: str, locale: Locale) -> str:
    return format_currency(value, code, locale=locale)


@lru_cache(maxsize=4096)
def _day(value: date, locale: Locale) -> str:
    return format_date(value, format="long", locale=locale)
