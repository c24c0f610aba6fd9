"""The one table: each figure beside its same-run baseline, the ratio and the target."""

from __future__ import annotations

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

    def cells(self) -> tuple[str, str, str, str, str]:
        verdict = "" if self.met is None else ("  ok" if self.met else "  MISSED")
        return (
            self.figure,
            _amount(self.value, self.unit),
            f"{_amount(self.baseline, self.unit)}  {self.baseline_name}",
            f"{self.ratio:.2f}x",
            f"{self.target}{verdict}",
        )


def rows(results: Results) -> list[Row]:
    best = results.best
    raw, hand = best(runner.RAW_DURABLE), best(runner.HAND_QUOTE)
    return [
        _durable_quotes(best(runner.DURABLE_QUOTE), raw),
        _python_quotes(best(runner.PYTHON_QUOTE), hand),
        _overhead("durable: matcher.match", best(runner.DURABLE_MATCH), raw, RAW_NAME),
        _overhead(
            "python: matcher.match",
            best(runner.PYTHON_MATCH),
            best(runner.HAND_MATCH),
            "hand-written match (B)",
        ),
        _overhead(
            "durable-rules raw, C-level actions (A')",
            best(runner.RAW_DURABLE_C),
            raw,
            RAW_NAME,
            "- (ceiling without do_actions)",
        ),
        _memory(results.memory),
    ]


def _durable_quotes(value: float, raw: float) -> Row:
    return Row(
        figure="durable: full quotes",
        value=value,
        unit="/s",
        baseline=raw,
        baseline_name=RAW_NAME,
        ratio=value / raw,
        target=f">= {DURABLE_SHARE:.2f}x A",
        met=value >= DURABLE_SHARE * raw,
    )


def _python_quotes(value: float, hand: float) -> Row:
    return Row(
        figure="python: full quotes",
        value=value,
        unit="/s",
        baseline=hand,
        baseline_name="hand-written quote (B)",
        ratio=value / hand,
        target=f">= {MIN_PYTHON_RATE:,}/s and >= {PYTHON_SHARE:.2f}x B",
        met=value >= MIN_PYTHON_RATE and value >= PYTHON_SHARE * hand,
    )


def _overhead(
    figure: str, value: float, baseline: float, name: str, target: str = "- (overhead view)"
) -> Row:
    return Row(figure, value, "/s", baseline, name, value / baseline, target, None)


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
        f"{meta['programme']}: 5-line basket, gold member; best of {options.rounds} rounds "
        f"x {options.seconds:g} s per figure; CPython {meta['python']}, "
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
