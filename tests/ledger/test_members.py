"""Enrolling and updating members in the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from sqlalchemy import inspect, select

from engine.errors import InputError, UnknownMember
from engine.ledger.db import alembic_config, open_database, upgrade
from engine.ledger.tables import member_profile_history, members, tier_history
from tests.served import fresh_postgres

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


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path) -> Iterator[str]:
    """An empty database of its own (the migration is undone and redone in it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        return
    with fresh_postgres() as url:
        yield url


def test_the_profile_history_migration_goes_down_and_up(fresh_url):
    engine = open_database(fresh_url)
    try:
        command.downgrade(alembic_config(engine), "0004")
        assert "member_profile_history" not in inspect(engine).get_table_names()
        upgrade(engine)
        columns = {c["name"] for c in inspect(engine).get_columns("member_profile_history")}
        assert columns == {c.name for c in member_profile_history.columns}
    finally:
        engine.dispose()
