"""A member's period points, offer uses and campaign groups, read by the prebuilt statements
a quote and a sale use: the right rows, per period, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from engine.ledger.state import _campaigns, _earned_in_period, _usage
from engine.ledger.tables import campaign_assignments, offer_uses, period_points

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 18)  # a Wednesday: week from the 16th, month from the 1st


def test_points_earned_are_read_for_the_current_day_week_month_and_year_only(database) -> None:
    rows = [
        ("day", TODAY, 10),
        ("day", date(2026, 11, 17), 99),  # yesterday: not today's
        ("week", date(2026, 11, 16), 30),
        ("month", date(2026, 11, 1), 50),
        ("month", date(2026, 10, 1), 999),
        ("year", date(2026, 1, 1), 70),
    ]
    with database.begin() as conn:
        conn.execute(
            insert(period_points),
            [
                {"programme": "p", "member_id": m, "period": k, "starts": s, "points": n}
                for k, s, n in rows
                for m in ("m1", "m2")
            ],
        )
        earned = _earned_in_period(conn, "p", "m1", TODAY)
    assert earned == {"day": 10, "week": 30, "month": 50, "year": 70}


def test_offer_uses_are_counted_per_period_and_ever_without_reverted_ones(database) -> None:
    def use(offer: str, at: datetime, reverted: bool = False, member: str = "m1") -> dict:
        return {
            "programme": "p",
            "member_id": member,
            "offer_id": offer,
            "transaction_id": f"t-{at.isoformat()}-{offer}-{member}",
            "at": at,
            "reverted": reverted,
        }

    local = lambda *parts: datetime(*parts, tzinfo=SHANGHAI)  # noqa: E731
    uses = [
        use("combo", local(2026, 11, 18, 8)),  # today
        use("combo", local(2026, 11, 16, 9)),  # this week
        use("combo", local(2026, 11, 2, 9)),  # this month
        use("combo", local(2026, 3, 2, 9)),  # this year
        use("combo", local(2025, 3, 2, 9)),  # ever
        use("combo", local(2026, 11, 18, 9), reverted=True),
        use("combo", local(2026, 11, 18, 9), member="m2"),
        use("early", datetime(2026, 11, 17, 16, 30, tzinfo=UTC)),  # 00:30 on the 18th, local
    ]
    with database.begin() as conn:
        conn.execute(insert(offer_uses), uses)
        usage = _usage(conn, "p", "m1", TODAY, SHANGHAI)
    assert usage["combo"] == {"day": 1, "week": 2, "month": 3, "year": 4, "ever": 5, "campaign": 5}
    assert usage["early"]["day"] == 1


def test_campaign_groups_are_read_for_the_member_only(database) -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    with database.begin() as conn:
        conn.execute(
            insert(campaign_assignments),
            [
                {
                    "programme": "p",
                    "campaign_id": "c1",
                    "member_id": "m1",
                    "group_id": "a",
                    "assigned_at": at,
                },
                {
                    "programme": "p",
                    "campaign_id": "c2",
                    "member_id": "m1",
                    "group_id": "holdout",
                    "assigned_at": at,
                },
                {
                    "programme": "p",
                    "campaign_id": "c1",
                    "member_id": "m2",
                    "group_id": "b",
                    "assigned_at": at,
                },
            ],
        )
        assert _campaigns(conn, "p", "m1") == {"c1": "a", "c2": "holdout"}
