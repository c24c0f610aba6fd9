"""``python -m bench.rules_scale``: a quote on a programme of 1,000 rules beside the same quote
on the programme's own rules, when the same rules match (issue 15: at most 10x).

The large programme is the coffee shop plus rules that never match this sale: half test a
line's SKU, half the store, as a catalogue of product and store promotions would. The sale is
the bench's 5-line basket and gold member (``bench.scenario``). Rounds are interleaved and
the ratio taken per round; the table gives the median and the spread.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import yaml

from bench.report import paired
from bench.scenario import MEMBER, PROGRAMME, TRANSACTION, parse_sale
from bench.timing import interleaved
from engine.policy.loader import Programme, validate_document
from engine.pricing import Evaluator

RULES = 1_000
MAX_RATIO = 10.0


def programme_with(extra: int) -> Programme:
    """The coffee shop with ``extra`` more rules, none of which matches the bench's sale."""
    text = PROGRAMME.read_text(encoding="utf-8")
    extra_rules = yaml.safe_dump([_unmatched(n) for n in range(extra)], sort_keys=False)
    indented = "".join(f"  {line}\n" for line in extra_rules.splitlines()) if extra else ""
    head, marker, tail = text.partition("\nrules:\n")
    assert marker, f"{PROGRAMME} has no top-level rules section"
    report = validate_document(f"{head}{marker}{indented}{tail}".encode())
    assert report.ok and report.programmes, [p.render() for p in report.problems[:3]]
    return report.programmes[0]


def _unmatched(n: int) -> dict[str, Any]:
    when = (
        {"lines": [{"sku": f"NO-SUCH-SKU-{n}"}]}
        if n % 2
        else {"transaction": {"store": f"no-such-store-{n}"}}
    )
    then = [{"discount": {"percent": 5, "apply_to": "matched_lines" if n % 2 else "basket"}}]
    return {"id": f"unmatched-{n}", "name": f"Never {n}", "when": when, "then": then}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rules_scale", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--matcher", choices=("python", "durable"), default="python")
    parser.add_argument("--rules", type=int, default=RULES, help="rules in the large programme")
    args = parser.parse_args(argv)
    small = Evaluator(programme_with(0), matcher=args.matcher)
    rules = len(small.programme.model.rules)
    large = Evaluator(programme_with(args.rules - rules), matcher=args.matcher)
    sale = parse_sale(small, MEMBER, TRANSACTION)
    member, transaction = sale.member, sale.transaction
    assert small.quote(member, transaction).as_dict() == {
        **large.quote(member, transaction).as_dict(),
        "version": small.programme.version,
    }, "the extra rules must not change the quote"
    samples = interleaved(
        {
            "small": lambda: small.quote(member, transaction),
            "large": lambda: large.quote(member, transaction),
        },
        args.rounds,
        args.seconds,
    )
    # The ratio of costs (time per quote) is the inverse of the ratio of rates.
    p = paired(samples["small"], samples["large"])
    met = p.ratio <= MAX_RATIO
    print(
        f"{args.matcher} matcher, {args.rules:,}-rule quote vs {rules}-rule quote (same matches), "
        f"median of {args.rounds} interleaved rounds x {args.seconds:g} s\n"
        f"{rules}-rule: {p.value:,.0f} quotes/s; {args.rules:,}-rule: {p.baseline:,.0f} quotes/s; "
        f"cost ratio {p.ratio:.2f}x ({p.spread[0]:.2f}-{p.spread[1]:.2f})  "
        f"target <= {MAX_RATIO:g}x  {'ok' if met else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
