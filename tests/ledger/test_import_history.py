"""Imported history counts as history: purchases, redemptions, returns and adjustments keep
their kind and their time, and the critical point analysis reads them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from engine.campaigns.analysis import Options, analyse
from engine.campaigns.model import Context
from engine.ledger.check import check
from engine.ledger.importer import import_members, import_transactions
from engine.ledger.tables import journal, members, transactions

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PLANTED = 400  # the balance from which members turn active, in this file's history
HEADER = "id,member_id,at,amount,points,qualifying,expires_at,kind,reason\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def member(database, member_id):
    with database.connect() as conn:
        return conn.execute(select(members).where(members.c.id == member_id)).mappings().one()


def planted_history(count: int) -> tuple[str, str]:
    """Members with balances 0..750 on 30 January; 70% of those at PLANTED points or more buy
    or redeem in February, 10% of those below (a fixed pattern, not the demo generator)."""
    people = ["id,joined"] + [f"p{i},2025-01-01" for i in range(count)]
    rows = []
    for i in range(count):
        balance = (i % 16) * 50
        rows.append(f"e{i},p{i},2026-01-10T12:00:00+08:00,{balance},{balance},,,,")
        share = 70 if balance >= PLANTED else 10
        if (i * 7919) % 100 < share:
            if balance >= 10 and i % 2:
                rows.append(f"r{i},p{i},2026-02-10T12:00:00+08:00,1,10,,,redemption,")
            else:
                rows.append(f"b{i},p{i},2026-02-12T12:00:00+08:00,20,0,,,purchase,")
    return "\n".join(people) + "\n", HEADER + "\n".join(rows) + "\n"


def test_the_analysis_finds_a_critical_point_planted_in_an_imported_history(
    database, coffee, tmp_path
):
    people, history = planted_history(1600)
    assert import_members(database, coffee, write(tmp_path, "m.csv", people), now=NOW).ok
    report = import_transactions(database, coffee, write(tmp_path, "h.csv", history), now=NOW)
    assert report.ok and report.imported == history.count("\n") - 1
    options = Options(snapshots=1, horizon_days=30, until=datetime(2026, 3, 1, tzinfo=UTC))
    with database.connect() as conn:
        result = analyse(conn, Context.of(coffee.document), options)
    assert result.critical is not None
    assert abs(result.critical.balance - PLANTED) <= options.width
    assert result.critical.rate_below < 0.2 < 0.6 < result.critical.rate_above


def test_imported_purchases_alone_are_history_for_the_analysis(database, coffee, tmp_path):
    people = "id,joined\nq1,2025-01-01\n"
    history = HEADER + "x1,q1,2026-01-10,10,10,,,,\nx2,q1,2026-03-10,10,10,,,,\n"
    import_members(database, coffee, write(tmp_path, "m.csv", people), now=NOW)
    import_transactions(database, coffee, write(tmp_path, "h.csv", history), now=NOW)
    with database.connect() as conn:
        result = analyse(conn, Context.of(coffee.document), Options(snapshots=1, min_count=1))
    assert result.buckets  # no "no history in this ledger"


MOVEMENTS = """\
id,member_id,at,amount,points,qualifying,expires_at,kind,reason
p1,a1,2026-01-05T10:00:00+08:00,100,100,,,,
p2,a1,2026-03-05T10:00:00+08:00,300,300,,,,
r1,a1,2026-02-01T10:00:00+08:00,5,40,,,redemption,
r2,a1,2026-02-02T10:00:00+08:00,5,100,,,redemption,
t1,a1,2026-03-06T10:00:00+08:00,50,50,40,,return,
j1,a1,2026-03-07T10:00:00+08:00,0,25,,,adjustment,goodwill
j2,a1,2026-03-08T10:00:00+08:00,0,-5,,,adjustment,
z1,a1,2026-03-08T10:00:00+08:00,0,0,,,adjustment,
k1,a1,2026-03-08T10:00:00+08:00,0,1,,,refund,
"""


def test_redemptions_returns_and_adjustments_import_at_their_own_time(database, coffee, tmp_path):
    import_members(
        database, coffee, write(tmp_path, "m.csv", "id,joined\na1,2025-01-01\n"), now=NOW
    )
    report = import_transactions(database, coffee, write(tmp_path, "h.csv", MOVEMENTS), now=NOW)
    reasons = {r.line: r.reason for r in report.rejected}
    assert report.imported == 6
    # r2 wanted 100 points on 2 February: only 60 were spendable then (p2 came in March)
    assert "only 60 were spendable then" in reasons[5]
    assert "must not be 0" in reasons[9] and "kind 'refund'" in reasons[10]
    row = member(database, "a1")
    assert row["balance"] == 100 + 300 - 40 - 50 + 25 - 5
    with database.connect() as conn:
        kinds = {i: k for i, k in conn.execute(select(transactions.c.id, transactions.c.kind))}
        moves = conn.execute(
            select(journal.c.transaction_id, journal.c.kind, journal.c.points, journal.c.at).where(
                journal.c.transaction_id.in_(["r1", "t1", "j1", "j2"])
            )
        ).all()
        returned = conn.execute(
            select(transactions.c.qualifying).where(transactions.c.id == "t1")
        ).scalar_one()
    assert kinds == {"p1": "import", "p2": "import", "r1": "redeem", "t1": "import_return",
                     "j1": "adjust", "j2": "adjust"}  # fmt: skip
    by_id = {(t, k): (p, at) for t, k, p, at in moves}
    assert by_id[("r1", "burn")][0] == -40
    assert by_id[("r1", "burn")][1].date().isoformat() == "2026-02-01"
    assert by_id[("t1", "clawback")][0] == -50 and by_id[("j1", "adjust")][0] == 25
    assert returned == -40
    # redeeming is activity: the latest imported redemption, not the import's own time
    assert row["last_activity_at"] >= datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
    assert row["last_activity_at"] < datetime(2026, 3, 9, tzinfo=UTC)
    assert check(database) == []
    again = import_transactions(database, coffee, write(tmp_path, "h.csv", MOVEMENTS), now=NOW)
    assert again.imported == 0 and again.skipped == 6
    assert member(database, "a1")["balance"] == row["balance"]


def test_every_consent_channel_imports(database, coffee, tmp_path):
    text = (
        "id,joined,phone,wechat,consent_email,consent_sms,consent_call,consent_app_push,"
        "consent_wechat\nc1,2025-01-01,+8613800000000,wx-c1,no,yes,yes,no,yes\n"
    )
    assert import_members(database, coffee, write(tmp_path, "m.csv", text), now=NOW).ok
    row = member(database, "c1")
    consent = row["consent"] if isinstance(row["consent"], dict) else json.loads(row["consent"])
    assert consent == {"email": False, "sms": True, "call": True, "app_push": False,
                       "wechat": True}  # fmt: skip
    assert row["contact"]["wechat"] == "wx-c1"
