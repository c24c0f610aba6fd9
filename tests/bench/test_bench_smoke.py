"""The bench's code paths with tiny counts (about a second): every row, positive numbers.

No speed is asserted here: timings belong to `make bench`, not to unit tests.
"""

from __future__ import annotations

import io
import json

import pytest

from bench.__main__ import QUICK, main, parse
from bench.report import HEADER, as_json, rows, table
from bench.runner import Options, Results, run

FIGURES = (
    "durable: full quotes",
    "python: full quotes",
    "durable: matcher.match",
    "python: matcher.match",
    "durable-rules raw, C-level actions (A')",
    "durable: RSS after 20 quotes",
)


@pytest.fixture(scope="module")
def results() -> Results:
    return run(Options(rounds=1, seconds=0.005, quotes=20, stream=io.StringIO()))


def test_the_table_has_every_row_and_column(results):
    text = table(results)
    for figure in FIGURES:
        assert figure in text
    header = text.splitlines()[1]
    assert [cell.strip() for cell in header.split("|")] == list(HEADER)


def test_every_figure_baseline_and_ratio_is_positive(results):
    found = rows(results)
    assert [row.figure for row in found] == list(FIGURES)
    for row in found:
        assert row.value > 0 and row.baseline > 0 and row.ratio > 0, row
    assert all(rate > 0 for samples in results.samples.values() for rate in samples)


def test_the_json_dump_holds_the_rows_and_the_memory_samples(results):
    data = json.loads(json.dumps(as_json(results)))
    assert [row["figure"] for row in data["rows"]] == list(FIGURES)
    assert data["memory"]["quotes"] == 20 and data["memory"]["samples"]


def test_the_command_prints_one_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["--rounds", "1", "--seconds", "0.005", "--quotes", "10", "--json", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert printed.out.count("durable: full quotes") == 1
    assert "memory [" in printed.err
    assert json.loads(out.read_text())["options"]["quotes"] == 10


def test_options_quick_and_overrides():
    assert parse(["--quick"])[0] == Options(QUICK.rounds, QUICK.seconds, QUICK.quotes)
    options, json_path = parse(["--quick", "--quotes", "7", "--rounds", "2", "--json"])
    assert (options.quotes, options.rounds, json_path) == (7, 2, "-")
    with pytest.raises(SystemExit):
        parse(["--quotes", "0"])


def test_the_rules_scale_bench_prints_its_ratio(capsys):
    from bench.rules_scale import main as rules_scale

    assert rules_scale(["--rounds", "1", "--seconds", "0.005", "--rules", "40"]) == 0
    assert "40-rule quote vs 5-rule quote" in capsys.readouterr().out
