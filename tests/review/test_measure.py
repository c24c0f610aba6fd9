"""Speaking time of a pitch and the figures a poster must print."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.review.measure import normalise_number, numbers_in, spoken_length


@pytest.mark.parametrize(
    ("text", "words", "characters"),
    [
        ("Every yuan earns a point.", 5, 0),
        ("HK$1,880 buys Platinum; don't miss 5% off.", 7, 0),
        ("每消费一元得一分。", 0, 8),
        ("积分 points 翻倍 double", 2, 4),
        ("拾光咖啡 Shiguang Coffee Club", 3, 4),
    ],
)
def test_words_and_characters_are_counted_apart(text: str, words: int, characters: int):
    spoken = spoken_length(text, 150, 240)
    assert (spoken.words, spoken.characters) == (words, characters)


def test_seconds_add_both_rates():
    spoken = spoken_length("one two three 一二三四", 60, 120)  # 3 s + 2 s
    assert spoken.seconds == Decimal(5)
    assert spoken.shown == "5.0 s"


def test_numbers_are_normalised_so_one_figure_counts_once():
    assert numbers_in("Spend 20,000 for 5% off; 20000 again, or 1,880.00 for 5 %") == [
        "20000",
        "5%",
        "1880",
        "5",
    ]
    assert normalise_number("1,880.00") == "1880"
