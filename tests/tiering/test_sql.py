"""The SQL form of requirements gives what the Python form gives, on the same totals, on
SQLite and PostgreSQL."""

from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Numeric, Table, create_engine, insert, select
from sqlalchemy.engine import Engine

from engine.tiering.model import parse
from engine.tiering.requirements import AllOf, AnyOf, Leaf, met
from engine.tiering.sql import met_sql, qualified_rank_sql
from engine.tiering.status import qualified
from tests.served import fresh_postgres

METRICS = ["nights", "stays", "spend"]
meta = MetaData()
totals_table = Table(
    "totals",
    meta,
    Column("id", Integer, primary_key=True),
    Column("held", Integer),
    *(Column(m, Numeric(18, 4)) for m in METRICS),
    Column("life_nights", Numeric(18, 4)),
)
COLUMNS = {m: totals_table.c[m] for m in METRICS}

leaf = st.builds(Leaf, st.sampled_from([*METRICS, "undeclared"]), st.integers(1, 50).map(Decimal))
requirements = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: AnyOf(tuple(xs))),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: AllOf(tuple(xs))),
    ),
    max_leaves=8,
)
rows = st.lists(
    st.fixed_dictionaries(
        {m: st.integers(0, 60).map(Decimal) for m in METRICS}
        | {"held": st.integers(0, 3), "life_nights": st.integers(0, 1200).map(Decimal)}
    ),
    min_size=1,
    max_size=20,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = create_engine("sqlite://")
        meta.create_all(made)
        yield made
        made.dispose()
        return
    with fresh_postgres() as url:
        made = create_engine(url)
        meta.create_all(made)
        yield made
        made.dispose()


def load(engine, values):
    with engine.begin() as conn:
        conn.execute(totals_table.delete())
        conn.execute(insert(totals_table), [{"id": i, **v} for i, v in enumerate(values)])


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60)
@given(requirements, rows)
def test_a_requirement_in_sql_is_met_by_the_same_rows_as_in_python(engine, req, values):
    load(engine, values)
    with engine.connect() as conn:
        got = conn.execute(
            select(totals_table.c.id, met_sql(req, COLUMNS)).order_by(totals_table.c.id)
        ).all()
    assert [bool(flag) for _, flag in got] == [met(req, v) for v in values]


MODEL = parse(
    {
        "metrics": {
            "nights": {"kind": "nights"},
            "stays": {"kind": "stays"},
            "spend": {"kind": "spend"},
        },
        "qualifying": {"window": {"kind": "calendar_year"}},
        "levels": [
            {"id": "m", "name": "M"},
            {"id": "s", "name": "S", "requires": {"metric": "nights", "at_least": 10}},
            {
                "id": "g",
                "name": "G",
                "requires": {
                    "any_of": [
                        {"metric": "nights", "at_least": 20},
                        {"metric": "stays", "at_least": 6},
                    ]
                },
                "requalify": {
                    "all_of": [
                        {"metric": "nights", "at_least": 15},
                        {"metric": "spend", "at_least": 30},
                    ]
                },
            },
            {
                "id": "p",
                "name": "P",
                "requires": {"metric": "nights", "at_least": 50},
                "lifetime": {"metric": "nights", "at_least": 1000},
            },
        ],
    }
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60)
@given(rows)
def test_the_qualified_level_in_sql_is_the_one_python_gives(engine, values):
    load(engine, values)
    rank = qualified_rank_sql(
        MODEL, totals_table.c.held, COLUMNS, {"nights": totals_table.c.life_nights}
    )
    with engine.connect() as conn:
        got = conn.execute(select(rank).order_by(totals_table.c.id)).scalars().all()
    expected = [
        qualified(MODEL, MODEL.levels[v["held"]].id, v, {"nights": v["life_nights"]})[0].rank
        for v in values
    ]
    assert got == expected
