"""points_expiring: points expiring within the lead time, with the amount and the date."""

from __future__ import annotations

from datetime import date

import pytest

from tests.outreach.helpers import lot, member, programme, run, tasks, trigger, who

EXPIRY = date(2026, 12, 31)


@pytest.fixture
def seven(database):
    evaluator = programme(
        [
            trigger(
                "points_expiring",
                days_before=7,
                template="{name}: {points} points ({value_money}) expire on {expiry_date}, "
                "in {days_left} days.",
            )
        ]
    )
    member(database, evaluator, "m1")
    lot(database, evaluator, "m1", 1250, EXPIRY)
    lot(database, evaluator, "m1", 50, EXPIRY)
    return evaluator


def test_the_day_before_the_lead_time_finds_nobody(database, seven):
    assert run(database, seven, date(2026, 12, 23)).total == 0


def test_the_first_day_of_the_lead_time_creates_the_task_with_amount_and_date(database, seven):
    report = run(database, seven, date(2026, 12, 24))
    assert report.created == {"points-expiring": 1} and report.rendered == 1
    [task] = tasks(database)
    assert (task["cycle"], task["status"], task["due"]) == ("2026-12-31", "new", date(2026, 12, 24))
    assert task["payload"]["points"] == 1300
    assert task["message"] == (
        "Name m1: 1,300 points (HK$13.00) expire on 31 December 2026, in 7 days."
    )


def test_the_day_after_and_the_expiry_day_add_no_second_task(database, seven):
    run(database, seven, date(2026, 12, 24))
    assert run(database, seven, date(2026, 12, 25)).total == 0
    assert run(database, seven, date(2026, 12, 31)).total == 0
    assert len(tasks(database)) == 1


def test_points_already_expired_are_not_reminded(database, seven):
    assert run(database, seven, date(2027, 1, 1)).total == 0


def test_a_reminder_missed_by_a_late_lot_is_caught_up_inside_the_lead_time(database, seven):
    assert run(database, seven, date(2026, 12, 30)).total == 1
    assert tasks(database)[0]["message"].endswith("in 1 days.")


def test_two_lead_times_make_two_reminders_per_expiry(database):
    evaluator = programme(
        [
            trigger("points_expiring", id="thirty", days_before=30),
            trigger("points_expiring", id="seven", days_before=7),
        ]
    )
    member(database, evaluator, "m1")
    lot(database, evaluator, "m1", 100, EXPIRY)
    assert run(database, evaluator, date(2026, 12, 1)).created == {"thirty": 1, "seven": 0}
    assert run(database, evaluator, date(2026, 12, 24)).created == {"thirty": 0, "seven": 1}


def test_a_year_end_expiry_seen_across_the_new_year(database):
    evaluator = programme([trigger("points_expiring", days_before=3)])
    member(database, evaluator, "m1")
    lot(database, evaluator, "m1", 100, date(2027, 1, 1))
    assert run(database, evaluator, date(2026, 12, 28)).total == 0
    assert run(database, evaluator, date(2026, 12, 29)).total == 1
    assert tasks(database)[0]["cycle"] == "2027-01-01"


def test_used_points_are_not_reminded(database):
    evaluator = programme([trigger("points_expiring", days_before=7)])
    member(database, evaluator, "m1")
    lot(database, evaluator, "m1", 0, EXPIRY)
    assert run(database, evaluator, date(2026, 12, 24)).total == 0
    assert who(database) == []
