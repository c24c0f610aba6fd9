"""Batch jobs: expiry sweeps, pending release, the tier review, inactivity; on both backends."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import func, insert, select

from engine.calendar import inactivity_deadline
from engine.errors import InputError
from engine.ledger import jobs
from engine.ledger.check import check
from engine.ledger.service import Ledger
from engine.ledger.tables import journal, lots, members, tier_history, transactions
from engine.policy.loader import load_programme
from engine.pricing import Evaluator
from tests.ledger.conftest import BEANS, LATTE, sale

SHOP = "coffee-shop"
REC = "recommended"
TICK = timedelta(microseconds=1)
NOW = datetime(2027, 1, 1, tzinfo=UTC)


class Killed(Exception):
    pass


def kill_after(batches):
    """A progress callback that stops the job after ``batches`` batches have committed."""
    calls = []

    def progress(done, total):
        calls.append(done)
        if len(calls) > batches:  # the first call reports 0 before any batch
            raise Killed

    return progress


@pytest.fixture(scope="module")
def recommended():
    return Evaluator(load_programme("rules/recommended/programme.yaml"), matcher="python")


def variant(evaluator, *, tiers=None, expiry=None):
    document = dict(evaluator.document)
    if tiers:
        document["tiers"] = {**document["tiers"], **tiers}
    if expiry is not None:
        document["expiry"] = expiry
    return Evaluator(dataclasses.replace(evaluator.programme, document=document), matcher="python")


def rows(database, table, *columns, **where):
    with database.connect() as conn:
        query = select(*(table.c[c] for c in columns))
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        return conn.execute(query.order_by(*(table.c[c] for c in columns))).all()


def count(database, table, **where):
    with database.connect() as conn:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        return conn.execute(query).scalar_one()


def balance(database, member, programme=SHOP):
    return rows(database, members, "balance", id=member, programme=programme)[0][0]


def enrol_and_buy(ledger, member, *sales, joined="2026-01-05"):
    ledger.enrol(SHOP, member, {"joined": joined})
    for tx_id, at, items in sales:
        ledger.commit_sale(SHOP, member, sale(tx_id, *items, at=at))


def lot_expiry(database, member):
    return rows(database, lots, "expires_at", member_id=member)[0][0]


# --- expire_lots --------------------------------------------------------------------------


def test_a_lot_is_kept_at_its_last_instant_and_lapses_just_after(ledger, database):
    enrol_and_buy(ledger, "m1", ("t1", "2026-11-24T12:00:00+08:00", [BEANS]))
    expires = lot_expiry(database, "m1")
    assert jobs.expire_lots(database, SHOP, expires) == jobs.Expired()
    assert balance(database, "m1") == 196
    done = jobs.expire_lots(database, SHOP, expires + TICK)
    assert done == jobs.Expired(lots=1, points=196, members=1)
    assert balance(database, "m1") == 0
    entry = rows(database, journal, "kind", "points", "at", kind="expire")
    assert entry == [("expire", -196, expires)]
    assert check(database) == []


def test_only_the_points_left_in_a_lot_expire(ledger, database):
    enrol_and_buy(
        ledger,
        "m1",
        ("t1", "2026-11-20T12:00:00+08:00", [BEANS, BEANS]),
        ("t2", "2026-11-24T12:00:00+08:00", [LATTE]),
    )
    ledger.commit_sale(
        SHOP, "m1", sale("t3", LATTE, redeem_points=250, at="2026-11-25T12:00:00+08:00")
    )
    before = balance(database, "m1")
    left = sum(p for (p,) in rows(database, lots, "points_left"))
    jobs.expire_lots(database, SHOP, datetime(2028, 1, 1, tzinfo=UTC))
    assert balance(database, "m1") == before - left == 0
    assert -sum(p for (p,) in rows(database, journal, "points", kind="expire")) == left
    assert check(database) == []


def test_a_second_sweep_changes_nothing(ledger, database):
    enrol_and_buy(ledger, "m1", ("t1", "2026-11-24T12:00:00+08:00", [BEANS]))
    as_of = datetime(2028, 1, 1, tzinfo=UTC)
    jobs.expire_lots(database, SHOP, as_of)
    assert jobs.expire_lots(database, SHOP, as_of) == jobs.Expired()
    assert count(database, journal, kind="expire") == 1
    assert check(database) == []


def test_debt_stays_owed_when_lots_expire(ledger, database):
    enrol_and_buy(ledger, "m1", ("t1", "2026-11-24T12:00:00+08:00", [BEANS]))
    with database.begin() as conn:
        conn.execute(members.update().values(debt=30, balance=members.c.balance - 30))
        conn.execute(
            journal.insert().values(
                programme=SHOP, member_id="m1", kind="clawback", points=-30, at=NOW
            )
        )
    jobs.expire_lots(database, SHOP, datetime(2028, 1, 1, tzinfo=UTC))
    assert balance(database, "m1") == -30
    assert check(database) == []


def seed_lots(database, programme, members_count, lots_each, expires_at):
    """Members with open lots and matching journal rows (set up directly, in bulk)."""
    with database.begin() as conn:
        conn.execute(
            insert(members),
            [
                member_row(programme, f"m{i:03}", balance=lots_each * 10)
                for i in range(members_count)
            ],
        )
        ids = conn.execute(
            insert(lots).returning(lots.c.id, lots.c.member_id, sort_by_parameter_order=True),
            [
                {
                    "programme": programme,
                    "member_id": f"m{i:03}",
                    "points": 10,
                    "points_left": 10,
                    "earned_at": NOW - timedelta(days=400),
                    "expires_at": expires_at,
                }
                for i in range(members_count)
                for _ in range(lots_each)
            ],
        ).all()
        conn.execute(
            insert(journal),
            [
                {
                    "programme": programme,
                    "member_id": member,
                    "kind": "adjust",
                    "points": 10,
                    "lot_id": lot,
                    "at": NOW - timedelta(days=400),
                }
                for lot, member in ids
            ],
        )


def member_row(programme, member_id, **values):
    return {
        "programme": programme,
        "id": member_id,
        "name": None,
        "tags": {},
        "contact": {},
        "consent": {},
        "joined": date(2025, 1, 1),
        "tier": "standard",
        "tier_since": date(2025, 1, 1),
        "tier_valid_until": None,
        "qualifying_spend": Decimal(0),
        "period_start": None,
        "balance": 0,
        "debt": 0,
        "created_at": NOW - timedelta(days=500),
        "updated_at": NOW - timedelta(days=500),
        **values,
    }


def test_a_killed_sweep_leaves_whole_batches_and_a_rerun_finishes_it(database):
    seed_lots(database, SHOP, 10, 3, NOW - timedelta(days=1))
    assert check(database) == []
    with pytest.raises(Killed):
        jobs.expire_lots(database, SHOP, NOW, batch_size=7, progress=kill_after(2))
    assert count(database, journal, kind="expire") == 14
    assert check(database) == []
    seen = []
    rest = jobs.expire_lots(
        database, SHOP, NOW, batch_size=7, progress=lambda d, t: seen.append((d, t))
    )
    assert rest.lots == 16 and rest.points == 160
    assert seen[0] == (0, 16) and seen[-1] == (16, 16)
    assert count(database, journal, kind="expire") == 30
    assert sum(b for (b,) in rows(database, members, "balance")) == 0
    assert check(database) == []


def test_naive_times_are_refused(database):
    with pytest.raises(InputError):
        jobs.expire_lots(database, SHOP, datetime(2027, 1, 1))


# --- release_pending ------------------------------------------------------------------------


@pytest.fixture
def retail_ledger(database, coffee):
    evaluator = Evaluator(load_programme("rules/calendar-retail/programme.yaml"), matcher="python")
    return Ledger(database, {SHOP: coffee, evaluator.programme.id: evaluator}, clock=lambda: NOW)


def test_pending_points_are_counted_when_they_become_spendable_and_nothing_is_written(
    retail_ledger, database
):
    retail = "calendar-retail"
    retail_ledger.enrol(retail, "m1", {"joined": "2026-01-05"})
    retail_ledger.commit_sale(
        retail, "m1", sale("t1", ("SHIRT", "apparel", "500.00", 1), at="2026-11-02T15:00:00+08:00")
    )
    (pending,) = rows(database, lots, "pending_until")[0]
    journal_rows = count(database, journal)
    assert jobs.release_pending(database, retail, pending - TICK).lots == 0
    released = jobs.release_pending(database, retail, pending)
    assert (released.lots, released.members) == (1, 1) and released.points > 0
    assert jobs.release_pending(database, retail, pending + TICK, since=pending).lots == 0
    assert count(database, journal) == journal_rows
    assert rows(database, lots, "pending_until") == [(pending,)]
    assert check(database) == []


# --- tier review --------------------------------------------------------------------------


def seed_spenders(database, programme, spends, *, period_start=date(2026, 1, 1), **values):
    with database.begin() as conn:
        conn.execute(
            insert(members),
            [
                member_row(
                    programme,
                    f"s{i:03}",
                    qualifying_spend=Decimal(spend),
                    period_start=period_start,
                    **values,
                )
                for i, spend in enumerate(spends)
            ],
        )


def tiers_of(database, programme=REC):
    found = {}
    for (tier,) in rows(database, members, "tier", programme=programme):
        found[tier] = found.get(tier, 0) + 1
    return found


def test_top_percent_thresholds_come_from_the_spend_ranking(database, recommended):
    seed_spenders(database, REC, [200 * i for i in range(1, 101)])
    thresholds = jobs.tier_review(database, recommended, date(2026, 12, 31), now=NOW)
    # 100 members: the 20th highest spend is gold, the 5th highest platinum
    assert thresholds == {"gold": Decimal("16200.00"), "platinum": Decimal("19200.00")}
    assert tiers_of(database) == {"standard": 80, "gold": 15, "platinum": 5}
    (row,) = rows(database, members, "tier", "tier_since", "tier_valid_until", id="s099")
    assert row == ("platinum", date(2027, 1, 1), date(2027, 12, 31))
    assert jobs.review_changes(database, REC, date(2026, 12, 31)) == {
        "upgrade, qualifying spend reached the threshold": 20
    }
    assert Evaluator(recommended.programme, resolved_thresholds=thresholds).thresholds == thresholds


def test_the_floor_wins_over_a_low_boundary(database, recommended):
    seed_spenders(database, REC, [10 * i for i in range(1, 101)] + [3000, 12000])
    thresholds = jobs.tier_review(database, recommended, date(2026, 12, 31), now=NOW)
    assert thresholds == {"gold": Decimal("3000.00"), "platinum": Decimal("10000.00")}
    assert tiers_of(database) == {"standard": 100, "gold": 1, "platinum": 1}


@pytest.mark.parametrize("percent", [5, 7, 20, 2.5, 33.3, 100])
def test_percentile_disc_and_the_window_ranking_agree(database, recommended, percent):
    spends = [(i * 37) % 250 for i in range(143)]  # ties and zeros
    seed_spenders(database, REC, spends)
    plan = jobs.review_plan(recommended, date(2026, 12, 31))
    ranked = sorted(spends, reverse=True)
    k = math.ceil(len(spends) * Fraction(str(percent)) / 100)
    methods = ["window", "percentile"] if database.dialect.name == "postgresql" else ["window"]
    with database.connect() as conn:
        for method in methods:
            got = jobs.top_percent_boundary(conn, plan, percent, method=method)
            assert Decimal(got) == ranked[int(k) - 1], method


def test_spend_of_another_period_and_later_members_do_not_count(database, recommended):
    seed_spenders(database, REC, [50_000], period_start=date(2025, 1, 1))
    with database.begin() as conn:
        conn.execute(
            insert(members),
            [
                member_row(
                    REC,
                    "late",
                    joined=date(2027, 1, 1),
                    qualifying_spend=Decimal(90_000),
                    period_start=date(2026, 1, 1),
                ),
                member_row(
                    REC, "now", qualifying_spend=Decimal(20_000), period_start=date(2026, 1, 1)
                ),
            ],
        )
    jobs.tier_review(database, recommended, date(2026, 12, 31), now=NOW)
    found = dict(rows(database, members, "id", "tier"))
    assert found == {"s000": "standard", "late": "standard", "now": "platinum"}


def test_a_rerun_or_a_resumed_review_writes_each_change_once(database, recommended):
    seed_spenders(database, REC, [200 * i for i in range(1, 101)])
    with pytest.raises(Killed):
        jobs.tier_review(
            database,
            recommended,
            date(2026, 12, 31),
            batch_size=30,
            progress=kill_after(3),
            now=NOW,
        )
    assert count(database, tier_history) == 10  # s000..s089 done: s080..s089 moved up
    jobs.tier_review(database, recommended, date(2026, 12, 31), batch_size=30, now=NOW)
    jobs.tier_review(database, recommended, date(2026, 12, 31), now=NOW)
    assert count(database, tier_history) == 20
    assert tiers_of(database) == {"standard": 80, "gold": 15, "platinum": 5}


def expired_member(database, programme, member, tier, spend, valid_until=date(2026, 12, 31)):
    with database.begin() as conn:
        conn.execute(
            insert(members).values(
                member_row(
                    programme,
                    member,
                    tier=tier,
                    tier_since=date(2025, 3, 1),
                    tier_valid_until=valid_until,
                    qualifying_spend=Decimal(spend),
                    period_start=date(2026, 1, 1),
                )
            )
        )


def state(database, member):
    return rows(database, members, "tier", "tier_since", "tier_valid_until", id=member)[0]


def test_downgrades_follow_the_rule(database, recommended):
    # four members: gold is the top one's 5,000, platinum its floor, 10,000
    expired_member(database, REC, "drop-one", "platinum", 0)
    expired_member(database, REC, "to-gold", "platinum", 4000)
    expired_member(database, REC, "still-valid", "platinum", 0, valid_until=date(2027, 12, 31))
    expired_member(database, REC, "renewed", "gold", 5000)
    jobs.tier_review(database, recommended, date(2026, 12, 31), now=NOW)
    assert state(database, "drop-one") == ("gold", date(2027, 1, 1), date(2027, 12, 31))
    assert state(database, "to-gold") == ("gold", date(2027, 1, 1), date(2027, 12, 31))
    assert state(database, "still-valid") == ("platinum", date(2025, 3, 1), date(2027, 12, 31))
    assert state(database, "renewed") == ("gold", date(2025, 3, 1), date(2027, 12, 31))
    assert jobs.review_changes(database, REC, date(2026, 12, 31)) == {
        "downgrade (one_level), status ran out": 2,
        "status renewed, qualifying spend reached the threshold again": 1,
    }
    # a year later "drop-one" has still spent nothing: one more level down
    jobs.tier_review(database, recommended, date(2027, 12, 31), now=NOW)
    assert state(database, "drop-one") == ("standard", date(2028, 1, 1), None)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("to_qualified", ("standard", date(2027, 1, 1), None)),
        ("never", ("platinum", date(2025, 3, 1), date(2026, 12, 31))),
    ],
)
def test_to_qualified_and_never(database, recommended, rule, expected):
    evaluator = variant(recommended, tiers={"downgrade": rule})
    expired_member(database, REC, "m", "platinum", 100)
    jobs.tier_review(database, evaluator, date(2026, 12, 31), now=NOW)
    assert state(database, "m") == expected
    jobs.tier_review(database, evaluator, date(2026, 12, 31), now=NOW)
    assert count(database, tier_history) == (rule != "never")


def test_status_that_lasts_only_to_the_period_end_carries_nothing(database, recommended):
    evaluator = variant(recommended, tiers={"status_lasts": "end_of_period"})
    expired_member(database, REC, "m", "platinum", 50_000)
    jobs.tier_review(database, evaluator, date(2026, 12, 31), now=NOW)
    assert state(database, "m") == ("gold", date(2027, 1, 1), date(2027, 12, 31))


SHANGHAI = timezone(timedelta(hours=8))


def seed_purchases(database, programme, purchases):
    """Sales as the ledger records them for rolling windows: (member, local time, qualifying)."""
    with database.begin() as conn:
        conn.execute(
            insert(transactions),
            [
                {
                    "programme": programme,
                    "id": f"p{i}",
                    "kind": "sale",
                    "member_id": member,
                    "request_hash": "x",
                    "request": {},
                    "response": {},
                    "status": 201,
                    "points_earned": 0,
                    "points_redeemed": 0,
                    "points_settled": 0,
                    "qualifying": Decimal(amount),
                    "at": at.replace(tzinfo=SHANGHAI),
                    "created_at": NOW,
                }
                for i, (member, at, amount) in enumerate(purchases)
            ],
        )


def test_a_rolling_review_sums_the_transactions_of_the_12_months(database, coffee):
    seed_spenders(database, SHOP, [0, 0], period_start=None)
    seed_purchases(
        database,
        SHOP,
        [
            ("s000", datetime(2026, 1, 1, 0, 0), 500),  # the window's first instant
            ("s000", datetime(2026, 12, 31, 23, 59), 400),  # its last day
            ("s001", datetime(2025, 12, 31, 23, 59), 5000),  # the day before: not counted
            ("s001", datetime(2027, 1, 1, 0, 0), 5000),  # the day after: not counted
            ("s001", datetime(2026, 6, 1, 12), 100),
        ],
    )
    thresholds = jobs.tier_review(database, coffee, date(2026, 12, 31), now=NOW)
    assert thresholds == {"gold": Decimal("800.00"), "platinum": Decimal("3000.00")}
    assert dict(rows(database, members, "id", "tier")) == {"s000": "gold", "s001": "standard"}
    # status_lasts rolling_12_months: through the day before the anniversary
    assert state(database, "s000")[2] == date(2027, 12, 30)
    assert check(database) == []


def test_a_rolling_top_percent_ranks_the_summed_spend(database, recommended):
    evaluator = variant(
        recommended, tiers={"qualifying": {"metric": "spend", "period": "rolling_12_months"}}
    )
    seed_spenders(database, REC, [0] * 20, period_start=None)
    seed_purchases(
        database,
        REC,
        [(f"s{i:03}", datetime(2026, 3, 1 + k, 12), 1000 * i) for i in range(20) for k in range(2)],
    )
    thresholds = jobs.tier_review(database, evaluator, date(2026, 12, 31), now=NOW)
    # sums 0, 2000, ... 38000: the 4th highest (top 20% of 20) is 32000, the 1st 38000
    assert thresholds == {"gold": Decimal("32000.00"), "platinum": Decimal("38000.00")}
    assert tiers_of(database) == {"standard": 16, "gold": 3, "platinum": 1}


def test_an_anniversary_review_takes_the_members_whose_year_ends_that_day(database, recommended):
    evaluator = variant(
        recommended, tiers={"qualifying": {"metric": "spend", "period": "anniversary_year"}}
    )
    with database.begin() as conn:
        conn.execute(
            insert(members),
            [
                member_row(
                    REC,
                    "due",
                    joined=date(2024, 3, 10),
                    qualifying_spend=Decimal(20_000),
                    period_start=date(2025, 3, 10),
                ),
                member_row(
                    REC,
                    "later",
                    joined=date(2024, 3, 11),
                    qualifying_spend=Decimal(20_000),
                    period_start=date(2025, 3, 11),
                ),
            ],
        )
    jobs.tier_review(database, evaluator, date(2026, 3, 9), now=NOW)
    assert dict(rows(database, members, "id", "tier")) == {"due": "platinum", "later": "standard"}


def test_a_day_that_ends_no_period_is_refused(database, recommended):
    with pytest.raises(InputError, match="not the last day"):
        jobs.tier_review(database, recommended, date(2026, 12, 30))


# --- inactivity -----------------------------------------------------------------------------


@pytest.mark.parametrize("months", [1, 6, 13])
def test_the_inactivity_cutoff_matches_the_calendar_rule(months):
    tz = Evaluator(load_programme("rules/coffee-shop/programme.yaml"), matcher="python").tz
    for days in range(0, 400, 3):
        as_of = datetime(2027, 1, 1, 3, tzinfo=UTC) + timedelta(days=days, hours=days % 24)
        cutoff = jobs.inactivity_cutoff(as_of, months, tz)
        assert inactivity_deadline(cutoff - TICK, months, tz) < as_of
        assert inactivity_deadline(cutoff, months, tz) >= as_of


def test_an_inactive_member_loses_the_whole_balance(database, coffee):
    evaluator = variant(coffee, expiry={**coffee.document["expiry"], "inactivity": {"months": 6}})
    ledger = Ledger(database, {SHOP: evaluator}, clock=lambda: NOW)
    enrol_and_buy(
        ledger,
        "idle",
        ("t1", "2026-05-20T12:00:00+08:00", [BEANS]),
        ("t2", "2026-05-24T12:00:00+08:00", [LATTE]),
    )
    enrol_and_buy(ledger, "busy", ("t3", "2026-11-20T12:00:00+08:00", [BEANS]))
    deadline = inactivity_deadline(datetime(2026, 5, 24, 12, tzinfo=evaluator.tz), 6, evaluator.tz)
    assert jobs.expire_inactive(database, evaluator, deadline) == jobs.Expired()
    done = jobs.expire_inactive(database, evaluator, deadline + TICK)
    assert (done.lots, done.members) == (2, 1)
    assert balance(database, "idle") == 0 and balance(database, "busy") == 196
    assert count(database, journal, kind="expire", member_id="idle") == 2
    assert jobs.expire_inactive(database, evaluator, deadline + TICK) == jobs.Expired()
    assert check(database) == []


def test_a_killed_inactivity_sweep_resumes(database, coffee):
    evaluator = variant(coffee, expiry={"inactivity": {"months": 3}})
    seed_lots(database, SHOP, 10, 2, None)
    with pytest.raises(Killed):
        jobs.expire_inactive(database, evaluator, NOW, batch_size=4, progress=kill_after(1))
    assert count(database, journal, kind="expire") == 8
    assert check(database) == []
    assert jobs.expire_inactive(database, evaluator, NOW, batch_size=4).members == 6
    assert count(database, journal, kind="expire") == 20
    assert check(database) == []


def test_without_an_inactivity_rule_nothing_lapses(database, coffee):
    seed_lots(database, SHOP, 2, 1, None)
    assert jobs.expire_inactive(database, coffee, NOW) == jobs.Expired()


def test_a_member_whose_lots_span_batches_is_counted_once(database):
    seed_lots(database, SHOP, 10, 3, NOW - timedelta(days=1))  # lots 1-3 are m000's, 4-6 m001's…
    done = jobs.expire_lots(database, SHOP, NOW, batch_size=7)  # m002, m004… straddle batches
    assert done == jobs.Expired(lots=30, points=300, members=10)
    assert check(database) == []
