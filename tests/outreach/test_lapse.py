"""lapse: no purchase within the expected cycle plus the grace; cycle per programme, per
category of the last purchase, or learned from the member's own median interval."""

from __future__ import annotations

from datetime import date, timedelta

from tests.outreach.helpers import local, member, programme, run, sale, tasks, trigger, who

LAPSE = trigger(
    "lapse",
    channel="call",
    cycle_days=14,
    grace_days=7,
    template="Call {name}: last seen {last_purchase_date}, {days_since} days ago "
    "(cycle {cycle_days} days).",
)
MAY_1 = date(2026, 5, 1)


def test_day_before_of_and_after_the_cycle_plus_grace(database):
    evaluator = programme([LAPSE])
    member(database, evaluator, "m1")
    sale(database, evaluator, "m1", local(MAY_1, 12))
    assert run(database, evaluator, date(2026, 5, 22)).total == 0  # 21 days: still expected
    assert run(database, evaluator, date(2026, 5, 23)).total == 1  # 22 days
    assert run(database, evaluator, date(2026, 5, 24)).total == 0  # the same lapse
    [task] = tasks(database)
    assert task["cycle"] == "2026-05-01"
    assert task["payload"]["cycle_source"] == "programme"
    assert task["message"] == "Call Name m1: last seen 1 May 2026, 22 days ago (cycle 14 days)."


def test_a_new_purchase_ends_the_lapse_and_a_later_one_is_a_new_task(database):
    evaluator = programme([LAPSE])
    member(database, evaluator, "m1")
    sale(database, evaluator, "m1", local(MAY_1, 12))
    run(database, evaluator, date(2026, 5, 23))
    sale(database, evaluator, "m1", local(date(2026, 5, 25), 12))
    assert run(database, evaluator, date(2026, 6, 1)).total == 0
    assert run(database, evaluator, date(2026, 6, 16)).total == 1
    assert [t["cycle"] for t in tasks(database)] == ["2026-05-01", "2026-05-25"]


def test_the_cool_down_repeats_a_standing_lapse_only_after_it(database):
    evaluator = programme([{**LAPSE, "cooldown_days": 10}])
    member(database, evaluator, "m1")
    sale(database, evaluator, "m1", local(MAY_1, 12))
    assert run(database, evaluator, date(2026, 5, 23)).total == 1
    for day in range(24, 32):
        assert run(database, evaluator, date(2026, 5, day)).total == 0
    assert run(database, evaluator, date(2026, 6, 1)).total == 0  # 9 days after the first
    assert run(database, evaluator, date(2026, 6, 2)).total == 1  # 10 days: again
    assert [t["due"] for t in tasks(database)] == [date(2026, 5, 23), date(2026, 6, 2)]


def test_the_category_of_the_last_purchase_sets_the_cycle(database):
    evaluator = programme([{**LAPSE, "cycle_by_category": {"rice_and_oil": 30, "fresh": 7}}])
    member(database, evaluator, "rice")
    member(database, evaluator, "both")
    member(database, evaluator, "other")
    sale(database, evaluator, "rice", local(MAY_1, 12), ("rice_and_oil",))
    sale(database, evaluator, "both", local(MAY_1, 12), ("fresh", "rice_and_oil"))
    sale(database, evaluator, "other", local(MAY_1, 12), ("toys",))
    run(database, evaluator, date(2026, 5, 23))
    assert who(database) == ["other"]
    assert run(database, evaluator, date(2026, 6, 7)).total == 0  # 37 days = 30 + 7
    run(database, evaluator, date(2026, 6, 8))
    assert sorted(who(database)) == ["both", "other", "rice"]
    assert {t["payload"]["cycle_source"] for t in tasks(database)} == {"programme", "category"}


def test_a_fresh_only_basket_uses_the_short_cycle(database):
    evaluator = programme([{**LAPSE, "cycle_by_category": {"fresh": 7}}])
    member(database, evaluator, "m1")
    sale(database, evaluator, "m1", local(MAY_1, 12), ("fresh",))
    assert run(database, evaluator, date(2026, 5, 15)).total == 0  # 14 days = 7 + 7
    assert run(database, evaluator, date(2026, 5, 16)).total == 1


def _every(database, evaluator, member_id, start, gaps):
    day = start
    sale(database, evaluator, member_id, local(day, 12))
    for gap in gaps:
        day += timedelta(days=gap)
        sale(database, evaluator, member_id, local(day, 12))
    return day


def test_a_learned_cycle_is_the_median_interval_between_purchase_days(database):
    evaluator = programme([{**LAPSE, "learn_cycle": True, "grace_days": 2}])
    member(database, evaluator, "weekly")
    last = _every(database, evaluator, "weekly", date(2026, 3, 1), [7, 6, 8, 7, 30])
    sale(database, evaluator, "weekly", local(last, 18))  # a second sale the same day
    assert last == date(2026, 4, 28)
    assert run(database, evaluator, last + timedelta(days=9)).total == 0  # 7 + 2
    assert run(database, evaluator, last + timedelta(days=10)).total == 1
    [task] = tasks(database)
    assert (task["payload"]["cycle_days"], task["payload"]["cycle_source"]) == (7, "learned")


def test_an_even_number_of_intervals_takes_the_lower_median(database):
    evaluator = programme([{**LAPSE, "learn_cycle": True, "grace_days": 0}])
    member(database, evaluator, "m1")
    last = _every(database, evaluator, "m1", date(2026, 1, 1), [2, 4, 6, 100])
    run(database, evaluator, last + timedelta(days=5))
    assert tasks(database)[0]["payload"]["cycle_days"] == 4


def test_too_little_history_falls_back_to_the_declared_cycle(database):
    evaluator = programme([{**LAPSE, "learn_cycle": True}])
    member(database, evaluator, "m1")
    last = _every(database, evaluator, "m1", date(2026, 4, 1), [3, 3])  # 3 purchases
    assert run(database, evaluator, last + timedelta(days=21)).total == 0
    assert run(database, evaluator, last + timedelta(days=22)).total == 1
    assert tasks(database)[0]["payload"]["cycle_source"] == "programme"


def test_the_purchase_day_is_the_programme_s_local_day(database):
    evaluator = programme([{**LAPSE, "grace_days": 0, "cycle_days": 7}], timezone="Asia/Shanghai")
    member(database, evaluator, "m1")
    sale(database, evaluator, "m1", local(date(2026, 3, 1), 0, "Asia/Shanghai").replace(minute=30))
    # 00:30 on 1 March in Shanghai is 16:30 on 28 February in UTC.
    assert run(database, evaluator, date(2026, 3, 8)).total == 0
    assert run(database, evaluator, date(2026, 3, 9)).total == 1
    assert tasks(database)[0]["payload"]["last_purchase_date"] == "2026-03-01"


def test_daylight_saving_zones_use_the_offset_of_each_instant(database):
    evaluator = programme([{**LAPSE, "grace_days": 0, "cycle_days": 7}], timezone="Europe/Paris")
    member(database, evaluator, "summer")
    member(database, evaluator, "winter")
    sale(database, evaluator, "summer", local(date(2026, 7, 1), 1, "Europe/Paris"))  # 23:00Z
    sale(
        database,
        evaluator,
        "winter",
        local(date(2026, 1, 10), 0, "Europe/Paris").replace(minute=30),
    )
    run(database, evaluator, date(2026, 7, 9))
    days = {t["member_id"]: t["payload"]["last_purchase_date"] for t in tasks(database)}
    assert days == {"summer": "2026-07-01", "winter": "2026-01-10"}
    assert run(database, evaluator, date(2026, 7, 8)).total == 0
