"""Golden reports for rules/recommended, and the verdicts of the three example programmes.

The Markdown and HTML reports of ``rules/recommended/programme.yaml`` are compared byte for
byte with ``tests/review/golden/recommended.md`` and ``recommended.html``. After a deliberate
change to the report or to the example programme, regenerate them and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/review/test_golden.py

Reports contain no timestamps, so they only change when the programme or the renderer does.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.policy.loader import load_programme
from engine.review.model import Review
from engine.review.render import render
from engine.review.scorecard import review_programme

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"


def reviewed(name: str, monkeypatch: pytest.MonkeyPatch) -> Review:
    monkeypatch.chdir(ROOT)  # file names in the report are relative to the repository
    return review_programme(load_programme(f"rules/{name}/programme.yaml"))


@pytest.mark.parametrize(("fmt", "suffix"), [("markdown", "md"), ("html", "html")])
def test_recommended_report_matches_the_golden_file(fmt: str, suffix: str, monkeypatch):
    output = render(reviewed("recommended", monkeypatch), fmt)
    golden = GOLDEN / f"recommended.{suffix}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(output, encoding="utf-8")
    assert output == golden.read_text(encoding="utf-8"), (
        f"{golden.name} is out of date; regenerate with UPDATE_GOLDEN=1 (see module docstring)"
    )


def test_the_html_report_is_one_self_contained_file_that_prints_on_one_page(monkeypatch):
    html = render(reviewed("recommended", monkeypatch), "html")
    assert html.startswith("<!DOCTYPE html>")
    assert "<style>" in html and "@media print" in html and "@page" in html
    assert "<script" not in html and "<link" not in html and "src=" not in html


@pytest.mark.parametrize(
    ("name", "verdict", "met", "not_met"),
    [
        ("recommended", "launchable", 6, []),
        ("calendar-retail", "launchable", 5, ["emotional_bond"]),
        ("coffee-shop", "launchable", 6, []),
    ],
)
def test_the_example_programmes(name: str, verdict: str, met: int, not_met: list[str], monkeypatch):
    review = reviewed(name, monkeypatch)
    assert (review.verdict.word, review.verdict.met) == (verdict, met)
    assert [p.key for p in review.principles if p.status != "met"] == not_met


def test_the_examples_design_findings(monkeypatch):
    warned = {
        name: sorted(
            f.check for f in reviewed(name, monkeypatch).findings if f.severity == "warning"
        )
        for name in ("recommended", "calendar-retail", "coffee-shop")
    }
    assert warned == {
        "recommended": [],
        "calendar-retail": ["expiry.calendar", "poster.terms"],
        "coffee-shop": ["points.value", "poster.terms"],
    }
