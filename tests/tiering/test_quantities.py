"""What a transaction contributes to each metric: per line or per transaction, exclusions,
multipliers, spend and points from the quote's figures, and stays across folios."""

from datetime import date
from decimal import Decimal

from engine.tiering.model import parse
from engine.tiering.quantities import LineFigures, Stay, contributions, merge_stays, new_stays

D = Decimal
MODEL = parse(
    {
        "metrics": {
            "nights": {"kind": "nights", "exclude": {"flags": ["award"]}},
            "stays": {"kind": "stays", "exclude": {"flags": ["award"]}},
            "segments": {
                "kind": "segments",
                "multipliers": [
                    {"attribute": "fare_class", "values": ["J"], "by": 1.5},
                    {"attribute": "fare_class", "values": ["Q", "J"], "by": 0.5},
                ],
            },
            "distance": {"kind": "distance", "exclude": {"categories": ["partner"]}},
            "visits": {"kind": "counter", "per": "transaction", "quantity": "visits"},
            "spend": {"kind": "spend", "exclude": {"skus": ["GIFT"]}},
            "base": {"kind": "points"},
            "all_points": {"kind": "points", "points": "with_bonuses"},
        },
        "qualifying": {"window": {"kind": "calendar_year"}},
        "levels": [{"id": "a", "name": "A"}],
    }
)


def stay_line(id, prop, check_in, nights, **extra):
    return {
        "id": id,
        "sku": "ROOM",
        "quantity": nights,
        "unit_price": 100,
        "stay": {"property": prop, "check_in": check_in, "nights": nights},
        **extra,
    }


def test_nights_come_from_stays_and_award_nights_do_not_count():
    sale = {
        "lines": [
            stay_line("r1", "sh", "2027-03-01", 3),
            stay_line("r2", "bj", "2027-03-10", 2, flags=["award"]),
        ]
    }
    got = contributions(MODEL, sale)
    assert (got["nights"], got["stays"]) == (D(3), D(1))


def test_two_folios_back_to_back_at_one_hotel_are_one_stay():
    sale = {
        "lines": [stay_line("r1", "sh", "2027-03-01", 3), stay_line("r2", "sh", "2027-03-04", 2)]
    }
    got = contributions(MODEL, sale)
    assert (got["nights"], got["stays"]) == (D(5), D(1))


def test_a_stay_that_continues_one_already_counted_adds_nights_but_no_stay():
    earlier = [Stay("sh", date(2027, 3, 1), 3)]
    sale = {"lines": [stay_line("r1", "sh", "2027-03-04", 2)]}
    assert contributions(MODEL, sale, earlier=earlier)["stays"] == D(0)
    assert contributions(MODEL, sale, earlier=earlier)["nights"] == D(2)


def test_fare_class_multipliers_apply_the_first_that_matches():
    sale = {
        "lines": [
            {
                "id": "f1",
                "sku": "F",
                "quantity": 1,
                "unit_price": 1,
                "attributes": {"fare_class": "J"},
                "quantities": {"segments": 2, "distance_km": 900},
            },
            {
                "id": "f2",
                "sku": "F",
                "quantity": 1,
                "unit_price": 1,
                "attributes": {"fare_class": "Q"},
                "quantities": {"segments": 1, "distance_km": 500},
            },
            {
                "id": "f3",
                "sku": "F",
                "category": "partner",
                "quantity": 1,
                "unit_price": 1,
                "quantities": {"segments": 1, "distance_km": 700},
            },
        ]
    }
    got = contributions(MODEL, sale)
    assert got["segments"] == D("4.5")  # 2 x 1.5 + 1 x 0.5 + 1
    assert got["distance"] == D(1400)  # the partner flight is excluded


def test_a_per_transaction_counter_reads_the_transactions_own_quantities():
    assert contributions(MODEL, {"lines": [], "quantities": {"visits": 1}})["visits"] == D(1)


def test_a_flag_on_the_transaction_excludes_all_of_it():
    sale = {"flags": ["award"], "lines": [stay_line("r1", "sh", "2027-03-01", 3)]}
    assert contributions(MODEL, sale)["nights"] == D(0)


def test_spend_and_points_come_from_the_quotes_figures_for_each_counted_line():
    sale = {
        "lines": [
            {"id": "a", "sku": "X", "quantity": 1, "unit_price": 10},
            {"id": "g", "sku": "GIFT", "quantity": 1, "unit_price": 50},
        ]
    }
    figures = {"a": LineFigures(D("9.50"), 9, 20), "g": LineFigures(D(50), 50, 0)}
    got = contributions(MODEL, sale, figures)
    assert got["spend"] == D("9.50")
    assert (got["base"], got["all_points"]) == (D(59), D(79))


def test_overlapping_or_adjacent_stays_merge_and_a_gap_of_a_night_does_not():
    merged = merge_stays(
        [
            Stay("sh", date(2027, 1, 1), 2),
            Stay("sh", date(2027, 1, 3), 1),
            Stay("sh", date(2027, 1, 5), 1),
            Stay("bj", date(2027, 1, 3), 1),
        ]
    )
    assert merged == [
        Stay("bj", date(2027, 1, 3), 1),
        Stay("sh", date(2027, 1, 1), 3),
        Stay("sh", date(2027, 1, 5), 1),
    ]


def test_a_stay_bridging_two_counted_stays_never_makes_the_count_negative():
    earlier = [Stay("sh", date(2027, 1, 1), 2), Stay("sh", date(2027, 1, 4), 2)]
    assert new_stays(earlier, [Stay("sh", date(2027, 1, 3), 1)]) == 0


def test_todays_nights_metric_counts_each_lines_quantity_and_visits_one_per_sale():
    sale = {
        "lines": [
            {"id": "a", "sku": "ROOM", "quantity": 3, "unit_price": 1},
            {"id": "b", "sku": "ROOM", "quantity": 2, "unit_price": 1},
        ]
    }
    for metric, expected in (("nights", D(5)), ("segments", D(5)), ("visits", D(1))):
        model = parse(
            {
                "qualifying": {"metric": metric, "period": "calendar_year"},
                "levels": [{"id": "a", "name": "A"}],
            }
        )
        assert contributions(model, sale) == {metric: expected}
