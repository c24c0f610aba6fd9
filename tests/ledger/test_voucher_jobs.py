"""Scheduled issuing jobs on SQLite and PostgreSQL: quarterly conversion of points to
vouchers, the yearly reward certificate, the anniversary bonus; each idempotent per period."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.errors import InputError, RedemptionError
from engine.ledger.check import check
from engine.ledger.jobs.vouchers import (
    anniversary_bonus,
    convert_points,
    last_renewal,
    period_label,
    reward_certificates,
)
from engine.ledger.service import Ledger
from engine.ledger.tables import journal, vouchers
from engine.policy.loader import load_programme
from engine.pricing import Evaluator
from tests.ledger.conftest import sale

STORE = "calendar-retail"
NOW = datetime(2027, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def retail() -> Evaluator:
    return Evaluator(load_programme("rules/calendar-retail/programme.yaml"), matcher="python")


@pytest.fixture
def shop(database, retail) -> Ledger:
    return Ledger(database, {STORE: retail}, clock=lambda: NOW)


def bought(shop, member, amount, at, sale_id, joined="2026-01-10"):
    shop.enrol(STORE, member, {"joined": joined})
    item = ("COAT", "fashion", amount, 1)
    return shop.commit_sale(STORE, member, sale(sale_id, item, at=at))


def held(database, member):
    with database.connect() as conn:
        rows = conn.execute(
            select(vouchers.c.batch, vouchers.c.value, vouchers.c.points, vouchers.c.channels)
            .where(vouchers.c.member_id == member)
            .order_by(vouchers.c.id)
        ).all()
    return [(b, Decimal(v), p, tuple(c)) for b, v, p, c in rows]


def test_periods_are_labelled_by_month_quarter_and_year():
    from datetime import date

    day = date(2027, 5, 31)
    assert [period_label(e, day) for e in ("month", "quarter", "year")] == [
        "2027-05",
        "2027-Q2",
        "2027",
    ]


def test_a_quarter_end_converts_whole_steps_and_carries_the_rest_once(shop, retail, database):
    earned = bought(shop, "m1", "4500.00", "2027-02-01T12:00:00+08:00", "s1")
    points = earned.response["points"]["total"]
    quarter_end = datetime.fromisoformat("2027-04-01T00:00:00+08:00")
    done = convert_points(database, retail, "quarterly-notes", quarter_end, now=NOW)
    steps = points // 2000
    assert (done.members, done.points, done.value) == (1, steps * 2000, Decimal(20 * steps))
    assert held(database, "m1") == [
        (
            "conversion:quarterly-notes:2027-Q1",
            Decimal(20 * steps),
            steps * 2000,
            ("store", "online"),
        )
    ]
    again = convert_points(database, retail, "quarterly-notes", quarter_end, now=NOW)
    assert again.members == 0 and len(held(database, "m1")) == 1
    with database.connect() as conn:
        converted = (
            conn.execute(select(journal.c.points).where(journal.c.kind == "convert"))
            .scalars()
            .all()
        )
    assert sum(converted) == -steps * 2000
    assert check(database) == []
    next_quarter = datetime.fromisoformat("2027-07-01T00:00:00+08:00")
    later = convert_points(database, retail, "quarterly-notes", next_quarter, now=NOW)
    assert later.members == 0  # the carried remainder is below the minimum


def test_pending_and_too_few_points_do_not_convert(shop, retail, database):
    bought(shop, "m1", "1500.00", "2027-02-01T12:00:00+08:00", "s1")
    bought(shop, "m2", "9000.00", "2027-03-25T12:00:00+08:00", "s2")  # pending 14 days
    quarter_end = datetime.fromisoformat("2027-04-01T00:00:00+08:00")
    done = convert_points(database, retail, "quarterly-notes", quarter_end, now=NOW)
    converted = [v for m in ("m1", "m2") for v in held(database, m) if "conversion" in v[0]]
    assert done.members == 0 and converted == []


def test_a_job_converts_every_member_across_batches(shop, retail, database):
    for i in range(7):
        bought(shop, f"m{i}", "2500.00", "2027-01-15T12:00:00+08:00", f"s{i}")
    seen = []
    quarter_end = datetime.fromisoformat("2027-04-01T00:00:00+08:00")
    done = convert_points(
        database,
        retail,
        "quarterly-notes",
        quarter_end,
        batch_size=3,
        progress=lambda d, t: seen.append((d, t)),
        now=NOW,
    )
    assert done.members == 7 and seen[-1] == (7, 7) and len(seen) == 4
    assert check(database) == []


def test_an_unknown_conversion_is_refused_naming_the_known_ones(retail, database):
    with pytest.raises(InputError, match="quarterly-notes"):
        convert_points(database, retail, "monthly", NOW)


def test_a_renewal_is_the_last_anniversary_of_joining():
    from datetime import date

    assert last_renewal(date(2026, 3, 5), date(2027, 3, 4)) is None
    assert last_renewal(date(2026, 3, 5), date(2027, 3, 5)) == date(2027, 3, 5)
    assert last_renewal(date(2024, 2, 29), date(2026, 3, 1)) == date(2026, 2, 28)
    assert last_renewal(date(2025, 3, 5), date(2027, 1, 1)) == date(2026, 3, 5)


def test_the_certificate_is_a_percent_of_the_years_spend_capped_after_the_renewal(
    shop, retail, database
):
    bought(shop, "small", "3000.00", "2026-06-01T12:00:00+08:00", "s1", joined="2026-03-05")
    bought(shop, "big", "90000.00", "2026-06-01T12:00:00+08:00", "s2", joined="2026-03-05")
    bought(shop, "tiny", "500.00", "2026-06-01T12:00:00+08:00", "s3", joined="2026-03-05")
    early = datetime.fromisoformat("2027-03-11T12:00:00+08:00")  # renewal + 6 days
    assert reward_certificates(database, retail, early, now=NOW).members == 0
    due = datetime.fromisoformat("2027-03-12T12:00:00+08:00")
    done = reward_certificates(database, retail, due, now=NOW)
    assert (done.members, done.value) == (2, Decimal("530.00"))
    assert [v[:2] for v in held(database, "small")] == [
        ("certificate:annual-certificate:2027-03-05", Decimal("30.00"))
    ]
    assert held(database, "big")[0][1] == Decimal(500)  # 1% of 90,000 capped at 500
    assert held(database, "tiny") == []  # 5.00 is under the minimum of 10
    assert reward_certificates(database, retail, due, now=NOW).members == 0


def test_the_anniversary_bonus_gives_a_percent_of_the_years_points_once(shop, retail, database):
    earned = bought(shop, "m1", "3000.00", "2026-06-01T12:00:00+08:00", "s1", joined="2026-03-05")
    points = earned.response["points"]["total"]
    renewal = datetime.fromisoformat("2027-03-05T09:00:00+08:00")
    done = anniversary_bonus(database, retail, renewal, now=NOW)
    assert (done.members, done.points) == (1, points * 5 // 100)
    assert anniversary_bonus(database, retail, renewal, now=NOW).members == 0
    with database.connect() as conn:
        bonus = conn.execute(
            select(journal.c.points, journal.c.transaction_id).where(journal.c.kind == "bonus")
        ).all()
    assert bonus == [(points * 5 // 100, "anniversary:m1:2027-03-05")]
    assert check(database) == []


def test_the_cli_runs_each_job_and_says_what_it_did(shop, database, database_url):
    from click.testing import CliRunner

    from engine.ledger.cli import ledger as command

    bought(shop, "m1", "4500.00", "2027-02-01T12:00:00+08:00", "s1", joined="2026-03-05")
    common = ["--programme", "rules/calendar-retail/programme.yaml", "--database", database_url]
    runs = {
        "convert-points": ["--conversion", "quarterly-notes", "--as-of", "2027-04-01"],
        "reward-certificates": ["--as-of", "2027-03-12"],
        "anniversary-bonus": ["--as-of", "2027-03-05"],
    }
    said = {}
    for name, args in runs.items():
        result = CliRunner().invoke(command, [name, *common, *args])
        assert result.exit_code == 0, result.output
        said[name] = result.stdout
    assert said["convert-points"].startswith("converted 4,000 points of 1 members")
    assert said["reward-certificates"].startswith("issued 1 certificates worth 45.00 HKD")
    assert said["anniversary-bonus"].startswith("gave 225 bonus points to 1 members")
    wrong = CliRunner().invoke(command, ["convert-points", *common, "--conversion", "nope"])
    assert wrong.exit_code == 1 and "not a conversion" in wrong.output


def test_a_rules_voucher_effect_issues_one_with_the_sale_once(shop, database):
    first = bought(shop, "m1", "2500.00", "2027-03-10T12:00:00+08:00", "s1")
    (issued,) = first.response["vouchers_issued"]
    assert (issued["value"], issued["source"]) == ("100.00", "rule:spring-voucher")
    assert issued["expires_at"].startswith("2027-04-09T23:59:59")
    again = shop.commit_sale(
        STORE, "m1", sale("s1", ("COAT", "fashion", "2500.00", 1), at="2027-03-10T12:00:00+08:00")
    )
    assert again.replayed and len(held(database, "m1")) == 1
    small = ("SCARF", "fashion", "300.00", 1)
    used = shop.commit_sale(
        STORE,
        "m1",
        sale(
            "s2", small, at="2027-03-12T12:00:00+08:00", channel="store", vouchers=[issued["code"]]
        ),
    )
    assert used.response["vouchers"][0]["paid"] == "100.00"
    assert "vouchers_issued" not in used.response  # under HK$2,000


def test_a_whole_return_ends_the_voucher_its_sale_issued_if_unused(shop, database):
    first = bought(shop, "m1", "2500.00", "2027-03-10T12:00:00+08:00", "s1")
    code = first.response["vouchers_issued"][0]["code"]
    back = {"id": "r1", "at": "2027-03-11T10:00:00+08:00"}
    assert shop.return_items(STORE, "s1", back).status == 201
    small = ("SCARF", "fashion", "300.00", 1)
    with pytest.raises(RedemptionError) as refused:
        shop.quote(
            STORE,
            "m1",
            sale("q", small, at="2027-03-12T12:00:00+08:00", channel="store", vouchers=[code]),
        )
    assert refused.value.code == "voucher.expired"
    assert check(database) == []


def test_three_quarters_of_a_retail_member_convert_use_and_carry(shop, retail, database):
    """calendar-retail over 2027: buy in Q1, convert at the quarter's end, spend the Q1 note in
    Q2 (the spring rule gives another voucher), convert again with the carried remainder, and
    an empty Q3 converts nothing."""
    quarter = {
        q: datetime.fromisoformat(f"{d}T00:00:00+08:00")
        for q, d in (("Q1", "2027-04-01"), ("Q2", "2027-07-01"), ("Q3", "2027-10-01"))
    }
    q1 = bought(shop, "ann", "3500.00", "2027-01-20T12:00:00+08:00", "s1", joined="2026-03-05")
    earned_q1 = q1.response["points"]["total"]
    convert_points(database, retail, "quarterly-notes", quarter["Q1"], now=NOW)
    (note,) = [v for v in _listed(database, retail, "ann") if v["source"].startswith("conversion")]
    assert note["value"] == f"{20 * (earned_q1 // 2000)}.00"
    carried = earned_q1 % 2000

    coat = ("COAT", "fashion", "2600.00", 1)
    q2 = shop.commit_sale(
        STORE,
        "ann",
        sale("s2", coat, at="2027-04-10T12:00:00+08:00", channel="store", vouchers=[note["code"]]),
    )
    assert q2.response["vouchers"] == [
        {"code": note["code"], "value": note["value"], "paid": note["value"]}
    ]
    assert q2.response["vouchers_issued"][0]["value"] == "100.00"
    earned_q2 = q2.response["points"]["total"]
    done = convert_points(database, retail, "quarterly-notes", quarter["Q2"], now=NOW)
    assert done.points == (carried + earned_q2) // 2000 * 2000
    assert convert_points(database, retail, "quarterly-notes", quarter["Q3"], now=NOW).members == 0

    states = sorted((v["source"], v["state"]) for v in _listed(database, retail, "ann"))
    assert states == [
        ("conversion:quarterly-notes", "open"),
        ("conversion:quarterly-notes", "used"),
        ("rule:spring-voucher", "expired"),  # 30 days after 10 April, seen from 1 June
    ]
    assert check(database) == []


def _listed(database, retail, member):
    from engine.ledger.views import member_view

    with database.connect() as conn:
        return member_view(conn, retail, member, NOW)["vouchers"]
