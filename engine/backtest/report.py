"""A backtest in words and pictures: terminal tables, CSV, JSON, SVG charts and one HTML page.

Charts are drawn with the campaigns' dependency-free ``Canvas``; every text is escaped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from engine.backtest.diff import Comparison
from engine.backtest.run import Backtest, VersionRun, as_dict
from engine.campaigns.svg import BLUE, GREY, HEIGHT, INK, LEFT, RED, RIGHT, WIDTH, Canvas

PALETTE = (BLUE, "#e08e2b", "#3a9a5b", RED, "#7d5ba6", GREY, INK, "#1b9aaa")
SHOWN = 10


def document(test: Backtest, comparisons: Sequence[Comparison], limit: int = 100) -> dict[str, Any]:
    """The JSON answer: figures per version and each proposal's differences from live."""
    return {**as_dict(test), "comparisons": [c.as_dict(limit) for c in comparisons]}


# --- terminal ----------------------------------------------------------------------------------

ROWS: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("sales", lambda v: v["sales"]),
    ("refused events", lambda v: v["refused"]),
    ("sales amount", lambda v: v["amount"]),
    ("discounts", lambda v: v["discounts"]),
    ("points issued", lambda v: v["points"]["issued"]),
    ("points redeemed", lambda v: v["points"]["redeemed"]),
    ("points expired", lambda v: v["points"]["expired"]),
    ("reward cost", lambda v: v["reward_cost"]),
    ("reward cost % of sales", lambda v: v["reward_cost_percent"]),
    ("liability at end (points)", lambda v: v["liability_at_end"]["points"]),
    ("  at burn value", lambda v: v["liability_at_end"]["burn_value"]),
    ("  at real cost", lambda v: v["liability_at_end"]["real_cost"]),
    ("  expected breakage (points)", lambda v: v["liability_at_end"]["breakage_points"]),
    ("observed redemption rate", lambda v: v["liability_at_end"]["redemption_rate"]),
    ("tier mix at next review", lambda v: _mix(v["tiers"]["at_next_review"])),
    ("within 10% of next threshold", lambda v: v["tiers"]["within_10_percent_of_next_threshold"]),
)


def table(test: Backtest, comparisons: Sequence[Comparison]) -> str:
    data = as_dict(test)
    versions = data["versions"]
    head = ["", *(f"{v['label']} ({v['version']})" for v in versions)]
    rows = [[name, *(_cell(pick(v)) for v in versions)] for name, pick in ROWS]
    out = [
        f"{test.programme}: {test.start.isoformat()} to {test.end.isoformat()}, "
        f"{test.events:,} events replayed per version ({test.warmup_events:,} before the period)",
        "",
        *_columns([head, *rows]),
    ]
    for comparison in comparisons:
        out += ["", *_comparison_lines(comparison)]
    return "\n".join(out) + "\n"


def _comparison_lines(comparison: Comparison) -> list[str]:
    found = comparison.as_dict(SHOWN)
    devalued = found["devaluation"]
    verdict = (
        "no member worse off"
        if devalued["no_member_worse_off"]
        else f"{devalued['members_worse_off']:,} members worse off, losing "
        f"{devalued['value_lost']} in all; {devalued['members_materially_worse_off']:,} "
        f"materially (≥ {devalued['material_percent']}% of what they got)"
    )
    drops = ", ".join(f"{k}: {n:,}" for k, n in found["tier_drop_forecast"].items())
    lines = [
        f"{comparison.proposal} against {comparison.live}: {found['sales_changed']:,} events and "
        f"{found['members_changed']:,} members change; {verdict}",
        f"members losing status at the next review — {drops}",
    ]
    if comparison.members:
        lines += ["", f"members most affected (top {SHOWN}):"]
        rows = [["member", "points", "discounts", "impact", "tier at review"]]
        for m in comparison.members[:SHOWN]:
            rows.append(
                [
                    m.member_id,
                    f"{m.points:+,}",
                    f"{m.discounts:+}",
                    f"{m.impact:+}",
                    _arrow(m.tier_review),
                ]
            )
        lines += _columns(rows)
    return lines


def _arrow(pair: tuple[str | None, str | None]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]} → {pair[1]}"


def _mix(mix: dict[str, int]) -> str:
    return " ".join(f"{k}:{n}" for k, n in mix.items()) or "-"


def _cell(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]


# --- CSV ---------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "proposal",
    "member_id",
    "points",
    "discounts",
    "impact",
    "live_value",
    "material",
    "tier_at_end_live",
    "tier_at_end_proposal",
    "tier_at_next_review_live",
    "tier_at_next_review_proposal",
)


def member_csv(comparisons: Sequence[Comparison]) -> str:
    """One row per member who changes, per proposal, largest impact first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for comparison in comparisons:
        for m in comparison.members:
            writer.writerow(
                [
                    comparison.proposal,
                    m.member_id,
                    m.points,
                    m.discounts,
                    m.impact,
                    m.live_value,
                    "yes" if m.material else "no",
                    *(t or "" for t in m.tier_end),
                    *(t or "" for t in m.tier_review),
                ]
            )
    return out.getvalue()


# --- SVG ---------------------------------------------------------------------------------------


def charts(test: Backtest) -> dict[str, str]:
    """The main figures as grouped bar charts, one bar per version."""
    runs = test.runs
    return {
        "points": _grouped(
            f"{test.programme}: points in the period",
            ["issued", "redeemed", "expired"],
            runs,
            lambda r: [
                r.figures.points_issued,
                r.figures.points_redeemed,
                r.figures.points_expired,
            ],
        ),
        "cost": _grouped(
            f"{test.programme}: reward cost and liability at the period's end",
            ["discounts", "reward cost", "liability (burn value)", "liability (real cost)"],
            runs,
            lambda r: [
                float(r.figures.discounts),
                float(r.figures.reward_cost),
                float(r.figures.end.burn_value),
                float(r.figures.end.real_cost),
            ],
        ),
        "tiers": _grouped(
            f"{test.programme}: members per tier at the next review",
            [level["id"] for level in runs[0].evaluator.levels] or ["-"],
            runs,
            lambda r: (
                [r.figures.tier_mix_review.get(level["id"], 0) for level in r.evaluator.levels]
                or [0]
            ),
        ),
    }


def _grouped(
    title: str,
    groups: list[str],
    runs: Sequence[VersionRun],
    values: Callable[[VersionRun], list[float]],
) -> str:
    table_ = [values(r) for r in runs]
    top = max([abs(v) for row in table_ for v in row] + [1]) * 1.15
    canvas = Canvas(title, 0, len(groups), top)
    canvas.line(LEFT, canvas.y(0), WIDTH - RIGHT, canvas.y(0))
    slot = (canvas.x(1) - canvas.x(0)) * 0.8 / max(len(runs), 1)
    for g, group in enumerate(groups):
        left = canvas.x(g) + (canvas.x(1) - canvas.x(0)) * 0.1
        for i, row in enumerate(table_):
            value = max(row[g], 0)
            x0 = left + i * slot
            canvas.bar(x0 + 1, x0 + slot - 1, value, PALETTE[i % len(PALETTE)])
            canvas.text(x0 + slot / 2, canvas.y(value) - 4, f"{row[g]:,.0f}", size=10)
        canvas.text(canvas.x(g + 0.5), canvas.y(0) + 18, group, size=12)
    for i, run in enumerate(runs):
        x = LEFT + i * 180
        canvas.parts.append(
            f"<rect x='{x}' y='{HEIGHT - 30}' width='12' height='12' "
            f"fill='{PALETTE[i % len(PALETTE)]}'/>"
        )
        canvas.text(x + 16, HEIGHT - 20, run.label, size=12, anchor="start")
    return canvas.render()


# --- HTML --------------------------------------------------------------------------------------


def html(test: Backtest, comparisons: Sequence[Comparison]) -> str:
    """One self-contained page: the tables, the charts inline, the member-level lists."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Backtest of {escape(test.programme)}</title>",
        "<style>body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;"
        "text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>",
        f"<h1>Backtest of {escape(test.programme)}</h1>",
        f"<p>{escape(test.start.isoformat())} to {escape(test.end.isoformat())}: "
        f"{test.events:,} events replayed under each version, from the members' state at the "
        f"period's start ({test.warmup_events:,} earlier events replayed to rebuild it). "
        "Baskets are as they were: the replay shows what each version would have given for the "
        "same purchases, not how members would have reacted.</p>",
        _html_table(test),
    ]
    for svg in charts(test).values():
        parts.append(f"<figure>{svg}</figure>")
    for comparison in comparisons:
        parts.append(f"<h2>{escape(comparison.proposal)} against {escape(comparison.live)}</h2>")
        parts.append(f"<pre>{escape(chr(10).join(_comparison_lines(comparison)))}</pre>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _html_table(test: Backtest) -> str:
    versions = as_dict(test)["versions"]
    head = "".join(f"<th>{escape(v['label'])}<br>{escape(v['version'])}</th>" for v in versions)
    body = "".join(
        f"<tr><td>{escape(name.strip())}</td>"
        + "".join(f"<td>{escape(_cell(pick(v)))}</td>" for v in versions)
        + "</tr>"
        for name, pick in ROWS
    )
    return f"<table><tr><th></th>{head}</tr>{body}</table>"
