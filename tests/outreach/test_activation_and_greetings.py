"""never_bought: members who joined and never made a first purchase ("zombies");
holiday: greetings on the programme's declared holidays, fixed or per year."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest

from engine.policy.loader import Programme, load_programme, validate_document
from engine.policy.source import SourceMap
from engine.pricing import Evaluator
from tests.outreach.helpers import BASE, local, member, programme, run, sale, tasks, trigger
from tests.outreach.helpers import who as members_with_tasks

ZOMBIE = trigger(
    "never_bought",
    channel="call",
    after_days=14,
    until_days=90,
    template="{name} joined on {joined} ({days_since_joined} days ago) and has not bought yet",
)
HOLIDAYS = [
    {"id": "new-year", "name": "New Year", "date": "01-01"},
    {
        "id": "spring-festival",
        "name": "Spring Festival 春节",
        "dates": ["2026-02-17", "2027-02-06"],
    },
]


def greeting(**fields: Any) -> dict[str, Any]:
    return trigger(
        "holiday",
        channel="wechat",
        holidays=["new-year", "spring-festival"],
        template="Happy {holiday}, {name}! ({holiday_date})",
        **fields,
    )


def with_holidays(outreach: list[dict[str, Any]]) -> Evaluator:
    document = copy.deepcopy(dict(BASE.document))
    document["outreach"] = outreach
    document["holidays"] = HOLIDAYS
    version = f"test-{abs(hash(repr(outreach)))}"
    return Evaluator(Programme(document, version, (), SourceMap()), matcher="python")


# --- never bought --------------------------------------------------------------------------


@pytest.fixture
def zombies():
    return programme([ZOMBIE])


def test_a_member_who_never_bought_is_found_after_the_days_and_only_once(database, zombies):
    member(database, zombies, "z", joined=date(2026, 5, 1))
    assert run(database, zombies, date(2026, 5, 14)).total == 0  # 13 days: not yet
    assert run(database, zombies, date(2026, 5, 15)).total == 1
    assert run(database, zombies, date(2026, 5, 20)).total == 0  # one activation call, not daily
    (task,) = tasks(database)
    assert task["cycle"] == "joined:2026-05-01"
    assert task["payload"]["days_since_joined"] == 14
    assert task["message"] == "Name z joined on 1 May 2026 (14 days ago) and has not bought yet"


def test_a_member_with_a_purchase_is_no_zombie_even_without_a_lapse(database, zombies):
    member(database, zombies, "buyer", joined=date(2026, 5, 1))
    sale(database, zombies, "buyer", local(date(2026, 5, 3), 12))
    member(database, zombies, "zombie", joined=date(2026, 5, 1))
    run(database, zombies, date(2026, 5, 20))
    assert members_with_tasks(database) == ["zombie"]


def test_members_who_joined_too_long_ago_and_those_without_consent_are_left_out(database, zombies):
    member(database, zombies, "old", joined=date(2025, 1, 1))  # beyond until_days
    member(database, zombies, "quiet", joined=date(2026, 5, 1), consent={"call": False})
    member(database, zombies, "new", joined=date(2026, 5, 1))
    run(database, zombies, date(2026, 5, 20))
    assert members_with_tasks(database) == ["new"]


# --- holiday greetings ------------------------------------------------------------------------


def test_a_fixed_holiday_is_greeted_every_year_on_its_day(database):
    greeter = with_holidays([greeting()])
    member(database, greeter, "m")
    assert run(database, greeter, date(2026, 12, 31)).total == 0
    assert run(database, greeter, date(2027, 1, 1)).total == 1
    assert run(database, greeter, date(2027, 1, 1)).total == 0  # rerun: no-op
    assert run(database, greeter, date(2028, 1, 1)).total == 1
    assert [t["cycle"] for t in tasks(database)] == ["new-year:2027-01-01", "new-year:2028-01-01"]
    assert tasks(database)[0]["message"] == "Happy New Year, Name m! (1 January 2027)"


def test_a_holiday_with_dates_per_year_is_greeted_on_that_years_date(database):
    greeter = with_holidays([greeting(days_ahead=1)])
    member(database, greeter, "m")
    assert run(database, greeter, date(2026, 2, 17)).total == 0  # the day itself: 1 day late
    assert run(database, greeter, date(2026, 2, 16)).total == 1
    assert run(database, greeter, date(2027, 2, 5)).total == 1
    messages = [t["message"] for t in tasks(database)]
    assert messages[0] == "Happy Spring Festival 春节, Name m! (17 February 2026)"
    assert [t["payload"]["holiday_date"] for t in tasks(database)] == ["2026-02-17", "2027-02-06"]


def test_a_holiday_greeting_respects_the_channels_consent(database):
    greeter = with_holidays([greeting()])
    member(database, greeter, "yes")
    member(database, greeter, "no", consent={"wechat": False})
    member(database, greeter, "no-address", contact={"phone": "+85200000000"})
    run(database, greeter, date(2027, 1, 1))
    assert members_with_tasks(database) == ["yes"]


def _validate(text: str) -> list[str]:
    report = validate_document(text.encode("utf-8"), "p.yaml")
    return [p.render() for p in report.problems if p.severity == "error"]


HEAD = """programme: {id: p, name: P, currency: CNY, timezone: Asia/Shanghai, pitch: "Free tea."}
earn: {points: 1, per: 1}
"""


def test_a_greeting_of_an_undeclared_holiday_or_a_day_that_does_not_exist_is_refused():
    text = HEAD + (
        "holidays:\n"
        "  - {id: odd, name: Odd, date: '02-30'}\n"
        "outreach:\n"
        "  - {id: g, trigger: holiday, holidays: [mid-autumn], channel: sms, template: Hi}\n"
    )
    problems = "\n".join(_validate(text))
    assert "'02-30' is not a day of the year" in problems and "p.yaml:4" in problems
    assert "holiday 'mid-autumn' is not declared" in problems and "p.yaml:6" in problems


def test_a_never_bought_trigger_needs_after_days():
    text = HEAD + "outreach:\n  - {id: z, trigger: never_bought, channel: sms, template: Hi}\n"
    assert any("after_days" in p for p in _validate(text))


def test_a_declared_holiday_is_valid_with_a_fixed_date_or_dates_but_not_both():
    ok = HEAD + "holidays:\n  - {id: ny, name: NY, date: '01-01'}\n"
    assert _validate(ok) == []
    both = HEAD + "holidays:\n  - {id: ny, name: NY, date: '01-01', dates: [2026-01-01]}\n"
    assert _validate(both)


def test_the_recommended_programme_greets_on_the_festival_eve_and_nudges_new_members(database):
    recommended = Evaluator(load_programme("rules/recommended/programme.yaml"), matcher="python")
    eve = date(2027, 2, 5)  # Spring Festival 2027 is 6 February
    member(database, recommended, "new", joined=eve - timedelta(days=20), tier="standard")
    member(database, recommended, "regular", joined=date(2025, 1, 1), tier="standard")
    sale(database, recommended, "regular", local(date(2027, 2, 1), 12, "Asia/Shanghai"))
    report = run(database, recommended, eve)
    assert report.created["spring-festival-greeting"] == 2
    assert report.created["first-purchase-nudge"] == 1
    assert report.granted["first-purchase-nudge"] == 1
    (nudge,) = tasks(database, trigger_id="first-purchase-nudge")
    assert nudge["member_id"] == "new" and nudge["channel"] == "call"
    greeting_text = tasks(database, trigger_id="spring-festival-greeting")[0]["message"]
    assert "春节 Spring Festival" in greeting_text
