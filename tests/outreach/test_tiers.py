"""near_upgrade and tier_change (upgrade welcome, downgrade warning before the review)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.outreach.helpers import member, programme, run, tasks, tier_change, trigger, who

NEAR = trigger(
    "near_upgrade",
    channel="email",
    within_amount=3000,
    template="HK${amount_to_go} more before {period_end} makes you {next_tier} "
    "({spend_money} of {threshold_money}).",
)
THIS_YEAR = {"period_start": date(2026, 1, 1)}


def test_near_upgrade_edges_of_the_amount(database):
    evaluator = programme([NEAR])
    member(database, evaluator, "short", qualifying_spend=Decimal("16999.99"), **THIS_YEAR)
    member(database, evaluator, "edge", qualifying_spend=Decimal("17000.00"), **THIS_YEAR)
    member(database, evaluator, "close", qualifying_spend=Decimal("19999.99"), **THIS_YEAR)
    member(database, evaluator, "gold", tier="gold", qualifying_spend=Decimal("78000"), **THIS_YEAR)
    member(
        database, evaluator, "top", tier="platinum", qualifying_spend=Decimal("99000"), **THIS_YEAR
    )
    run(database, evaluator, date(2026, 12, 1))
    assert sorted(who(database)) == ["close", "edge", "gold"]
    messages = {t["member_id"]: t["message"] for t in tasks(database)}
    assert messages["edge"] == (
        "HK$3,000.00 more before 31 December 2026 makes you Gold 金卡 (HK$17,000.00 of HK$20,000.00)."
    )
    assert messages["close"].startswith("HK$0.01 more")
    assert "Platinum" in messages["gold"]


def test_spend_of_last_year_does_not_count_after_the_year_end(database):
    evaluator = programme([NEAR])
    member(database, evaluator, "m1", qualifying_spend=Decimal("18000"), **THIS_YEAR)
    assert run(database, evaluator, date(2026, 12, 31)).total == 1
    assert run(database, evaluator, date(2027, 1, 1)).total == 0


def test_near_upgrade_repeats_after_the_cool_down_only(database):
    evaluator = programme([{**NEAR, "cooldown_days": 30}])
    member(database, evaluator, "m1", qualifying_spend=Decimal("18000"), **THIS_YEAR)
    assert run(database, evaluator, date(2026, 10, 1)).total == 1
    assert run(database, evaluator, date(2026, 10, 30)).total == 0
    assert run(database, evaluator, date(2026, 10, 31)).total == 1


WELCOME = trigger(
    "tier_change",
    id="welcome",
    change="upgrade",
    channel="wechat",
    template="Welcome to {tier}, {name} (from {previous_tier}, since {since}).",
)


def test_an_upgrade_is_welcomed_from_its_day_for_a_week(database):
    evaluator = programme([WELCOME])
    member(database, evaluator, "m1")
    tier_change(database, evaluator, "m1", "classic", date(2025, 1, 1))
    tier_change(database, evaluator, "m1", "gold", date(2026, 6, 10))
    assert run(database, evaluator, date(2026, 6, 9)).total == 0
    assert run(database, evaluator, date(2026, 6, 10)).total == 1
    assert run(database, evaluator, date(2026, 6, 11)).total == 0
    [task] = tasks(database)
    assert task["message"] == (
        "Welcome to Gold 金卡, Name m1 (from Classic 經典卡, since 10 June 2026)."
    )


def test_a_missed_day_is_caught_up_within_the_week_and_not_after(database):
    evaluator = programme([WELCOME])
    for name in ("late", "too-late"):
        member(database, evaluator, name)
        tier_change(database, evaluator, name, "classic", date(2025, 1, 1))
    tier_change(database, evaluator, "late", "gold", date(2026, 6, 4))
    tier_change(database, evaluator, "too-late", "gold", date(2026, 6, 3))
    run(database, evaluator, date(2026, 6, 10))
    assert who(database) == ["late"]


def test_no_welcome_for_enrolment_a_downgrade_or_an_upgrade_undone(database):
    evaluator = programme([WELCOME])
    member(database, evaluator, "new")
    tier_change(database, evaluator, "new", "classic", date(2026, 6, 10))
    member(database, evaluator, "down")
    tier_change(database, evaluator, "down", "platinum", date(2025, 1, 1))
    tier_change(database, evaluator, "down", "gold", date(2026, 6, 10))
    member(database, evaluator, "undone")
    tier_change(database, evaluator, "undone", "classic", date(2025, 1, 1))
    tier_change(database, evaluator, "undone", "gold", date(2026, 6, 9))
    tier_change(database, evaluator, "undone", "classic", date(2026, 6, 10))
    assert run(database, evaluator, date(2026, 6, 10)).total == 0


WARNING = trigger(
    "tier_change",
    id="warning",
    change="downgrade",
    channel="call",
    template="Call {name}: {tier} ends {review_date}, then {new_tier} unless {amount_to_keep} more.",
)


def test_a_downgrade_warning_goes_out_30_days_before_the_review(database):
    evaluator = programme([WARNING])
    review = {"tier": "gold", "tier_valid_until": date(2026, 12, 31), **THIS_YEAR}
    member(database, evaluator, "short", qualifying_spend=Decimal("15000"), **review)
    member(database, evaluator, "kept", qualifying_spend=Decimal("20000"), **review)
    assert run(database, evaluator, date(2026, 11, 30)).total == 0
    assert run(database, evaluator, date(2026, 12, 1)).total == 1
    assert run(database, evaluator, date(2026, 12, 2)).total == 0
    [task] = tasks(database)
    assert task["member_id"] == "short"
    assert task["cycle"] == "2026-12-31:gold"
    assert task["message"] == (
        "Call Name short: Gold 金卡 ends 31 December 2026, then Classic 經典卡 unless 5,000.00 more."
    )


def test_no_spend_this_year_means_a_warning_and_never_means_none(database):
    lapsed = {
        "tier": "gold",
        "tier_valid_until": date(2026, 12, 31),
        "period_start": date(2025, 1, 1),
    }
    evaluator = programme([WARNING])
    member(database, evaluator, "m1", qualifying_spend=Decimal("50000"), **lapsed)
    assert run(database, evaluator, date(2026, 12, 15)).total == 1
    assert tasks(database)[0]["payload"]["tier"] == "gold"


def test_a_programme_that_never_downgrades_warns_nobody(database):
    evaluator = programme([WARNING])
    evaluator.document["tiers"]["downgrade"] = "never"
    member(database, evaluator, "m1", tier="gold", tier_valid_until=date(2026, 12, 31))
    assert run(database, evaluator, date(2026, 12, 15)).total == 0
