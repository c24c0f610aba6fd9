"""Consent and channel: only members who said yes to the channel and can be reached on it."""

from __future__ import annotations

from datetime import date

from tests.outreach.helpers import CONTACT, member, programme, run, trigger, who

BIRTHDAY = date(1990, 3, 15)
DAY = date(2026, 3, 15)


def test_consent_must_be_true_for_the_trigger_s_channel(database):
    evaluator = programme([trigger("birthday", channel="sms")])
    member(database, evaluator, "yes", birthday=BIRTHDAY, consent={"sms": True})
    member(database, evaluator, "no", birthday=BIRTHDAY, consent={"sms": False})
    member(database, evaluator, "silent", birthday=BIRTHDAY, consent={})
    member(database, evaluator, "other", birthday=BIRTHDAY, consent={"email": True})
    member(database, evaluator, "text", birthday=BIRTHDAY, consent={"sms": "true"})
    member(database, evaluator, "one", birthday=BIRTHDAY, consent={"sms": 1})
    run(database, evaluator, DAY)
    assert who(database) == ["yes"]


def test_the_channel_needs_an_address_except_app_pushes(database):
    evaluator = programme(
        [
            trigger("birthday", id="by-sms", channel="sms"),
            trigger("birthday", id="by-email", channel="email"),
            trigger("birthday", id="by-app", channel="app_push"),
        ]
    )
    member(database, evaluator, "phone-only", birthday=BIRTHDAY, contact={"phone": "+852 1"})
    member(database, evaluator, "nothing", birthday=BIRTHDAY, contact={})
    member(database, evaluator, "blank", birthday=BIRTHDAY, contact={"email": ""})
    run(database, evaluator, DAY)
    assert who(database, trigger_id="by-sms") == ["phone-only"]
    assert who(database, trigger_id="by-email") == []
    assert sorted(who(database, trigger_id="by-app")) == ["blank", "nothing", "phone-only"]


def test_merged_members_and_other_programmes_are_left_out(database):
    evaluator = programme([trigger("birthday")])
    other = programme([trigger("birthday")], id="other-programme")
    member(database, evaluator, "kept", birthday=BIRTHDAY)
    member(database, evaluator, "merged", birthday=BIRTHDAY, merged_into="kept")
    member(database, other, "elsewhere", birthday=BIRTHDAY)
    run(database, evaluator, DAY)
    assert who(database) == ["kept"]
    assert who(database, channel="sms") == ["kept"]
    assert CONTACT["phone"]
