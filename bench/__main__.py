"""``python -m bench``: quotes/s through both matchers beside same-run baselines, and memory."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from bench.report import as_json, table
from bench.runner import Options, run

QUICK = Options(rounds=3, seconds=0.4, quotes=50_000)
FULL = Options()


def parse(argv: Sequence[str] | None = None) -> tuple[Options, str | None]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"about 30 s: {QUICK.rounds} rounds x {QUICK.seconds:g} s, {QUICK.quotes:,} quotes",
    )
    parser.add_argument("--rounds", type=_positive(int), help=f"rounds (default {FULL.rounds})")
    parser.add_argument(
        "--seconds", type=_positive(float), help=f"seconds per figure per round ({FULL.seconds:g})"
    )
    parser.add_argument(
        "--quotes",
        type=_positive(int),
        help=f"durable quotes for the memory figure (default {FULL.quotes:,})",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="also dump every figure as JSON: to PATH, or after the table with no PATH",
    )
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    options = Options(
        rounds=args.rounds or base.rounds,
        seconds=args.seconds or base.seconds,
        quotes=args.quotes or base.quotes,
    )
    return options, args.json


def _positive(kind: type[int] | type[float]) -> Callable[[str], int | float]:
    def convert(text: str) -> int | float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its error messages
    return convert


def main(argv: Sequence[str] | None = None) -> int:
    options, json_path = parse(argv)
    results = run(options)
    print(table(results))
    if json_path is not None:
        text = json.dumps(as_json(results), indent=2, ensure_ascii=False)
        if json_path == "-":
            print(text)
        else:
            with open(json_path, "w", encoding="utf-8") as out:
                out.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
