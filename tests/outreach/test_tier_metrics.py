"""near_upgrade and the downgrade warning on a programme counting tier metrics (issue 12):
the members' window totals from member_metrics against `requires` / `requalify`, any path of
an any_of within reach, and the closest path in the message."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

from sqlalchemy import insert

from engine.ledger.tables import member_metrics
from engine.policy.loader import Programme, load_programme
from engine.policy.source import SourceMap
from engine.pricing import Evaluator
from tests.outreach.helpers import member, run, tasks, trigger, who

HOTEL = load_programme("rules/hotel-nights/programme.yaml")
YEAR = date(2027, 1, 1)
NEAR = trigger(
    "near_upgrade",
    channel="email",
    within_amount=1000,
    within={"nights": 3, "stays": 1},
    template="{to_go} before {period_end} makes you {next_tier}.",
)
WARN = trigger(
    "tier_change",
    id="warn",
    change="downgrade",
    channel="email",
    template="{to_keep} by {review_date} keeps {tier}; otherwise {new_tier}.",
)


def hotel(outreach) -> Evaluator:
    document = copy.deepcopy(dict(HOTEL.document))
    document["outreach"] = outreach
    version = f"test-{abs(hash(repr(outreach)))}"
    return Evaluator(Programme(document, version, (), SourceMap()), matcher="python")


def guest(database, evaluator, member_id, tier="member", *, nights=0, stays=0, **values):
    member(database, evaluator, member_id, tier=tier, joined=date(2026, 1, 1), **values)
    rows = [
        {
            "programme": "hotel-nights",
            "member_id": member_id,
            "window_start": YEAR,
            "metric": m,
            "total": Decimal(t),
        }
        for m, t in (("nights", nights), ("stays", stays))
        if t
    ]
    if rows:
        with database.begin() as conn:
            conn.execute(insert(member_metrics), rows)


def test_near_upgrade_selects_members_within_reach_of_any_path(database):
    evaluator = hotel([NEAR])
    guest(database, evaluator, "far", nights=16, stays=4)
    guest(database, evaluator, "by-nights", nights=17, stays=1)
    guest(database, evaluator, "by-stays", nights=5, stays=5)
    guest(database, evaluator, "there", "gold", nights=20, stays=2)  # Gold: next is 50 nights
    run(database, evaluator, date(2027, 6, 1))
    assert sorted(who(database)) == ["by-nights", "by-stays"]
    messages = {t["member_id"]: t["message"] for t in tasks(database)}
    assert messages["by-nights"] == "3 nights before 2027年12月31日 makes you Gold 金卡."
    assert messages["by-stays"] == "1 stays before 2027年12月31日 makes you Gold 金卡."


def test_the_downgrade_warning_names_what_keeping_the_tier_needs(database):
    evaluator = hotel([WARN])
    ends = {"tier_valid_until": date(2027, 6, 30)}
    guest(database, evaluator, "short", "platinum", nights=3, stays=1, **ends)
    guest(database, evaluator, "kept", "gold", nights=16, **ends)
    guest(database, evaluator, "later", "gold", nights=1, tier_valid_until=date(2029, 2, 28))
    run(database, evaluator, date(2027, 6, 1))
    assert who(database) == ["short"]
    [task] = tasks(database)
    # Platinum is kept by 50 nights OR 15 stays: 47 nights (94%) against 14 stays (93%).
    assert (
        task["message"] == "14 stays by 2027年6月30日 keeps Platinum 白金卡; otherwise Gold 金卡."
    )
