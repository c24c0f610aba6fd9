"""Per-member, per-window tier metric totals (issue 12): written by each sale beside its
lots, read by the next quote, taken back by returns, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.ledger.check import check
from engine.ledger.service import Ledger
from engine.ledger.tables import member_metrics, members
from engine.policy.loader import load_programme
from engine.pricing import Evaluator

HOTEL = "hotel-nights"
AIRLINE = "airline-miles"


@pytest.fixture(scope="module")
def evaluators() -> dict[str, Evaluator]:
    return {
        name: Evaluator(load_programme(f"rules/{name}/programme.yaml"), matcher="python")
        for name in (HOTEL, AIRLINE)
    }


@pytest.fixture
def ledger(database, evaluators) -> Ledger:
    ledger = Ledger(database, evaluators, clock=lambda: datetime(2027, 6, 1, tzinfo=UTC))
    ledger.enrol(HOTEL, "h1", {"joined": "2027-01-05"})
    ledger.enrol(AIRLINE, "a1", {"joined": "2027-01-05"})
    return ledger


def stay(sale_id: str, at: str, check_in: str, nights: int, *, hotel: str = "sh-bund", flags=()):
    body = {
        "id": sale_id,
        "at": at,
        "lines": [
            {
                "id": "room",
                "sku": "ROOM-DELUXE",
                "category": "rooms",
                "quantity": nights,
                "unit_price": "500.00",
                "stay": {"property": hotel, "check_in": check_in, "nights": nights},
            },
            {
                "id": "tax",
                "sku": "CITY-TAX",
                "category": "taxes",
                "quantity": 1,
                "unit_price": "20.00",
            },
        ],
    }
    if flags:
        body["flags"] = list(flags)
    return body


def totals(database, programme: str, member: str) -> dict[tuple[date, str], Decimal]:
    with database.connect() as conn:
        rows = conn.execute(
            select(member_metrics).where(
                member_metrics.c.programme == programme, member_metrics.c.member_id == member
            )
        ).mappings()
        return {(r["window_start"], r["metric"]): Decimal(r["total"]) for r in rows}


def tier_of(database, programme: str, member: str) -> str | None:
    with database.connect() as conn:
        return conn.execute(
            select(members.c.tier).where(members.c.programme == programme, members.c.id == member)
        ).scalar_one()


def test_each_sale_adds_its_nights_and_stays_to_the_members_year_total(ledger, database):
    ledger.commit_sale(HOTEL, "h1", stay("s1", "2027-03-12T11:00:00+08:00", "2027-03-09", 3))
    ledger.commit_sale(
        HOTEL, "h1", stay("s2", "2027-05-02T11:00:00+08:00", "2027-04-30", 2, hotel="bj")
    )
    year = date(2027, 1, 1)
    assert totals(database, HOTEL, "h1") == {(year, "nights"): 5, (year, "stays"): 2}
    assert check(database) == []


def test_the_next_quote_reads_the_stored_totals_and_says_what_is_left(ledger, database):
    for i in range(3):
        ledger.commit_sale(
            HOTEL, "h1", stay(f"s{i}", f"2027-0{i + 3}-12T11:00:00+08:00", f"2027-0{i + 3}-05", 5)
        )
    quote = ledger.quote(
        HOTEL, "h1", stay("q", "2027-07-01T11:00:00+08:00", "2027-06-28", 3)
    ).as_dict()
    assert quote["tier"]["path"] == [{"metric": "nights", "remaining": "2", "at_least": "20"}]
    assert quote["tier"]["remaining_to_next"] == "2"


def test_crossing_twenty_nights_upgrades_at_the_till(ledger, database):
    ledger.commit_sale(HOTEL, "h1", stay("s1", "2027-03-12T11:00:00+08:00", "2027-02-25", 17))
    sold = ledger.commit_sale(
        HOTEL, "h1", stay("s2", "2027-05-02T11:00:00+08:00", "2027-04-29", 3, hotel="bj")
    )
    assert sold.response["tier"]["after"] == "gold" and sold.response["tier"]["upgraded"]
    assert tier_of(database, HOTEL, "h1") == "gold"


def status_of(database, programme: str, member: str):
    with database.connect() as conn:
        return conn.execute(
            select(members.c.tier, members.c.tier_since, members.c.tier_valid_until).where(
                members.c.programme == programme, members.c.id == member
            )
        ).one()


def test_gold_earned_in_2027_lasts_to_the_end_of_february_2029(ledger, database):
    ledger.commit_sale(HOTEL, "h1", stay("s1", "2027-03-12T11:00:00+08:00", "2027-02-25", 20))
    assert tuple(status_of(database, HOTEL, "h1")) == ("gold", date(2027, 3, 12), date(2029, 2, 28))


def test_an_airline_upgrade_on_10_may_lasts_through_may_next_year(ledger, database):
    ledger.commit_sale(AIRLINE, "a1", flight("f1", "2027-05-10T08:00:00+09:00", "Y", 30, "300000"))
    assert tuple(status_of(database, AIRLINE, "a1")) == (
        "silver",
        date(2027, 5, 10),
        date(2028, 5, 31),
    )


def test_a_folio_continuing_an_earlier_stay_at_the_same_hotel_is_not_a_new_stay(ledger, database):
    ledger.commit_sale(HOTEL, "h1", stay("s1", "2027-03-12T11:00:00+08:00", "2027-03-09", 3))
    continued = stay("s2", "2027-03-14T11:00:00+08:00", "2027-03-12", 2)
    quote = ledger.quote(HOTEL, "h1", continued).as_dict()
    assert quote["tier"]["totals_after"] == {"nights": "5", "stays": "1"}
    ledger.commit_sale(HOTEL, "h1", continued)
    ledger.commit_sale(HOTEL, "h1", stay("s3", "2027-04-14T11:00:00+08:00", "2027-04-12", 2))
    assert totals(database, HOTEL, "h1") == {
        (date(2027, 1, 1), "nights"): 7,
        (date(2027, 1, 1), "stays"): 2,
    }


def test_a_whole_return_forgets_the_sales_stays(ledger, database):
    ledger.commit_sale(HOTEL, "h1", stay("s1", "2027-03-12T11:00:00+08:00", "2027-03-09", 3))
    ledger.return_items(HOTEL, "s1", {"id": "r1", "at": "2027-03-13T10:00:00+08:00"})
    again = stay("s2", "2027-03-14T11:00:00+08:00", "2027-03-12", 2)
    assert ledger.quote(HOTEL, "h1", again).as_dict()["tier"]["totals_after"]["stays"] == "1"


def test_an_award_stay_counts_nothing(ledger, database):
    ledger.commit_sale(
        HOTEL, "h1", stay("s1", "2027-03-12T11:00:00+08:00", "2027-03-09", 3, flags=["award"])
    )
    assert totals(database, HOTEL, "h1") == {}


def test_a_new_year_starts_from_nothing(ledger, database):
    ledger.commit_sale(HOTEL, "h1", stay("s1", "2027-12-31T11:00:00+08:00", "2027-12-28", 3))
    quote = ledger.quote(
        HOTEL, "h1", stay("q", "2028-01-05T11:00:00+08:00", "2028-01-02", 1)
    ).as_dict()
    assert quote["tier"]["totals_after"] == {"nights": "1", "stays": "1"}


def test_returns_take_back_the_returned_nights_from_the_window_the_sale_counted_in(
    ledger, database
):
    ledger.commit_sale(HOTEL, "h1", stay("s1", "2027-12-31T11:00:00+08:00", "2027-12-27", 4))
    back = {
        "id": "r1",
        "at": "2028-01-03T10:00:00+08:00",
        "lines": [{"line_id": "room", "quantity": 1}],
    }
    ledger.return_items(HOTEL, "s1", back)
    year = date(2027, 1, 1)
    assert totals(database, HOTEL, "h1") == {(year, "nights"): 3, (year, "stays"): 1}
    ledger.return_items(HOTEL, "s1", {"id": "r2", "at": "2028-01-03T11:00:00+08:00"})
    assert totals(database, HOTEL, "h1") == {(year, "nights"): 0, (year, "stays"): 0}
    assert check(database) == []


def flight(sale_id: str, at: str, fare_class: str, segments: int, fare: str) -> dict:
    return {
        "id": sale_id,
        "at": at,
        "lines": [
            {
                "id": "seg",
                "sku": f"FLT-{fare_class}",
                "category": "flights",
                "quantity": 1,
                "unit_price": fare,
                "attributes": {"fare_class": fare_class},
                "quantities": {"segments": segments, "distance_km": 1000 * segments},
            }
        ],
    }


def test_airline_totals_follow_the_april_to_march_year_and_fare_class_multipliers(ledger, database):
    ledger.commit_sale(AIRLINE, "a1", flight("f1", "2028-03-31T20:00:00+09:00", "C", 2, "90000"))
    ledger.commit_sale(AIRLINE, "a1", flight("f2", "2028-04-01T08:00:00+09:00", "Q", 2, "20000"))
    stored = totals(database, AIRLINE, "a1")
    assert stored[(date(2027, 4, 1), "segments")] == 3  # 2 C-class segments count 1.5 each
    assert stored[(date(2028, 4, 1), "segments")] == 1  # 2 Q-class segments count 0.5 each
    assert stored[(date(2027, 4, 1), "fares")] == 90000
    assert stored[(date(2028, 4, 1), "distance")] == 2000
