"""Vouchers at a real till: gunicorn with two workers, over HTTP, on SQLite and PostgreSQL.

A marketer generates a campaign's codes; tills quote and commit sales presenting them; two
tills presenting one code at the same moment (each reaching its own worker) see exactly one
sale go through.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.served import call, fresh_postgres, gunicorn

SHOP = "/v1/programmes/coffee-shop"
LINES = [{"id": "1", "sku": "LATTE-L", "category": "coffee", "quantity": 2, "unit_price": "36.00"}]


def sale(sale_id: str, member: str, *codes: str) -> dict:
    return {
        "member_id": member,
        "id": sale_id,
        "at": "2026-11-28T15:00:00+08:00",
        "lines": LINES,
        "vouchers": list(codes),
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, tmp_path) -> Iterator[tuple[str, str, str]]:
    """(base URL, pos key, marketer key) of gunicorn with two workers."""
    with _database(request.param, tmp_path) as database:
        engine = open_database(database)
        pos, marketer = create_key(engine, "pos"), create_key(engine, "marketer")
        engine.dispose()
        with gunicorn(database, tmp_path / "gunicorn.log", workers=2) as server:
            yield server.base, pos, marketer


def _database(backend: str, tmp_path):
    if backend == "postgresql":
        return fresh_postgres()
    from contextlib import nullcontext

    return nullcontext(f"sqlite:///{tmp_path / 'served.sqlite'}")


def together(*requests: tuple) -> list[tuple]:
    """Send the requests at the same moment from separate threads; their answers in order."""
    start = threading.Barrier(len(requests))
    answers: list[tuple] = [()] * len(requests)

    def send(index: int) -> None:
        start.wait()
        answers[index] = call(*requests[index])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_a_campaigns_codes_pay_at_the_till_once_even_when_two_tills_race(served):
    base, pos, marketer = served
    for member in ("m-1", "m-2"):
        assert call("PUT", f"{base}{SHOP}/members/{member}", {"name": member}, pos)[0] == 201
    batch = {"id": "spring", "count": 5, "value": "10.00", "channels": ["store"]}
    status, _, made = call("POST", f"{base}{SHOP}/vouchers/batches", batch, marketer)
    assert status == 201 and made["count"] == 5 and len(set(made["codes"])) == 5
    status, headers, again = call("POST", f"{base}{SHOP}/vouchers/batches", batch, marketer)
    assert (status, headers["Idempotent-Replayed"]) == (201, "true")
    assert sorted(again["codes"]) == sorted(made["codes"])
    assert call("POST", f"{base}{SHOP}/vouchers/batches", batch, pos)[0] == 403

    code = made["codes"][0]
    transaction = {k: v for k, v in sale("q", "m-1", code).items() if k != "member_id"}
    body = {"member_id": "m-1", "transaction": {**transaction, "channel": "store"}}
    status, _, quoted = call("POST", f"{base}{SHOP}/quote", body, pos)
    assert status == 200 and quoted["vouchers"] == [
        {"code": code, "value": "10.00", "paid": "10.00"}
    ]
    assert quoted["totals"]["payable"] == "62.00"

    url = f"{base}{SHOP}/transactions"
    for round_, code in enumerate(made["codes"][:4]):
        answers = together(
            ("POST", url, {**sale(f"a{round_}", "m-1", code), "channel": "store"}, pos),
            ("POST", url, {**sale(f"b{round_}", "m-2", code), "channel": "store"}, pos),
        )
        statuses = sorted(status for status, _, _ in answers)
        assert statuses[0] == 201 and statuses[1] in (409, 422), answers
        loser = next(body for status, _, body in answers if status != 201)
        assert loser.get("code", "conflict") in ("voucher.used", "conflict"), loser

    status, _, refused = call("POST", url, {**sale("c", "m-1", made["codes"][4])}, pos)
    assert status == 422 and refused["code"] == "voucher.wrong_channel"


def test_a_used_code_is_refused_and_listed_in_the_member_view_as_used(served):
    base, pos, marketer = served
    call("PUT", f"{base}{SHOP}/members/m-1", {"name": "Ann"}, pos)
    batch = {"id": "b1", "count": 1, "value": "5.00"}
    code = call("POST", f"{base}{SHOP}/vouchers/batches", batch, marketer)[2]["codes"][0]
    assert call("POST", f"{base}{SHOP}/transactions", sale("t1", "m-1", code), pos)[0] == 201
    status, _, twice = call("POST", f"{base}{SHOP}/transactions", sale("t2", "m-1", code), pos)
    assert status == 422 and twice["code"] == "voucher.used"
    status, _, bad = call(
        "POST", f"{base}{SHOP}/vouchers/batches", {"id": "x", "count": 0}, marketer
    )
    assert status == 422 and "count" in {e["path"] for e in bad["errors"]}
    status, _, member = call("GET", f"{base}{SHOP}/members/m-1", key=pos)
    assert status == 200
    assert [(v["code"], v["state"], v["used_by"], v["value"]) for v in member["vouchers"]] == [
        (code, "used", "t1", "5.00")
    ]
