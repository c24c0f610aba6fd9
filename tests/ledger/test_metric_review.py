"""The tier review by tier metrics (issue 12), set-based in SQL, against the Python oracle
``engine.tiering.status.decide`` for random members, on SQLite and PostgreSQL; and the
named rules of the two travel examples as members moving across review periods."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from engine.errors import InputError
from engine.ledger import jobs
from engine.ledger.tables import member_metrics, members, tier_history
from engine.policy.loader import load_programme
from engine.pricing import Evaluator
from engine.tiering.status import Held, decide
from tests.ledger.test_jobs import member_row

NOW = datetime(2029, 1, 1, tzinfo=UTC)
HOTEL, AIRLINE = "hotel-nights", "airline-miles"


@pytest.fixture(scope="module")
def evaluators() -> dict[str, Evaluator]:
    return {
        name: Evaluator(load_programme(f"rules/{name}/programme.yaml"), matcher="python")
        for name in (HOTEL, AIRLINE)
    }


def seed(database, programme, people):
    """``people``: (id, tier, since, valid_until, {window_start: {metric: total}})."""
    with database.begin() as conn:
        conn.execute(
            insert(members),
            [
                member_row(programme, mid, tier=tier, tier_since=since, tier_valid_until=until)
                for mid, tier, since, until, _ in people
            ],
        )
        metric_rows = [
            {
                "programme": programme,
                "member_id": mid,
                "window_start": start,
                "metric": m,
                "total": t,
            }
            for mid, *_, windows in people
            for start, amounts in windows.items()
            for m, t in amounts.items()
        ]
        if metric_rows:
            conn.execute(insert(member_metrics), metric_rows)


def states(database, programme):
    with database.connect() as conn:
        rows = conn.execute(
            select(
                members.c.id, members.c.tier, members.c.tier_since, members.c.tier_valid_until
            ).where(members.c.programme == programme)
        ).all()
    return {mid: (tier, since, until) for mid, tier, since, until in rows}


def random_people(model, start, rng, n):
    tiers = [None, *model.order]
    ends = [
        None,
        date(2027, 6, 30),
        date(2028, 2, 29),
        date(2028, 12, 31),
        date(2029, 2, 28),
        date(2028, 10, 15),
        date(2030, 5, 31),
    ]
    people = []
    for i in range(n):
        windows = {
            start: {
                m: Decimal(rng.choice([0, 1, 3, 5, 14, 16, 20, 25, 30, 49, 50, 61]))
                * (Decimal(10000) if m in ("fares", "distance") else 1)
                for m in model.metrics
                if rng.random() < 0.8
            }
        }
        if rng.random() < 0.2:
            windows[date(2001, start.month, 1)] = {
                next(iter(model.metrics)): Decimal(rng.choice([10, 1000]))
            }
        tier = rng.choice(tiers)
        until = rng.choice(ends) if tier not in (None, model.order[0]) else None
        people.append((f"r{i:03}", tier, date(2026, 1, 1), until, windows))
    return people


@pytest.mark.parametrize(
    ("programme", "review", "start"),
    [(HOTEL, date(2028, 12, 31), date(2028, 1, 1)), (AIRLINE, date(2029, 3, 31), date(2028, 4, 1))],
)
def test_the_sql_review_decides_as_the_python_oracle(
    database, evaluators, programme, review, start
):
    evaluator = evaluators[programme]
    model = evaluator.tier_model
    people = random_people(model, start, random.Random(12), 150)
    seed(database, programme, people)
    jobs.tier_review(database, evaluator, review, now=NOW, batch_size=40)
    after = states(database, programme)
    for mid, tier, since, until, windows in people:
        totals = windows.get(start, {})
        lifetime = {}
        for amounts in windows.values():
            for m, t in amounts.items():
                lifetime[m] = lifetime.get(m, Decimal(0)) + t
        decision = decide(model, Held(tier, until, since), review, totals, lifetime=lifetime)
        got = after[mid]
        expected_since = decision.effective if decision.tier != tier else since
        assert got == (decision.tier, expected_since, decision.valid_until), (
            mid,
            tier,
            until,
            windows,
            decision,
        )


def test_a_rerun_changes_nothing(database, evaluators):
    evaluator = evaluators[HOTEL]
    seed(
        database, HOTEL, random_people(evaluator.tier_model, date(2028, 1, 1), random.Random(3), 60)
    )
    jobs.tier_review(database, evaluator, date(2028, 12, 31), now=NOW)
    first = states(database, HOTEL)
    with database.connect() as conn:
        written = conn.execute(select(tier_history.c.member_id)).all()
    jobs.tier_review(database, evaluator, date(2028, 12, 31), now=NOW)
    with database.connect() as conn:
        assert len(conn.execute(select(tier_history.c.member_id)).all()) == len(written)
    assert states(database, HOTEL) == first


def test_a_review_on_a_day_that_closes_no_window_is_refused(database, evaluators):
    with pytest.raises(InputError, match="not the last day of a qualifying window"):
        jobs.tier_review(database, evaluators[AIRLINE], date(2028, 12, 31), now=NOW)


YEAR = date(2028, 1, 1)


def test_hotel_review_soft_landing_renewal_and_lifetime(database, evaluators):
    seed(
        database,
        HOTEL,
        [
            # Platinum whose status ran out in February with 3 nights: one level down to Gold,
            # effective three months after status ended (June), kept to that year's end.
            ("plat", "platinum", date(2026, 1, 1), date(2028, 2, 29), {YEAR: {"nights": 3}}),
            # Gold with 16 nights requalifies (requalify 16, below the 20 that reach Gold).
            ("gold16", "gold", date(2026, 1, 1), date(2028, 12, 31), {YEAR: {"nights": 16}}),
            # 1,000 lifetime nights: Platinum for good.
            (
                "life",
                "member",
                date(2020, 1, 1),
                None,
                {YEAR: {"nights": 2}, date(2010, 1, 1): {"nights": 998}},
            ),
            # Gold whose status ran out on the review day with 10 nights: to Member (one level
            # is all there is), effective after the three months' grace.
            ("gold10", "gold", date(2026, 1, 1), date(2028, 12, 31), {YEAR: {"nights": 10}}),
        ],
    )
    jobs.tier_review(database, evaluators[HOTEL], date(2028, 12, 31), now=NOW)
    after = states(database, HOTEL)
    assert after["plat"] == ("gold", date(2029, 1, 1), date(2029, 12, 31))
    assert after["gold16"] == ("gold", date(2026, 1, 1), date(2030, 2, 28))
    assert after["life"] == ("platinum", date(2029, 1, 1), None)
    assert after["gold10"] == ("member", date(2029, 4, 1), None)


def test_hotel_grace_moves_the_drop_to_three_months_after_status_ended(database, evaluators):
    seed(
        database,
        HOTEL,
        [("late", "platinum", date(2026, 1, 1), date(2028, 11, 30), {YEAR: {"nights": 1}})],
    )
    jobs.tier_review(database, evaluators[HOTEL], date(2028, 12, 31), now=NOW)
    # Status ended 30 November: the drop takes effect on 1 March, Gold to the end of 2029.
    assert states(database, HOTEL)["late"] == ("gold", date(2029, 3, 1), date(2029, 12, 31))


AIR_YEAR = date(2028, 4, 1)


def test_airline_requalification_is_lower_than_qualification(database, evaluators):
    def flown(segments, fares):
        return {AIR_YEAR: {"segments": Decimal(segments), "fares": Decimal(fares)}}

    seed(
        database,
        AIRLINE,
        [
            ("kept", "silver", date(2027, 5, 10), date(2029, 3, 31), flown(25, 250000)),
            ("dropped", "silver", date(2027, 5, 10), date(2029, 3, 31), flown(24, 250000)),
            ("up", "blue", date(2027, 5, 10), None, flown(30, 300000)),
            ("short", "blue", date(2027, 5, 10), None, flown(25, 250000)),
        ],
    )
    jobs.tier_review(database, evaluators[AIRLINE], date(2029, 3, 31), now=NOW)
    after = states(database, AIRLINE)
    assert after["kept"] == ("silver", date(2027, 5, 10), date(2030, 3, 31))
    assert after["dropped"] == ("blue", date(2029, 4, 1), None)
    assert after["up"] == ("silver", date(2029, 4, 1), date(2030, 3, 31))
    assert after["short"] == ("blue", date(2027, 5, 10), None)
