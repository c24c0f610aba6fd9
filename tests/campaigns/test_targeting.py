"""Targeting in SQL agrees with the engine's own matcher, member by member.

The members are varied on purpose (tiers, missing tiers, text and list tags, non-text tags,
never-bought members, purchases near local midnight, merged members); hypothesis writes the
audiences and group filters. For each campaign the SQL assignment must equal the reference:
the engine's facts (``engine.pricing.facts``) and compiled predicates (``engine.rules.python``)
applied to every member, first matching group by priority, holdout by ``in_holdout``.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from engine.campaigns import targeting as targeting_module
from engine.campaigns.model import Context, groups_by_priority
from engine.campaigns.targeting import HOLDOUT, Targeting, member_tests, prepare, preview
from engine.ledger.tables import members
from engine.pricing.facts import _member_fact
from engine.pricing.model import Lot, Member
from engine.pricing.offers import audience_as_member, in_holdout
from engine.rules.python import compile_block
from tests.campaigns.conftest import SHANGHAI

AT = datetime(2026, 4, 12, 20, 0, tzinfo=SHANGHAI)
TIERS = ["standard", "gold", "platinum"]
GENDERS = ["female", "male", "other"]
BANDS = ["18-24", "25-34", "35-44", "55-64"]
PREFS = ["fresh_produce", "snacks", "bakery", "beverages"]


def _tags(rng: random.Random) -> dict:
    tags: dict = {}
    if rng.random() < 0.9:
        tags["gender"] = rng.choice(GENDERS)
    if rng.random() < 0.8:
        tags["age_band"] = rng.choice(BANDS)
    roll = rng.random()
    if roll < 0.4:
        tags["preference"] = rng.choice(PREFS)
    elif roll < 0.8:
        tags["preference"] = rng.sample(PREFS, 2)
    if rng.random() < 0.1:
        tags["age_band"] = 35  # not text: no tag test may match it
    return tags


def _row(n: int, rng: random.Random) -> dict:
    bought = None
    if rng.random() < 0.85:  # purchases spread over a year, some right at local midnight
        day = AT.date() - timedelta(days=rng.randint(-2, 400))
        minute = rng.choice([0, 1, 600, 1439, rng.randint(0, 1439)])
        bought = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) + timedelta(minutes=minute)
    joined = date(2024, 1, 1) + timedelta(days=rng.randint(0, 830))
    return {
        "programme": "recommended",
        "id": f"m{n:04d}",
        "tags": _tags(rng),
        "joined": joined,
        "contact": {},
        "consent": {},
        "tier": rng.choice([*TIERS, None]),
        "balance": rng.choice([0, rng.randint(0, 3000), 1000, 1499, 1500]),
        "debt": 0,
        "qualifying_spend": 0,
        "last_purchase_at": bought,
        "merged_into": "m0000" if n % 97 == 5 else None,
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
        "updated_at": datetime(2024, 1, 1, tzinfo=UTC),
    }


ROWS = [_row(n, random.Random(n)) for n in range(1, 401)]


@pytest.fixture
def varied(database):
    with database.begin() as conn:
        conn.execute(insert(members), ROWS)
    return database


def _fact(row: dict) -> dict:
    lots = (Lot("l", row["balance"], AT),) if row["balance"] else ()
    tags = {k: tuple(v) if isinstance(v, list) else (v,) for k, v in row["tags"].items()}
    member = Member(
        id=row["id"],
        tier=row["tier"],
        lots=lots,
        tags=tags,
        joined=row["joined"],
        last_purchase_at=row["last_purchase_at"],
    )
    return _member_fact(member, AT, SHANGHAI)


FACTS = {row["id"]: _fact(row) for row in ROWS if row["merged_into"] is None}


def reference(campaign: dict) -> dict[str, str]:
    """member → group or holdout, computed by the engine's own matcher."""
    audience = campaign.get("audience")
    block = audience_as_member(audience) if audience else None
    wanted = compile_block(member_tests(block, 2, "audience"))
    groups = [
        (g["id"], compile_block(member_tests(g.get("filter"), 2, g["id"])))
        for g in groups_by_priority(campaign)
    ]
    result = {}
    for member_id, fact in FACTS.items():
        if wanted is not None and not wanted(fact):
            continue
        group = next((g for g, test in groups if test is None or test(fact)), None)
        if group is None:
            continue
        held = in_holdout(campaign["id"], member_id, campaign.get("holdout_percent", 0))
        result[member_id] = HOLDOUT if held else group
    return result


# --- strategies --------------------------------------------------------------------------------

small_ints = st.integers(-5, 3200)
days = st.integers(-3, 420)


def number_test(values: st.SearchStrategy[int]) -> st.SearchStrategy[object]:
    pair = st.tuples(values, values).map(sorted).map(list)
    return st.one_of(
        values,
        st.lists(values, min_size=1, max_size=3),
        st.dictionaries(
            st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]), values, min_size=1, max_size=2
        ),
        st.fixed_dictionaries({"between": pair}),
        st.fixed_dictionaries({"in": st.lists(values, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"not_in": st.lists(values, min_size=1, max_size=3)}),
    )


def text_test(choices: list[str]) -> st.SearchStrategy[object]:
    value = st.sampled_from(choices)
    some = st.lists(value, min_size=1, max_size=3, unique=True)
    return st.one_of(
        value,
        some,
        st.fixed_dictionaries({"in": some}),
        st.fixed_dictionaries({"not_in": some}),
        st.fixed_dictionaries({"eq": value}),
        st.fixed_dictionaries({"ne": value}),
    )


def tag_test(choices: list[str]) -> st.SearchStrategy[object]:
    value = st.sampled_from(choices)
    some = st.lists(value, min_size=1, max_size=3, unique=True)
    return st.one_of(
        value, some, st.fixed_dictionaries({"in": some}), st.fixed_dictionaries({"not_in": some})
    )


tags = st.dictionaries(
    st.sampled_from(["gender", "age_band", "preference", "absent"]),
    tag_test(GENDERS + BANDS + PREFS + ["35"]),
    min_size=1,
    max_size=3,
)
dates = st.dates(date(2023, 6, 1), date(2026, 6, 1)).map(date.isoformat)
audiences = st.dictionaries(
    st.sampled_from(["balance", "days_inactive", "tier", "tags", "joined", "days_since_joined"]),
    st.just(None),
    min_size=1,
    max_size=4,
).flatmap(
    lambda keys: st.fixed_dictionaries(
        {
            key: {
                "balance": number_test(small_ints),
                "days_inactive": number_test(days),
                "days_since_joined": number_test(st.integers(-3, 900)),
                "tier": text_test([*TIERS, ""]),
                "tags": tags,
                "joined": st.one_of(
                    dates,
                    st.fixed_dictionaries({"gte": dates}),
                    st.fixed_dictionaries({"lt": dates}),
                ),
            }[key]
            for key in keys
        }
    )
)
filters = st.one_of(
    st.none(),
    st.fixed_dictionaries({"tags": tags}),
    st.fixed_dictionaries({"tier": text_test(TIERS)}),
    st.fixed_dictionaries({"tier": text_test(TIERS), "tags": tags}),
)


@st.composite
def campaigns(draw: st.DrawFn) -> dict:
    groups = []
    for index in range(draw(st.integers(1, 4))):
        group = {"id": "abcd"[index], "offer": [{"bonus_points": 100}]}
        chosen = draw(filters)
        if chosen is not None:
            group["filter"] = chosen
        if draw(st.booleans()):
            group["priority"] = draw(st.integers(0, 3))
        groups.append(group)
    campaign = {
        "id": draw(st.sampled_from(["spring", "reactivate"])),
        "name": "test",
        "kind": "downpour",
        "window": {"from": "2026-04-13", "until": "2026-04-26"},
        "holdout_percent": draw(st.sampled_from([0, 10, 12.5, 50])),
        "groups": groups,
    }
    audience = draw(st.one_of(st.none(), audiences))
    if audience is not None:
        campaign["audience"] = audience
    return campaign


def context_with(recommended: Context, campaign: dict) -> Context:
    return Context.of({**recommended.document, "campaigns": [campaign]})


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(campaign=campaigns())
def test_sql_assignment_equals_the_engines_reference(varied, recommended, campaign):
    context = context_with(recommended, campaign)
    with varied.connect() as conn:
        prepare(conn)
        targeting = Targeting(context, campaign["id"], AT, conn.dialect.name)
        rows = conn.execute(targeting.assignment()).all()
    assigned = [(r.member_id, r.group_id) for r in rows if r.group_id is not None]
    ids = [member for member, _ in assigned]
    assert len(ids) == len(set(ids))  # disjoint: every member in exactly one group
    assert dict(assigned) == reference(campaign)  # covering, first match, same holdout


def test_preview_counts_per_tier_and_group_match_the_reference(varied, recommended, monkeypatch):
    campaign = {
        "id": "reactivate",
        "name": "test",
        "kind": "downpour",
        "window": {"from": "2026-04-13", "until": "2026-04-26"},
        "audience": {"balance": {"between": [1000, 2999]}, "days_inactive": {"gte": 30}},
        "holdout_percent": 10,
        "groups": [
            {"id": "a", "priority": 1, "filter": {"tags": {"gender": "female"}}, "offer": []},
            {"id": "b", "priority": 2, "filter": {"tags": {"preference": "bakery"}}, "offer": []},
            {"id": "c", "offer": []},
        ],
    }
    context = context_with(recommended, campaign)
    with varied.connect() as conn:
        result = preview(conn, context, "reactivate", AT, sample=2)
    expected = reference(campaign)
    groups = result.by_group()
    for group in ("a", "b", "c", HOLDOUT):
        assert groups.get(group, 0) == sum(1 for g in expected.values() if g == group)
    tiers = {row["id"]: row["tier"] or "" for row in ROWS}
    for (tier, group), count in result.counts.items():
        if group is not None:
            assert count == sum(1 for m, g in expected.items() if g == group and tiers[m] == tier)
    for size, scan in ((1, 40), (2, 40), (7, 40), (3, 1)):  # scan 1: every group topped up
        monkeypatch.setattr(targeting_module, "SAMPLE_SCAN", scan)
        with varied.connect() as conn:
            shown = preview(conn, context, "reactivate", AT, sample=size).sample
        for group in ("a", "b", "c", HOLDOUT):
            lowest = sorted(m for m, g in expected.items() if g == group)[:size]
            assert [m["member_id"] for m in shown.get(group, [])] == lowest
