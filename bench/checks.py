"""Before timing anything: every path computes the same thing on the benchmarked sales."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench import handwritten
from bench.raw_durable import RawDurable
from bench.scenario import MEMBER, TRANSACTION, VARIANTS, Setup, parse_sale
from engine.pricing import Quote
from engine.rules.durable import DurableMatcher
from engine.rules.facts import Facts
from engine.rules.matching import Matcher


class BenchError(AssertionError):
    """A baseline disagrees with the engine: its figures would compare different work."""


def check(setup: Setup, raw: RawDurable) -> None:
    for member, transaction in ((MEMBER, TRANSACTION), *VARIANTS):
        _check_sale(setup, member, transaction)
    _check_raw(setup, raw)


def _check_sale(setup: Setup, member: dict[str, Any], transaction: dict[str, Any]) -> None:
    sale = parse_sale(setup.durable, member, transaction)
    matches = {
        "python": _found(setup.python.matcher, sale.facts),
        "durable": _found(setup.durable.matcher, sale.facts),
        "hand-written": handwritten.match(sale.facts),
    }
    _same(f"matches of {transaction['at']}", matches)
    quotes = {
        "python": _summary(setup.python.quote(sale.member, sale.transaction)),
        "durable": _summary(setup.durable.quote(sale.member, sale.transaction)),
        "hand-written": handwritten.quote(sale.member, sale.transaction),
    }
    _same(f"quotes of {transaction['at']}", quotes)


def _check_raw(setup: Setup, raw: RawDurable) -> None:
    matcher = setup.durable.matcher
    assert isinstance(matcher, DurableMatcher)
    expected = Counter(rule_id for rule_id, _ in handwritten.match(setup.sale.facts))
    for how, fired_names in (("do_actions", raw.fired()), ("C-level", raw.fired_c())):
        fired = Counter(fired_names)
        if fired.pop("end", 0) != 1:
            raise BenchError(f"raw durable-rules ({how}): the sentinel did not fire once")
        rule_ids = Counter({matcher.compiled.rules[name].rule_id: n for name, n in fired.items()})
        if rule_ids != expected:
            raise BenchError(
                f"raw durable-rules ({how}) fired {dict(rule_ids)}, expected {dict(expected)}"
            )


def _found(matcher: Matcher, facts: Facts) -> list[tuple[str, tuple[int, ...]]]:
    return [(m.rule_id, m.lines) for m in matcher.match(facts)]


def _summary(quote: Quote) -> handwritten.HandQuote:
    return handwritten.HandQuote(
        applied=tuple(a.offer.condition_id for a in quote.applied),
        discounts=sum(s.amount - s.after_discounts for s in quote.lines),
        payable=sum(s.payable for s in quote.lines),
        points=quote.earned.total,
        capped=quote.earned.capped,
        tier_after=quote.tier.tier_after or "",
    )


def _same(what: str, results: dict[str, Any]) -> None:
    first = next(iter(results.values()))
    if any(result != first for result in results.values()):
        detail = "\n".join(f"  {name}: {result}" for name, result in results.items())
        raise BenchError(f"the paths disagree on the {what}:\n{detail}")
