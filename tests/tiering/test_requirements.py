"""Requirement expressions and the closest path to them ("3 nights to Gold")."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.tiering.requirements import AllOf, AnyOf, Leaf, Shortfall, gap, leaves, met

D = Decimal
GOLD = AnyOf((Leaf("nights", D(20)), Leaf("stays", D(6))))
SILVER = AllOf(
    (AnyOf((Leaf("segments", D(30)), Leaf("distance", D(40000)))), Leaf("fares", D(300000)))
)


def test_a_leaf_is_met_at_its_amount_and_a_missing_metric_counts_zero():
    assert met(Leaf("nights", D(20)), {"nights": D(20)})
    assert not met(Leaf("nights", D(20)), {"nights": D(19)})
    assert not met(Leaf("nights", D(1)), {})


def test_nights_or_stays_is_met_by_either():
    assert met(GOLD, {"nights": D(20)})
    assert met(GOLD, {"stays": D(6)})
    assert not met(GOLD, {"nights": D(19), "stays": D(5)})


def test_the_closest_path_of_an_or_is_the_one_with_least_left_as_a_share_of_it():
    # 3 of 20 nights (15%) is closer than 2 of 6 stays (33%).
    assert gap(GOLD, {"nights": D(17), "stays": D(4)}) == (Shortfall("nights", D(3), D(20)),)
    # 1 of 6 stays (17%) is closer than 10 of 20 nights (50%).
    assert gap(GOLD, {"nights": D(10), "stays": D(5)}) == (Shortfall("stays", D(1), D(6)),)


def test_equally_close_paths_go_to_the_one_declared_first():
    assert gap(GOLD, {})[0].metric == "nights"


def test_an_and_needs_every_part_and_its_path_lists_each_shortfall():
    totals = {"segments": D(28), "distance": D(10000), "fares": D(280000)}
    assert gap(SILVER, totals) == (
        Shortfall("segments", D(2), D(30)),
        Shortfall("fares", D(20000), D(300000)),
    )
    assert gap(SILVER, {**totals, "fares": D(300000)}) == (Shortfall("segments", D(2), D(30)),)


def test_a_met_requirement_has_an_empty_path():
    assert gap(SILVER, {"distance": D(40000), "fares": D(300000)}) == ()


def test_two_leaves_on_one_metric_in_an_and_keep_the_larger_shortfall():
    both = AllOf((Leaf("nights", D(10)), Leaf("nights", D(20))))
    assert gap(both, {"nights": D(5)}) == (Shortfall("nights", D(15), D(20)),)


METRICS = ["nights", "stays", "spend"]
amounts = st.integers(min_value=0, max_value=60).map(D)
leaf = st.builds(Leaf, st.sampled_from(METRICS), st.integers(1, 50).map(D))
requirements = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: AnyOf(tuple(xs))),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: AllOf(tuple(xs))),
    ),
    max_leaves=8,
)
totals = st.fixed_dictionaries({m: amounts for m in METRICS})


@given(requirements, totals, totals)
def test_a_requirement_is_monotone_more_of_every_metric_never_unmeets_it(req, base, extra):
    more = {m: base[m] + extra[m] for m in METRICS}
    assert not met(req, base) or met(req, more)


@given(requirements, totals)
def test_the_path_is_empty_exactly_when_the_requirement_is_met(req, have):
    assert (gap(req, have) == ()) == met(req, have)


@given(requirements, totals)
def test_doing_what_the_closest_path_says_meets_the_requirement(req, have):
    after = dict(have)
    for shortfall in gap(req, have):
        after[shortfall.metric] = after[shortfall.metric] + shortfall.remaining
    assert met(req, after)


@given(requirements, totals)
def test_every_shortfall_names_a_leaf_of_the_requirement(req, have):
    named = {(leaf.metric, leaf.at_least) for leaf in leaves(req)}
    assert all((s.metric, s.at_least) in named and s.remaining > 0 for s in gap(req, have))
