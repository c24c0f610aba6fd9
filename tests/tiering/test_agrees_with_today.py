"""Today's till (engine.tiers.Ladder) and the tier core agree on today's syntax: the tier
after a sale and the amount still needed for the next level."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.pricing.tiers import Ladder, thresholds
from engine.tiering.model import parse
from engine.tiering.requirements import gap
from engine.tiering.status import qualified

amounts = st.lists(st.integers(1, 5000), min_size=1, max_size=4, unique=True).map(sorted)
spend = st.integers(0, 6000).map(Decimal)


@given(amounts, st.integers(0, 4), spend, spend)
def test_the_tier_after_a_sale_and_the_distance_to_the_next_agree(steps, held, before, increment):
    levels = [{"id": "base", "name": "Base"}] + [
        {"id": f"l{i}", "name": f"L{i}", "threshold": {"amount": a}} for i, a in enumerate(steps)
    ]
    held_id = levels[min(held, len(levels) - 1)]["id"]
    ladder = Ladder(levels, thresholds(levels, {}))
    progress = ladder.progress(held_id, before, increment)
    model = parse({"qualifying": {"period": "calendar_year"}, "levels": levels})
    totals = {"spend": before + increment}
    level, _ = qualified(model, held_id, totals)
    rank = max(level.rank, model.level(held_id).rank)
    assert progress.tier_after == model.levels[rank].id
    if rank + 1 < len(model.levels):
        (shortfall,) = gap(model.levels[rank + 1].requires, totals)
        assert (progress.next_tier, progress.remaining) == (
            model.levels[rank + 1].id,
            shortfall.remaining,
        )
    else:
        assert progress.next_tier is None
