"""Exported targets: consented contacts only, never the holdout, safe in a spreadsheet."""

from __future__ import annotations

import csv

from sqlalchemy import select

from engine.campaigns.export import COLUMNS, contact_for, export, safe
from engine.ledger.tables import campaign_assignments, members
from tests.campaigns.conftest import CAMPAIGN, launched


def test_every_group_file_lists_its_consented_members_only(database, recommended, tmp_path):
    launched(database, recommended)
    with database.connect() as conn:
        result = export(conn, recommended, CAMPAIGN, tmp_path, ["sms", "email"])
        stored = conn.execute(
            select(
                campaign_assignments.c.member_id,
                campaign_assignments.c.group_id,
                members.c.consent,
            ).join(members, members.c.id == campaign_assignments.c.member_id)
        ).all()
    assert set(result.files) == {"a", "b", "c", "d"}  # no holdout file
    for group, path in result.files.items():
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert tuple(rows[0]) == COLUMNS
        expected = {
            m
            for m, g, consent in stored
            if g == group and (consent.get("sms") or consent.get("email"))
        }
        assert {r["member_id"] for r in rows} == expected
        assert result.rows[group] == len(rows)
        assert result.without_consent[group] == sum(1 for _, g, _c in stored if g == group) - len(
            rows
        )
        for row in rows:
            assert row["group"] == group and row["channel"] in ("sms", "email")
            assert row["address"].startswith("+86 138") == (row["channel"] == "sms")


def test_the_first_consented_reachable_channel_is_used():
    contact = {"phone": "+86 1380000", "email": "a@example.com"}
    consent = {"sms": False, "email": True, "app_push": True}
    assert contact_for(contact, consent, "m1", ["sms", "email"]) == ("email", "a@example.com")
    assert contact_for(contact, consent, "m1", ["app_push", "email"]) == ("app_push", "m1")
    assert contact_for({}, consent, "m1", ["email"]) is None
    assert contact_for(contact, {"sms": "yes"}, "m1", ["sms"]) is None  # only a real true


def test_formulas_are_neutralised_but_phone_numbers_kept():
    assert safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe("@SUM(A1)") == "'@SUM(A1)"
    assert safe("+86 138 0000 0000") == "+86 138 0000 0000"
    assert safe("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0"
    assert safe("Ann") == "Ann"
