"""Measures for the launch checks: how long a pitch takes to say, and what a poster must hold.

A clerk must be able to say the pitch in 15 seconds. English is timed by words, Chinese (and
Japanese, Korean) by characters, each at its own speaking rate; a mixed pitch adds both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Han (with extensions A and B+ and compatibility ideographs), kana and hangul syllables:
# each character is about one spoken syllable.
CJK_CHARACTER = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af\U00020000-\U0002ffff]"
)
# A written word: letters or digits, joined by apostrophes, hyphens or number punctuation
# ("don't", "20,000", "HK$1", "5%").
WORD = re.compile("[^\\W_]+(?:['\u2019.,:/$-][^\\W_]+)*%?")
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?%?")


@dataclass(frozen=True)
class SpokenLength:
    words: int
    characters: int
    seconds: Decimal

    @property
    def shown(self) -> str:
        return f"{self.seconds.quantize(Decimal('0.1'), ROUND_HALF_UP)} s"


def spoken_length(text: str, words_per_minute: int, characters_per_minute: int) -> SpokenLength:
    """How long ``text`` takes to say at the given rates."""
    characters = len(CJK_CHARACTER.findall(text))
    words = len(WORD.findall(CJK_CHARACTER.sub(" ", text)))
    seconds = Decimal(words * 60) / words_per_minute + Decimal(characters * 60) / (
        characters_per_minute
    )
    return SpokenLength(words, characters, seconds)


def numbers_in(text: str) -> list[str]:
    """The distinct numbers a text states, normalised ('20,000' → '20000'), in order."""
    found = [normalise_number(n) for n in NUMBER.findall(text)]
    return list(dict.fromkeys(found))


def normalise_number(text: str) -> str:
    """'1,880.00' → '1880', '5%' → '5%': the same figure written two ways is one term."""
    sign = "%" if text.endswith("%") else ""
    digits = text.rstrip("%").replace(",", "")
    return f"{Decimal(digits).normalize():f}{sign}"
