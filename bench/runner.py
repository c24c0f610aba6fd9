"""Set up the sale, check every path agrees, then time them interleaved and watch memory."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TextIO

from bench import handwritten
from bench.checks import check
from bench.memory import MemoryRun, measure
from bench.raw_durable import RawDurable
from bench.scenario import Setup, load
from bench.timing import Operation, interleaved
from engine.rules.durable import DurableMatcher

DURABLE_QUOTE, PYTHON_QUOTE, HAND_QUOTE = "durable.quote", "python.quote", "handwritten.quote"
DURABLE_MATCH, PYTHON_MATCH, HAND_MATCH = "durable.match", "python.match", "handwritten.match"
RAW_DURABLE, RAW_DURABLE_C = "durable-rules.raw", "durable-rules.raw-c"


@dataclass(frozen=True)
class Options:
    rounds: int = 5
    seconds: float = 1.0  # per operation per round
    quotes: int = 200_000  # for the memory figure (--quotes 1000000 for the long run)
    stream: TextIO | None = None  # progress; None: sys.stderr at the time of the run

    @property
    def progress(self) -> TextIO:
        return self.stream or sys.stderr


@dataclass(frozen=True)
class Results:
    options: Options
    samples: dict[str, list[float]]  # calls per second, one per round
    memory: MemoryRun
    meta: dict[str, Any]

    def best(self, name: str) -> float:
        return max(self.samples[name])


def run(options: Options) -> Results:
    setup = load()
    matcher = setup.durable.matcher
    assert isinstance(matcher, DurableMatcher)
    raw = RawDurable(matcher, setup.sale.facts)
    check(setup, raw)
    _say(options, f"timing: {options.rounds} rounds x {options.seconds:g} s per figure")
    samples = interleaved(operations(setup, raw), options.rounds, options.seconds)
    sale = setup.sale
    _say(options, f"memory: {options.quotes:,} quotes through the durable path")
    memory = measure(
        lambda: setup.durable.quote(sale.member, sale.transaction), options.quotes, options.progress
    )
    return Results(options, samples, memory, _meta(setup))


def operations(setup: Setup, raw: RawDurable) -> dict[str, Operation]:
    member, transaction, facts = setup.sale.member, setup.sale.transaction, setup.sale.facts
    durable, python = setup.durable, setup.python
    return {
        DURABLE_QUOTE: lambda: durable.quote(member, transaction),
        PYTHON_QUOTE: lambda: python.quote(member, transaction),
        HAND_QUOTE: lambda: handwritten.quote(member, transaction),
        RAW_DURABLE: raw.evaluate,
        RAW_DURABLE_C: raw.evaluate_c,
        DURABLE_MATCH: lambda: durable.matcher.match(facts),
        PYTHON_MATCH: lambda: python.matcher.match(facts),
        HAND_MATCH: lambda: handwritten.match(facts),
    }


def _meta(setup: Setup) -> dict[str, Any]:
    return {
        "programme": setup.programme.ruleset_name,
        "python": platform.python_version(),
        "durable_rules": metadata.version("durable-rules"),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def _say(options: Options, text: str) -> None:
    options.progress.write(f"bench: {text}\n")
    options.progress.flush()
