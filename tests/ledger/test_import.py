"""CSV import of members and of their transaction history: bad rows reported, good rows kept."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from engine.errors import InputError
from engine.ledger import jobs
from engine.ledger.check import check
from engine.ledger.importer import (
    Rejected,
    RowError,
    import_members,
    import_transactions,
    parse_tags,
)
from engine.ledger.tables import journal, lots, members, tier_history, transactions
from engine.pricing import Evaluator
from tests.ledger.conftest import LATTE, sale

SHOP = "coffee-shop"
NOW = datetime(2026, 12, 1, tzinfo=UTC)

MEMBERS = """\
id,name,joined,birthday,tags,email,phone,consent_email,consent_sms
m1,Ann,2024-03-10,1990-05-17,gender=female;likes=tea;likes=cake,ann@example.com,+8613800000000,yes,no
m2,Bo,2025-01-02,,"{""segment"": ""office""}",,,,
m3,Cy,not-a-date,,,,,,
m4,Di,2025-02-03,,Bad Key=x,,,,
m5,Ed,2025-02-03,,,,,maybe,
,Fay,2025-02-03,,,,,,
m7,Gus,2025-02-03,,,,
m1,Ann again,2024-03-10,,,,,,
m8,Hal,2025-02-03,,,,,true,
"""

HISTORY = """\
id,member_id,at,amount,points,qualifying,expires_at
h1,m1,2026-03-05T14:30:00+08:00,120.50,120,,
h2,m1,2026-04-01,80,80,50,
h3,m2,2026-05-01T10:00:00+08:00,30,30,,2026-06-30
h4,nobody,2026-05-01T10:00:00+08:00,30,30,,
h5,m1,2026-05-01T10:00:00,30,30,,
h6,m1,2026-05-01T10:00:00+08:00,-3,30,,
h7,m1,2026-05-01T10:00:00+08:00,3.001,3,,
h8,m1,2026-05-01T10:00:00+08:00,3,2.5,,
h9,m2,2026-05-02T10:00:00+08:00,10,0,,
h1,m1,2026-03-05T14:30:00+08:00,120.50,120,,
h10,m2,2026-05-03T10:00:00+08:00,10,10,20,
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count(database, table, **where):
    with database.connect() as conn:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        return conn.execute(query).scalar_one()


def member(database, member_id):
    with database.connect() as conn:
        return conn.execute(select(members).where(members.c.id == member_id)).mappings().one()


@pytest.fixture
def imported(database, coffee, tmp_path):
    return import_members(database, coffee, write(tmp_path, "m.csv", MEMBERS), now=NOW)


def test_members_are_imported_and_bad_rows_reported_with_their_line(imported, database):
    assert (imported.read, imported.imported, imported.skipped) == (9, 3, 1)
    assert imported.rejected == [
        Rejected(4, "joined 'not-a-date' is not a date like 2026-03-05"),
        Rejected(5, "tag key 'Bad Key' must be lower case letters, digits, _ and -"),
        Rejected(6, "consent_email 'maybe' must be true or false"),
        Rejected(7, "id is missing"),
        Rejected(8, "expected 9 fields, found 7"),
    ]
    ann = member(database, "m1")
    assert ann["tags"] == {"gender": "female", "likes": ["tea", "cake"]}
    assert ann["contact"] == {"email": "ann@example.com", "phone": "+8613800000000"}
    assert ann["consent"] == {"email": True, "sms": False}
    assert (ann["tier"], ann["tier_since"], ann["birthday"]) == (
        "standard",
        date(2024, 3, 10),
        date(1990, 5, 17),
    )
    assert member(database, "m2")["tags"] == {"segment": "office"}
    assert count(database, tier_history, reason="imported") == 3


def test_a_second_import_of_the_same_file_skips_every_member(imported, database, coffee, tmp_path):
    again = import_members(database, coffee, write(tmp_path, "m.csv", MEMBERS), now=NOW)
    assert (again.imported, again.skipped, len(again.rejected)) == (0, 4, 5)
    assert count(database, members) == 3


def test_a_header_with_an_unknown_or_missing_column_is_refused(database, coffee, tmp_path):
    with pytest.raises(InputError, match="missing column"):
        import_members(database, coffee, write(tmp_path, "x.csv", "id,name\nm1,Ann\n"))
    with pytest.raises(InputError, match=r"unknown column.*colour"):
        import_members(database, coffee, write(tmp_path, "x.csv", "id,joined,colour\n"))


def test_history_keeps_the_ledger_sound(imported, database, coffee, tmp_path):
    report = import_transactions(database, coffee, write(tmp_path, "h.csv", HISTORY), now=NOW)
    assert (report.read, report.imported, report.skipped) == (11, 4, 1)
    assert [(r.line, r.reason.split(" ")[0]) for r in report.rejected] == [
        (5, "no"),
        (6, "at"),
        (7, "amount"),
        (8, "amount"),
        (9, "points"),
        (12, "qualifying"),
    ]
    assert check(database) == []
    ann = member(database, "m1")
    assert ann["balance"] == 200
    assert ann["last_purchase_at"] == datetime(2026, 3, 31, 16, tzinfo=UTC)
    assert count(database, lots) == 3 and count(database, journal, kind="earn") == 3
    assert count(database, transactions, kind="import") == 4
    expiry = {row.transaction_id: row.expires_at for row in _lots(database)}
    assert expiry["h1"] == datetime(2027, 3, 31, 15, 59, 59, 999999, tzinfo=UTC)  # rule
    assert expiry["h3"] == datetime(2026, 6, 30, 15, 59, 59, 999999, tzinfo=UTC)  # column


def _lots(database):
    with database.connect() as conn:
        return conn.execute(select(lots)).all()


def test_imported_points_expire_like_earned_ones(imported, database, coffee, tmp_path):
    import_transactions(database, coffee, write(tmp_path, "h.csv", HISTORY), now=NOW)
    done = jobs.expire_lots(database, SHOP, datetime(2026, 7, 1, tzinfo=UTC))
    assert (done.lots, done.points) == (1, 30)
    assert member(database, "m2")["balance"] == 0
    assert check(database) == []


def test_a_second_import_of_the_same_history_changes_nothing(imported, database, coffee, tmp_path):
    path = write(tmp_path, "h.csv", HISTORY)
    import_transactions(database, coffee, path, now=NOW)
    before = member(database, "m1")
    again = import_transactions(database, coffee, path, batch_size=3, now=NOW)
    assert (again.imported, again.skipped) == (0, 5)
    assert member(database, "m1") == before
    assert count(database, journal) == 3
    assert check(database) == []


def test_small_batches_give_the_same_result(imported, database, coffee, tmp_path):
    seen = []
    path = write(tmp_path, "h.csv", HISTORY)
    report = import_transactions(
        database, coffee, path, batch_size=2, now=NOW, progress=lambda d, t: seen.append((d, t))
    )
    assert report.imported == 4 and len(report.rejected) == 6
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)
    assert member(database, "m1")["balance"] == 200
    assert check(database) == []


def test_a_purchase_of_a_later_period_replaces_the_cached_spend(
    database, recommended_evaluator, tmp_path
):
    rows = "id,joined\nm1,2024-01-01\n"
    import_members(database, recommended_evaluator, write(tmp_path, "m.csv", rows), now=NOW)
    history = (
        "id,member_id,at,amount,points\n"
        "a,m1,2025-06-01,100,100\n"
        "b,m1,2026-02-01,40,40\n"
        "c,m1,2026-03-01,2,2\n"
    )
    import_transactions(
        database, recommended_evaluator, write(tmp_path, "h.csv", history), batch_size=1, now=NOW
    )
    row = member(database, "m1")
    assert (row["period_start"], Decimal(row["qualifying_spend"])) == (
        date(2026, 1, 1),
        Decimal(42),
    )
    assert check(database) == []


@pytest.fixture(scope="module")
def recommended_evaluator():
    from engine.policy.loader import load_programme
    from engine.pricing import Evaluator

    return Evaluator(load_programme("rules/recommended/programme.yaml"), matcher="python")


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("", {}),
        ("a=1", {"a": "1"}),
        ("a=1; a=2 ;b=x", {"a": ["1", "2"], "b": "x"}),
        ('{"a": ["1"]}', {"a": ["1"]}),
    ],
)
def test_tags_are_read_in_both_forms(text, tags):
    assert parse_tags(text) == tags


@pytest.mark.parametrize("text", ["a", "{", '{"a": 1}', "[1]", "A=1"])
def test_bad_tags_are_refused(text):
    with pytest.raises(RowError):
        parse_tags(text)


def test_anniversary_years_take_the_members_join_date(database, recommended_evaluator, tmp_path):
    document = dict(recommended_evaluator.document)
    document["tiers"] = {
        **document["tiers"],
        "qualifying": {"metric": "spend", "period": "anniversary_year"},
    }
    evaluator = Evaluator(
        dataclasses.replace(recommended_evaluator.programme, document=document), matcher="python"
    )
    import_members(
        database, evaluator, write(tmp_path, "m.csv", "id,joined\nm1,2024-03-10\n"), now=NOW
    )
    history = (
        "id,member_id,at,amount,points\n"
        "a,m1,2026-03-09,100,100\n"  # the year that started on 2025-03-10
        "b,m1,2026-03-10,40,40\n"  # a new membership year
        "c,m1,2024-01-01,5,5\n"  # before joining: no membership year
        "d,m2,2026-03-10,5,5\n"
    )
    report = import_transactions(database, evaluator, write(tmp_path, "h.csv", history), now=NOW)
    assert [r.line for r in report.rejected] == [4, 5]
    row = member(database, "m1")
    assert (row["period_start"], Decimal(row["qualifying_spend"])) == (
        date(2026, 3, 10),
        Decimal(40),
    )
    assert row["balance"] == 140
    assert check(database) == []


def test_a_merged_member_takes_no_history(database, coffee, tmp_path, ledger):
    import_members(
        database,
        coffee,
        write(tmp_path, "m.csv", "id,joined\nm1,2024-03-10\nm2,2024-03-10\n"),
        now=NOW,
    )
    ledger.merge(SHOP, "m1", "m2", actor="agent", key="merge-1")
    report = import_transactions(
        database,
        coffee,
        write(tmp_path, "h.csv", "id,member_id,at,amount,points\nx,m1,2026-03-09,1,1\n"),
        now=NOW,
    )
    assert report.rejected == [Rejected(2, "member 'm1' was merged into m2")]
    assert check(database) == []


def test_a_reader_process_gives_the_same_result(imported, database, coffee, tmp_path):
    path = write(tmp_path, "h.csv", HISTORY)
    report = import_transactions(database, coffee, path, batch_size=3, now=NOW, reader_process=True)
    assert (report.read, report.imported, report.skipped) == (11, 4, 1)
    assert [r.line for r in report.rejected] == [5, 6, 7, 8, 9, 12]
    assert member(database, "m1")["balance"] == 200
    assert check(database) == []


def test_a_bad_header_read_by_the_reader_process_is_one_error(database, coffee, tmp_path):
    with pytest.raises(InputError, match="missing column"):
        import_transactions(
            database, coffee, write(tmp_path, "h.csv", "id,at\n"), reader_process=True
        )


def test_imported_spend_counts_in_a_rolling_window(imported, database, coffee, tmp_path, ledger):
    import_transactions(database, coffee, write(tmp_path, "h.csv", HISTORY), now=NOW)
    quote = ledger.quote(SHOP, "m1", sale("q1", LATTE, at="2026-05-01T12:00:00+08:00"))
    assert quote.tier.qualifying_before == Decimal("170.50")  # 120.50 + the 50 that qualified
