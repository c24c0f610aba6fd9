"""Where rounding happens (``earn.round_at``): the rounded base then multipliers (default), or
multipliers on the exact base with one rounding of the total, per basket or per line."""

from __future__ import annotations

from tests.engine.conftest import line, sale

GOLD = {"id": "m1", "tier": "gold"}
TIERS = """
tiers:
  qualifying: {period: calendar_year}
  levels: [{id: standard, name: S}, {id: gold, name: G, threshold: {amount: 1000}}]
"""


def programme(**earn: str) -> str:
    extra = "".join(f", {key}: {value}" for key, value in earn.items())
    return TIERS + "earn: {points: 1, per: 1, multipliers: {gold: 2.5}" + extra + "}\n"


def test_by_default_the_base_is_rounded_before_the_multiplier_adds_to_it(quote):
    q = quote(programme(), GOLD, sale(line("a", "x", "9.60")))
    assert (q.earned.base, q.earned.tier_bonus, q.earned.total) == (9, 13, 22)


def test_rounding_the_total_multiplies_the_exact_base_first(quote):
    q = quote(programme(round_at="total"), GOLD, sale(line("a", "x", "9.60")))
    assert (q.earned.base, q.earned.tier_bonus, q.earned.total) == (9, 15, 24)


def test_rounding_the_total_per_line_rounds_each_lines_product(quote):
    # 4.80 x 2.5 = 12 on each line: 24; the basket rounding would give the same 24,
    # but 4.30 x 2.5 = 10.75 → 10 per line, twice: 20, against 21.5 → 21 per basket.
    per_line = quote(
        programme(round_at="total", rounding_scope="line"),
        GOLD,
        sale(line("a", "x", "4.30"), line("b", "y", "4.30")),
    )
    per_basket = quote(
        programme(round_at="total"), GOLD, sale(line("a", "x", "4.30"), line("b", "y", "4.30"))
    )
    assert per_line.earned.total == 20
    assert per_basket.earned.total == 21


def test_the_trace_shows_the_base_rounding_and_how_the_multiplier_was_rounded(quote):
    trace = quote(programme(round_at="total"), GOLD, sale(line("a", "x", "9.60"))).as_dict()[
        "trace"
    ]
    assert [(t["source"], t["detail"]) for t in trace] == [
        ("earn", "9.6 → 9 (floor, per basket)"),
        ("tier:gold", "x2.5: +15 (on the exact base, rounded with the total)"),
    ]


def test_the_default_trace_shows_the_base_rounding_only_when_it_cut_a_fraction(quote):
    cut = quote(programme(), GOLD, sale(line("a", "x", "9.60"))).as_dict()["trace"]
    whole = quote(programme(), GOLD, sale(line("a", "x", "9.00"))).as_dict()["trace"]
    assert [t["detail"] for t in cut] == ["9.6 → 9 (floor, per basket)", "x2.5: +13"]
    assert [t["detail"] for t in whole] == ["x2.5: +13"]


def test_rule_and_tier_multipliers_add_up_on_the_exact_base_when_the_total_is_rounded(quote):
    yaml_text = (
        programme(round_at="total")
        + """
rules:
  - id: double
    name: Double
    when: {transaction: {channel: store}}
    then: [{points_multiplier: 2}]
"""
    )
    q = quote(yaml_text, GOLD, sale(line("a", "x", "9.60")))
    # 9.6 x (1 + 1.5 + 1) = 33.6 → 33: base 9, tier 24 - 9 = 15, rule 33 - 24 = 9.
    assert (q.earned.base, q.earned.tier_bonus, q.earned.rule_bonus) == (9, 15, {"rule:double": 9})


def test_a_ceiling_rounds_the_total_up_once(quote):
    q = quote(programme(round_at="total", rounding="ceil"), GOLD, sale(line("a", "x", "9.61")))
    assert q.earned.total == 25  # 9.61 x 2.5 = 24.025 → 25
