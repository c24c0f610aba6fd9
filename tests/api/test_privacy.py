"""Nothing personal is logged, whatever fails: a database error while enrolling a member
leaves no name, phone number or e-mail in the logs (caplog, stderr, the real server's log),
on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, insert, text

from api import create_app
from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from engine.ledger.tables import members
from tests.api.conftest import Client
from tests.api.test_server_edges import served  # noqa: F401
from tests.ledger.conftest import database_url, postgres_schema, postgres_url  # noqa: F401
from tests.served import call

NAME, PHONE, EMAIL = "Zelda Quixote", "+852 9123 4567", "zelda.quixote@example.org"
PROFILE = {"name": NAME, "contact": {"phone": PHONE, "email": EMAIL}}
MEMBER = "/v1/programmes/coffee-shop/members/m-private"


@contextmanager
def refusing_new_members(engine: Engine) -> Iterator[None]:
    """A trigger that fails every insert into ``members``; PostgreSQL's error even quotes
    the name, as a unique-key violation would ("Key (name)=(...) already exists")."""
    _create_trigger(engine)
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS refuse" + _on(engine)))


def _on(engine: Engine) -> str:
    return "" if engine.dialect.name == "sqlite" else " ON members"


def _create_trigger(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON members "
                    "BEGIN SELECT RAISE(ABORT, 'members are closed'); END"
                )
            )
            return
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'members are closed to %', NEW.name; END $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON members FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        )


def assert_nothing_personal(*logs: str) -> None:
    for log in logs:
        for value in (NAME, PHONE, EMAIL, "Zelda", "9123", "zelda.quixote"):
            assert value not in log, log


def test_a_failed_statement_does_not_carry_its_parameters(database_url):  # noqa: F811
    engine = open_database(database_url)
    row = {"programme": "p", "id": "m", "name": NAME, "contact": {"email": EMAIL}}
    with refusing_new_members(engine), pytest.raises(Exception) as raised, engine.begin() as conn:
        conn.execute(insert(members).values(**row, balance=0, debt=0, qualifying_spend=0))
    assert "[SQL parameters hidden" in str(raised.value)
    assert EMAIL not in str(raised.value)
    engine.dispose()


def test_a_database_error_while_enrolling_logs_nothing_personal(
    database_url,  # noqa: F811
    caplog,
    capfd,
):
    app = create_app({"database_url": database_url, "matcher": "python"})
    database = app.extensions["loyalty"].database
    client = Client(app.test_client(), create_key(database, "marketer"))
    caplog.set_level(logging.DEBUG)

    with refusing_new_members(database):
        response = client.put(MEMBER, json=PROFILE)

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "unhandled error" in caplog.text and "SQL: INSERT INTO members" in caplog.text
    out, err = capfd.readouterr()
    assert_nothing_personal(caplog.text, out, err, response.get_data(as_text=True))
    database.dispose()


def test_the_real_server_logs_nothing_personal_on_a_database_error(served):  # noqa: F811
    port, log_path, url = served
    engine = open_database(url)
    key = create_key(engine, "marketer")

    with refusing_new_members(engine):
        status, _, problem = call("PUT", f"http://127.0.0.1:{port}{MEMBER}", PROFILE, key)
    engine.dispose()

    assert (status, problem["status"]) == (500, 500)
    log = log_path.read_text(errors="replace")
    assert "unhandled error" in log
    assert_nothing_personal(log)


def test_a_request_id_that_is_not_a_plain_token_is_replaced(as_role, caplog):
    caplog.set_level(logging.INFO)
    forged = as_role("pos").get("/healthz", headers={"X-Request-Id": f"{EMAIL} {{fake}}"})
    plain = as_role("pos").get("/healthz", headers={"X-Request-Id": "till-7.42"})
    assert plain.headers["X-Request-Id"] == "till-7.42"
    assert len(forged.headers["X-Request-Id"]) == 32
    assert_nothing_personal(caplog.text)
