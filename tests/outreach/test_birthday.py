"""birthday: on the day, in the programme's time zone; 29 February on 28 February in common years."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.outreach.run import today_for
from engine.outreach.triggers import birthday_days
from tests.outreach.helpers import member, programme, run, tasks, trigger, who

WISH = trigger(
    "birthday",
    channel="email",
    cooldown_days=300,
    template="Happy birthday {{ name }} ({{ birthday }}){% if offer %}: {{ offer }}{% endif %}",
    offer=[{"bonus_points": 500}],
)


@pytest.fixture
def wishes():
    return programme([WISH])


def test_day_before_of_and_after(database, wishes):
    member(database, wishes, "m1", birthday=date(1990, 3, 15))
    assert run(database, wishes, date(2026, 3, 14)).total == 0
    assert run(database, wishes, date(2026, 3, 15)).total == 1
    assert run(database, wishes, date(2026, 3, 15)).total == 0  # rerun: no-op
    assert run(database, wishes, date(2026, 3, 16)).total == 0
    [task] = tasks(database)
    assert task["cycle"] == "2026-03-15"
    assert task["message"] == "Happy birthday Name m1 (15 March 2026): 500 bonus points"
    assert task["payload"]["offer"] == [{"bonus_points": 500}]


def test_leap_day_birthday_in_a_common_year_falls_on_28_february(database, wishes):
    member(database, wishes, "leap", birthday=date(2000, 2, 29))
    member(database, wishes, "eve", birthday=date(2000, 2, 28))
    assert sorted(who(database)) == []
    run(database, wishes, date(2027, 2, 28))
    assert sorted(who(database)) == ["eve", "leap"]
    assert run(database, wishes, date(2027, 3, 1)).total == 0


def test_leap_day_birthday_in_a_leap_year_is_on_29_february(database, wishes):
    member(database, wishes, "leap", birthday=date(2000, 2, 29))
    assert run(database, wishes, date(2028, 2, 28)).total == 0
    assert run(database, wishes, date(2028, 2, 29)).total == 1


def test_year_end_birthdays_fire_again_next_year_after_the_cool_down(database, wishes):
    member(database, wishes, "nye", birthday=date(1980, 12, 31))
    member(database, wishes, "ny", birthday=date(1980, 1, 1))
    run(database, wishes, date(2026, 12, 31))
    run(database, wishes, date(2027, 1, 1))
    run(database, wishes, date(2027, 12, 31))
    assert [(t["member_id"], t["cycle"]) for t in tasks(database)] == [
        ("nye", "2026-12-31"),
        ("ny", "2027-01-01"),
        ("nye", "2027-12-31"),
    ]


def test_the_cool_down_holds_a_second_wish_inside_it(database):
    evaluator = programme([{**WISH, "cooldown_days": 400}])
    member(database, evaluator, "m1", birthday=date(1990, 3, 15))
    run(database, evaluator, date(2026, 3, 15))
    assert run(database, evaluator, date(2027, 3, 15)).total == 0
    assert (
        run(database, evaluator, date(2027, 3, 15) + (date(2026, 4, 20) - date(2026, 3, 15))).total
        == 0
    )


def test_the_day_is_the_programme_s_not_utc(database):
    shanghai = programme([WISH], timezone="Asia/Shanghai")
    member(database, shanghai, "m1", birthday=date(1990, 3, 15))
    late_utc = datetime(2026, 3, 14, 16, 30, tzinfo=UTC)  # 00:30 on 15 March in Shanghai
    assert late_utc.date() == date(2026, 3, 14)
    assert today_for(shanghai, late_utc) == date(2026, 3, 15)
    assert run(database, shanghai, today_for(shanghai, late_utc)).total == 1


def test_birthday_days():
    assert birthday_days(date(2027, 2, 28)) == ["02-28", "02-29"]
    assert birthday_days(date(2028, 2, 28)) == ["02-28"]
    assert birthday_days(date(2026, 12, 31)) == ["12-31"]
