"""The one table: each figure beside its same-run baseline, the ratio and the target.

Rounds are interleaved (``bench.timing``), so each round gives a figure and its baseline
measured moments apart: the ratio is taken per round, and the table shows the median round's
figures with the spread (lowest-highest) of the per-round ratios. A best-of each figure
independently would pair a fast phase of the machine with a slow one.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

from bench import runner
from bench.memory import MemoryRun
from bench.runner import Results

FLAT_MB = 2.0  # "memory flat": at most this much RSS growth over the run
MIN_PYTHON_RATE = 20_000
DURABLE_SHARE, PYTHON_SHARE = 0.8, 0.5
RAW_NAME = "raw durable-rules (A)"


@dataclass(frozen=True)
class Row:
    figure: str
    value: float
    unit: str  # "/s" or "MB"
    baseline: float
    baseline_name: str
    ratio: float
    target: str
    met: bool | None  # None: no target, shown to make overhead visible
    spread: tuple[float, float] | None = None  # lowest and highest per-round ratio

    def cells(self) -> tuple[str, str, str, str, str]:
        verdict = "" if self.met is None else ("  ok" if self.met else "  MISSED")
        spread = f" ({self.spread[0]:.2f}-{self.spread[1]:.2f})" if self.spread else ""
        return (
            self.figure,
            _amount(self.value, self.unit),
            f"{_amount(self.baseline, self.unit)}  {self.baseline_name}",
            f"{self.ratio:.2f}x{spread}",
            f"{self.target}{verdict}",
        )


@dataclass(frozen=True)
class Paired:
    """A figure against its baseline over the rounds: medians, and the per-round ratios."""

    value: float
    baseline: float
    ratio: float
    spread: tuple[float, float]


def paired(figure: list[float], baseline: list[float]) -> Paired:
    ratios = [f / b for f, b in zip(figure, baseline, strict=True)]
    return Paired(
        statistics.median(figure),
        statistics.median(baseline),
        statistics.median(ratios),
        (min(ratios), max(ratios)),
    )


def rows(results: Results) -> list[Row]:
    samples = results.samples

    def pair(figure: str, baseline: str) -> Paired:
        return paired(samples[figure], samples[baseline])

    return [
        _durable_quotes(pair(runner.DURABLE_QUOTE, runner.RAW_DURABLE)),
        _python_quotes(pair(runner.PYTHON_QUOTE, runner.HAND_QUOTE)),
        _overhead(
            "durable: matcher.match", pair(runner.DURABLE_MATCH, runner.RAW_DURABLE), RAW_NAME
        ),
        _overhead(
            "python: matcher.match",
            pair(runner.PYTHON_MATCH, runner.HAND_MATCH),
            "hand-written match (B)",
        ),
        _overhead(
            "durable-rules raw, C-level actions (A')",
            pair(runner.RAW_DURABLE_C, runner.RAW_DURABLE),
            RAW_NAME,
            "- (ceiling without do_actions)",
        ),
        _memory(results.memory),
    ]


def _durable_quotes(p: Paired) -> Row:
    return Row(
        figure="durable: full quotes",
        value=p.value,
        unit="/s",
        baseline=p.baseline,
        baseline_name=RAW_NAME,
        ratio=p.ratio,
        target=f">= {DURABLE_SHARE:.2f}x A",
        met=p.ratio >= DURABLE_SHARE,
        spread=p.spread,
    )


def _python_quotes(p: Paired) -> Row:
    return Row(
        figure="python: full quotes",
        value=p.value,
        unit="/s",
        baseline=p.baseline,
        baseline_name="hand-written quote (B)",
        ratio=p.ratio,
        target=f">= {MIN_PYTHON_RATE:,}/s and >= {PYTHON_SHARE:.2f}x B",
        met=p.value >= MIN_PYTHON_RATE and p.ratio >= PYTHON_SHARE,
        spread=p.spread,
    )


def _overhead(figure: str, p: Paired, name: str, target: str = "- (overhead view)") -> Row:
    return Row(figure, p.value, "/s", p.baseline, name, p.ratio, target, None, p.spread)


def _memory(memory: MemoryRun) -> Row:
    return Row(
        figure=f"durable: RSS after {memory.quotes:,} quotes",
        value=memory.after_mb,
        unit="MB",
        baseline=memory.before_mb,
        baseline_name=f"RSS before (after {memory.warmup:,} warm-up quotes)",
        ratio=memory.after_mb / memory.before_mb,
        target=f"flat: growth {memory.growth_mb:+.1f} MB <= {FLAT_MB:g} MB",
        met=memory.growth_mb <= FLAT_MB,
    )


def _amount(value: float, unit: str) -> str:
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{value:,.0f}/s ({1e6 / value:,.1f} us)"


HEADER = ("figure", "value", "baseline", "ratio", "target")


def table(results: Results) -> str:
    """The table as aligned plain text, with a line saying how it was measured."""
    body = [row.cells() for row in rows(results)]
    widths = [max(len(line[i]) for line in (HEADER, *body)) for i in range(len(HEADER))]
    lines = [
        " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (HEADER, *body)
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join([_caption(results), *lines])


def _caption(results: Results) -> str:
    meta, options = results.meta, results.options
    return (
        f"{meta['programme']}: 5-line basket, gold member; median of {options.rounds} "
        f"interleaved rounds x {options.seconds:g} s per figure, ratio per round "
        f"(spread lowest-highest); CPython {meta['python']}, "
        f"durable-rules {meta['durable_rules']}, {meta['cpus']} CPUs"
    )


def as_json(results: Results) -> dict[str, Any]:
    memory = results.memory
    return {
        "meta": results.meta,
        "options": {
            "rounds": results.options.rounds,
            "seconds": results.options.seconds,
            "quotes": results.options.quotes,
        },
        "rows": [{**asdict(row), "cells": row.cells()} for row in rows(results)],
        "samples_per_second": results.samples,
        "memory": {**asdict(memory), "growth_mb": memory.growth_mb},
    }
