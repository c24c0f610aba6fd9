"""Small proposals written in the tests, validated like any programme, then reviewed."""

from __future__ import annotations

from textwrap import dedent, indent

from engine.policy.loader import Programme, validate_document
from engine.review.decisions import Decisions
from engine.review.model import Review
from engine.review.scorecard import review_programme

NAME = "proposal.yaml"


def proposal(
    *sections: str, pitch: str = "Join for free delivery.", points: int = 1, per: str = "1"
) -> str:
    """A valid programme that meets no principle by itself, plus the given sections."""
    head = (
        "programme:\n"
        "  id: proposal\n"
        '  name: "Proposal"\n'
        "  currency: CNY\n"
        "  timezone: Asia/Shanghai\n"
        f'  pitch: "{pitch}"\n'
        "earn:\n"
        f"  points: {points}\n"
        f"  per: {per}\n"
    )
    return head + "".join(dedent(s).lstrip("\n") for s in sections)


def level(ident: str, name: str, threshold: int | None = None, body: str = "") -> str:
    text = f'- id: {ident}\n  name: "{name}"\n'
    if threshold is not None:
        text += f"  threshold: {{amount: {threshold}}}\n"
    if body:
        text += indent(dedent(body).strip("\n") + "\n", "  ")
    return text


def tiers(*levels: str, qualifying: str = "metric: spend\nperiod: calendar_year") -> str:
    out = "tiers:\n  qualifying:\n" + indent(qualifying.strip() + "\n", "    ")
    out += "  levels:\n"
    for item in levels:
        out += indent(item, "    ")
    return out


def plain_tiers(*names: str, bodies: dict[int, str] | None = None) -> str:
    """Levels named ``names`` with rising amount thresholds (the first has none)."""
    bodies = bodies or {}
    return tiers(
        *(
            level(f"t{i}", name, None if i == 0 else 1000 * i, bodies.get(i, ""))
            for i, name in enumerate(names)
        )
    )


BURN = """
burn:
  points: 100
  worth: 1
"""


def load(text: str) -> Programme:
    report = validate_document(text.encode("utf-8"), NAME)
    assert report.ok, "\n".join(p.render() for p in report.problems)
    (programme,) = report.programmes
    return programme


def review_of(text: str, decisions: Decisions | None = None) -> Review:
    return review_programme(load(text), decisions)


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line containing ``needle``."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in the proposal")
