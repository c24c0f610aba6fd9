"""The holdout draw: one formula, the same answer in Python, in SQLite and in PostgreSQL."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import literal, select, union_all

from engine.campaigns.targeting import bucket_sql, holdout_bucket, holdout_threshold, prepare
from engine.pricing.offers import in_holdout

IDS = ["m1", "demo-0000001", "", "会员-42", "x" * 120, "a'b\"c", "tab\there", "ü€😀"]
CAMPAIGNS = ["reactivate-near-critical-point", "c", "spring_2026"]


@given(st.text(max_size=40), st.text(max_size=40), st.floats(0, 100, allow_nan=False))
def test_the_bucket_and_threshold_give_the_engines_holdout(campaign, member, percent):
    drawn = holdout_bucket(campaign, member) < holdout_threshold(percent)
    assert drawn == in_holdout(campaign, member, percent)


def test_the_bucket_is_documented_formula():
    # sha256("c\0m1") = 4f1b0382d4e0a946...; 0x4f1b0382d4e0a946 % 10000
    assert holdout_bucket("c", "m1") == 0x4F1B0382D4E0A946 % 10_000


def test_sql_computes_the_same_bucket_as_python(database):
    ids = IDS + [f"member-{n}" for n in range(100)]
    with database.connect() as conn:
        prepare(conn)
        for campaign in CAMPAIGNS:
            query = union_all(
                *(
                    select(
                        literal(i).label("i"), bucket_sql(conn.dialect.name, campaign, literal(m))
                    )
                    for i, m in enumerate(ids)
                )
            )
            got = dict(conn.execute(query).all())
            assert [got[i] for i in range(len(ids))] == [holdout_bucket(campaign, m) for m in ids]


def test_about_the_stated_share_is_held_out():
    held = sum(in_holdout("spring", f"m{n}", 10) for n in range(20_000))
    assert 1_800 < held < 2_200
