"""Every design check, passing and failing, with the severity and the line it concerns."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.review.checks import tier_rank
from engine.review.model import Finding
from tests.review.helpers import BURN, NAME, level, line_of, plain_tiers, proposal, review_of, tiers


def only(text: str, check: str) -> Finding:
    (finding,) = review_of(text).findings_of(check)
    assert finding.file == NAME
    return finding


# --- tiers.count ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "severity"), [(1, "ok"), (3, "ok"), (4, "warning"), (5, "serious"), (6, "serious")]
)
def test_tier_count(count: int, severity: str):
    names = ["Standard", "Bronze", "Silver", "Gold", "Platinum", "Diamond"][:count]
    text = proposal(plain_tiers(*names))
    finding = only(text, "tiers.count")
    assert finding.severity == severity
    assert finding.line == line_of(text, "levels:")
    assert finding.measured["tiers"] == str(count)


def test_no_tiers_no_tier_findings():
    review = review_of(proposal())
    assert not review.findings_of("tiers.count")
    assert not review.findings_of("tiers.names")
    assert not review.findings_of("tiers.metric")


# --- tiers.names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        ("Standard", "Gold", "Platinum"),
        ("Standard 普卡", "Gold 金卡", "Platinum 白金卡"),
        ("普卡", "金卡", "白金卡"),
        ("Classic 經典卡", "Silver", "Gold"),
        ("Level 1", "Level 2", "Level 3"),
        ("一星会员", "二星会员", "三星会员"),
    ],
)
def test_plain_ordered_names_pass(names: tuple[str, ...]):
    text = proposal(plain_tiers(*names))
    finding = only(text, "tiers.names")
    assert finding.severity == "ok"
    assert finding.line == line_of(text, "levels:")


def test_poetic_names_are_flagged_on_their_own_lines():
    text = proposal(plain_tiers("Seed", "Gold", "Bloom"))
    findings = review_of(text).findings_of("tiers.names")
    assert [(f.severity, f.line) for f in findings] == [
        ("warning", line_of(text, '"Seed"')),
        ("warning", line_of(text, '"Bloom"')),
    ]
    assert "does not say where it stands" in findings[0].message


def test_names_out_of_order_are_serious():
    text = proposal(plain_tiers("Standard", "Gold", "Silver"))
    finding = only(text, "tiers.names")
    assert finding.severity == "serious"
    assert finding.line == line_of(text, '"Silver"')
    assert "'Silver' is above 'Gold'" in finding.message


def test_platinum_is_not_read_as_gold():
    assert tier_rank("白金卡") == ("metal", 4)
    assert tier_rank("Gold Member") == ("metal", 3)
    assert tier_rank("Elite") is None


# --- tiers.metric --------------------------------------------------------------------------


def test_a_composite_metric_is_flagged_at_its_components():
    text = proposal(
        tiers(
            level("standard", "Standard"),
            level("gold", "Gold", 100),
            qualifying="metric: visits\nperiod: calendar_year\ncomponents: [visits, reviews, referrals]",
        )
    )
    finding = only(text, "tiers.metric")
    assert finding.severity == "warning"
    assert finding.line == line_of(text, "components:")
    assert "3 parts" in finding.message


@pytest.mark.parametrize(("metric", "severity"), [("spend", "ok"), ("visits", "info")])
def test_a_simple_metric_passes(metric: str, severity: str):
    text = proposal(
        tiers(level("standard", "Standard"), qualifying=f"metric: {metric}\nperiod: calendar_year")
    )
    finding = only(text, "tiers.metric")
    assert finding.severity == severity
    assert finding.line == line_of(text, "qualifying:")


# --- earn.ratio ----------------------------------------------------------------------------


@pytest.mark.parametrize(("points", "per"), [(1, "1"), (2, "1"), (1, "10"), (1, "100")])
def test_simple_earn_ratios_pass(points: int, per: str):
    text = proposal(points=points, per=per)
    finding = only(text, "earn.ratio")
    assert finding.severity == "ok"
    assert finding.line == line_of(text, "  points:")


@pytest.mark.parametrize(("points", "per", "shown"), [(5, "10", "0.5"), (3, "2", "1.5")])
def test_ratios_that_need_arithmetic_are_flagged(points: int, per: str, shown: str):
    text = proposal(points=points, per=per)
    finding = only(text, "earn.ratio")
    assert finding.severity == "warning"
    assert finding.line == line_of(text, "  points:")
    assert f"{points} points per {per} CNY (= {shown} per 1 CNY)" in finding.message


def test_an_override_with_a_hard_ratio_is_flagged_at_the_override():
    text = proposal().replace(
        "  per: 1\n", "  per: 1\n  overrides:\n    - {category: beans, points: 3, per: 2}\n"
    )
    findings = sorted(review_of(text).findings_of("earn.ratio"), key=lambda f: f.line)
    assert [(f.severity, f.line) for f in findings] == [
        ("ok", line_of(text, "  points:")),
        ("warning", line_of(text, "category: beans")),
    ]


# --- points.value --------------------------------------------------------------------------


def burn(points: int, worth: str) -> str:
    return f"burn:\n  points: {points}\n  worth: {worth}\n"


@pytest.mark.parametrize(
    ("burn_points", "worth", "severity", "rate"),
    [
        (100, "1", "ok", "1%"),
        (20, "1", "ok", "5%"),
        (200, "1", "ok", "0.5%"),
        (1000, "1", "warning", "0.1%"),
        (10, "1", "warning", "10%"),
    ],
)
def test_return_on_spend_against_the_default_band(burn_points, worth, severity, rate):
    text = proposal(burn(burn_points, worth))
    finding = only(text, "points.value")
    assert finding.severity == severity
    assert finding.line == line_of(text, "  worth:")
    assert finding.measured == {"return_on_spend": rate, "band": "0.5% to 5% (default)"}


def test_the_stated_band_is_used():
    text = proposal(burn(10, "1"), "review:\n  assumptions:\n    return_band_percent: [5, 10]\n")
    finding = only(text, "points.value")
    assert finding.severity == "ok"
    assert "5% to 10% (stated)" in finding.message


def test_a_top_tier_multiplier_beyond_the_band_is_flagged_at_the_multiplier():
    text = proposal(burn(50, "1"), plain_tiers("Standard", "Gold")).replace(
        "  per: 1\n", "  per: 1\n  multipliers: {t0: 1, t1: 3}\n"
    )
    findings = review_of(text).findings_of("points.value")
    assert [(f.severity, f.line, f.measured["return_on_spend"]) for f in findings] == [
        ("warning", line_of(text, "multipliers:"), "6%"),  # warnings come first
        ("ok", line_of(text, "  worth:"), "2%"),
    ]
    assert "t1 x3" in findings[0].message


def test_points_that_cannot_be_spent_are_worth_nothing():
    text = proposal()
    finding = only(text, "points.value")
    assert finding.severity == "warning"
    assert finding.line == line_of(text, "earn:")
    assert not review_of(text).findings_of("points.real_cost")


# --- points.real_cost ----------------------------------------------------------------------

ASSUMED = """
review:
  assumptions:
    redemption_rate_percent: 80
    cost_of_goods_percent: 75
"""


def test_real_cost_per_100_follows_the_domain_formula():
    # 100 points on 100 CNY, 100 points = 1 CNY → 1 CNY perceived; (1 / 2) * 0.8 * 0.75 = 0.30.
    text = proposal(BURN, ASSUMED)
    finding = only(text, "points.real_cost")
    assert finding.severity == "info"
    assert finding.line == line_of(text, "assumptions:")
    assert finding.measured["real_cost_per_100"] == "0.3"
    assert "0.30 CNY per 100 CNY of spend" in finding.message


def test_real_cost_for_a_high_margin_coffee_shop():
    # 100 points at 10 = 1 CNY → 10 CNY perceived; (10 / 2) * 0.85 * 0.30 = 1.275 CNY.
    text = proposal(
        burn(10, "1"),
        "review:\n  assumptions:\n    redemption_rate_percent: 85\n    cost_of_goods_percent: 30\n",
    )
    finding = only(text, "points.real_cost")
    assert Decimal(finding.measured["real_cost_per_100"]) == Decimal("1.275")
    assert finding.measured["perceived_value"] == "10.00"


def test_real_cost_uses_the_stated_earn_rate():
    # 1 point per 10 CNY: 10 points on 100 CNY → 0.10 CNY perceived → 0.03 CNY.
    finding = only(proposal(BURN, ASSUMED, per="10"), "points.real_cost")
    assert finding.measured["points_per_100"] == "10"
    assert Decimal(finding.measured["real_cost_per_100"]) == Decimal("0.03")


def test_real_cost_without_assumptions_uses_named_defaults_and_warns():
    text = proposal(BURN)
    finding = only(text, "points.real_cost")
    assert finding.severity == "warning"
    assert finding.line == line_of(text, "burn:")
    assert "80%" in (finding.hint or "")
    assert finding.measured["real_cost_per_100"] == "0.3"


# --- expiry.calendar -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "severity", "needle"),
    [
        ("expiry:\n  calendar:\n    years_after: 1\n", "warning", "calendar:"),
        ('expiry:\n  fixed_date: "2027-06-30"\n', "warning", "fixed_date:"),
        ("expiry:\n  rolling:\n    days: 365\n", "ok", "rolling:"),
        ("expiry:\n  end_of_month:\n    months_after: 12\n", "ok", "end_of_month:"),
    ],
)
def test_expiry(section: str, severity: str, needle: str):
    text = proposal(BURN, section)
    finding = only(text, "expiry.calendar")
    assert finding.severity == severity
    assert finding.line == line_of(text, needle)


def test_calendar_expiry_warns_of_the_year_end_rush():
    finding = only(proposal(BURN, "expiry:\n  calendar:\n    years_after: 1\n"), "expiry.calendar")
    assert "year-end redemption rush" in finding.message
    assert "rolling" in (finding.hint or "")


def test_points_that_never_expire_are_noted():
    assert only(proposal(BURN), "expiry.calendar").severity == "info"


# --- pitch.length --------------------------------------------------------------------------


def test_a_short_pitch_passes():
    text = proposal(pitch="Every yuan is a point; 100 points take 1 yuan off.")
    finding = only(text, "pitch.length")
    assert finding.severity == "ok"
    assert finding.line == line_of(text, "pitch:")
    assert finding.measured["words"] == "11"  # 11 words at 150 a minute = 4.4 s
    assert finding.measured["seconds"] == "4.4"


def test_a_long_english_pitch_is_flagged():
    pitch = " ".join(["word"] * 40)  # 40 words at 150 a minute = 16 s
    finding = only(proposal(pitch=pitch), "pitch.length")
    assert finding.severity == "warning"
    assert finding.measured["seconds"] == "16.0"
    assert "40 words at 150 words/min" in finding.message


def test_a_chinese_pitch_is_timed_by_characters():
    ok = "每消费一元得一分" * 6  # 48 characters at 240 a minute = 12 s
    long = "每消费一元得一分" * 8  # 64 characters = 16 s
    assert only(proposal(pitch=ok), "pitch.length").measured["seconds"] == "12.0"
    assert only(proposal(pitch=ok), "pitch.length").severity == "ok"
    finding = only(proposal(pitch=long), "pitch.length")
    assert (finding.severity, finding.measured["characters"]) == ("warning", "64")
    assert "0 words" not in finding.message


def test_a_mixed_pitch_counts_both_and_the_stated_rates():
    pitch = "免费入会 " + " ".join(["word"] * 20)  # 4 chars at 120 = 2 s; 20 words at 100 = 12 s
    rates = (
        "review:\n  assumptions:\n    speaking_rate:\n"
        "      words_per_minute: 100\n      characters_per_minute: 120\n"
    )
    text = proposal(rates, pitch=pitch)
    finding = only(text, "pitch.length")
    assert finding.measured["seconds"] == "14.0"
    assert "20 words at 100 words/min + 4 characters at 120 characters/min" in finding.message


# --- poster.terms --------------------------------------------------------------------------


def test_a_poster_with_seven_terms_passes():
    text = proposal(
        plain_tiers("Standard", "Gold", "Platinum"),
        pitch="Every yuan is a point, 100 points take 1 yuan off, Gold saves 2%.",
    )
    finding = only(text, "poster.terms")
    assert finding.severity == "ok"
    assert finding.measured == {"terms": "6", "limit": "7"}


def test_the_same_figure_counts_once():
    discount = "benefits:\n  - kind: discount\n    description: 5% off\n    percent: 5"
    text = proposal(plain_tiers("Standard", "Gold", bodies={1: discount}), pitch="Gold: 5% off.")
    assert only(text, "poster.terms").measured["terms"] == "3"  # 5%, Standard, Gold


def test_a_crowded_poster_is_flagged_at_the_pitch():
    fee = "paid: {fee: 1880.00, term_months: 12}"
    text = proposal(
        plain_tiers("Standard", "Gold", "Platinum", bodies={2: fee}),
        pitch="1 point per yuan, 100 points = 1 yuan, 20,000 for Gold, 5% off, 10% off.",
    )
    finding = only(text, "poster.terms")
    # 1, 100, 20000, 5%, 10%, three names, and the fee 1880: 9 terms
    assert (finding.severity, finding.line) == ("warning", line_of(text, "pitch:"))
    assert finding.measured["terms"] == "9"
    assert "1880" in finding.message


def test_a_very_crowded_poster_is_serious():
    pitch = "Save 1, 2, 3, 4, 5, 6, 7, 8 and 9 percent."
    finding = only(proposal(plain_tiers("Standard", "Gold"), pitch=pitch), "poster.terms")
    assert (finding.severity, finding.measured["terms"]) == ("serious", "11")


# --- review.section ------------------------------------------------------------------------


def test_a_proposal_without_a_review_section_is_flagged():
    text = proposal()
    finding = only(text, "review.section")
    assert (finding.severity, finding.line) == ("warning", line_of(text, "programme:"))


def test_a_proposal_with_a_review_section_is_not_flagged():
    assert not review_of(proposal(ASSUMED)).findings_of("review.section")


def test_findings_are_ordered_by_severity():
    review = review_of(proposal(plain_tiers("A", "B", "C", "D", "E"), per="10", points=5))
    order = [f.severity for f in review.findings]
    ranks = {"serious": 0, "warning": 1, "info": 2, "ok": 3}
    assert order == sorted(order, key=ranks.__getitem__)
    assert order[0] == "serious"
