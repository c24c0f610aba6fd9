"""Enrolling and updating members in the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from engine.errors import InputError, UnknownMember
from engine.ledger.tables import member_profile_history, members, tier_history

SHOP = "coffee-shop"

PROFILE = {"name": "Ann", "joined": "2026-01-05", "birthday": "1990-05-17"}


def stored(database, member_id: str = "m1"):
    with database.connect() as conn:
        return conn.execute(select(members).where(members.c.id == member_id)).mappings().one()


def history(database, member_id: str = "m1") -> list:
    with database.connect() as conn:
        table = member_profile_history
        query = select(table.c.actor, table.c.changes).where(table.c.member_id == member_id)
        return conn.execute(query.order_by(table.c.id)).all()


def test_simultaneous_first_enrolments_create_one_member_once(ledger, database):
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: ledger.enrol(SHOP, "m1", PROFILE), range(20)))
    assert [r["created"] for r in results].count(True) == 1
    with database.connect() as conn:
        assert len(conn.execute(select(tier_history)).all()) == 1
    assert len(history(database)) == 1


def test_every_enrolment_and_change_is_in_the_history_with_its_actor(ledger, database):
    ledger.enrol(SHOP, "m1", PROFILE, actor="api:pos")
    ledger.update_profile(SHOP, "m1", {"birthday": None}, actor="api:marketer")
    (enrolled, changed) = history(database)
    assert enrolled.actor == "api:pos" and enrolled.changes["name"] == [None, "Ann"]
    assert changed == ("api:marketer", {"birthday": ["1990-05-17", None]})


def test_a_replacing_enrolment_keeps_joined_when_left_out(ledger, database):
    ledger.enrol(SHOP, "m1", PROFILE)
    ledger.enrol(SHOP, "m1", {"name": "Anne"})
    row = stored(database)
    assert row["joined"].isoformat() == "2026-01-05" and row["birthday"] is None


def test_a_patch_cannot_remove_joined_or_reach_an_unknown_member(ledger, database):
    ledger.enrol(SHOP, "m1", PROFILE)
    with pytest.raises(InputError):
        ledger.update_profile(SHOP, "m1", {"joined": None})
    with pytest.raises(UnknownMember):
        ledger.update_profile(SHOP, "ghost", {"name": "G"})
    assert stored(database)["joined"].isoformat() == "2026-01-05"
