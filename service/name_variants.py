"""Transliterated name variants learned from the corpus (Qaani / Ghaani / Qa'ani, Soleimani / Suleimani).

Outlets spell foreign names differently. Instead of a hand list, every capitalised word seen in the
index gets a phonetic key (Metaphone after folding the Latin digraphs that transliterations of one
sound alternate between: gh/kh/q → k-like, ou → u). Two corpus words are variants of each other
when their keys agree and their spellings are close (Jaro-Winkler). A query word is expanded with
its variants before lexical scoring, so one spelling finds articles written with another.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

import jellyfish

_NON_LETTERS = re.compile(r"[^a-z]")
# Transliterations of one Arabic/Persian consonant alternate between these spellings.
_FOLDS = (("gh", "g"), ("kh", "k"), ("q", "k"), ("ou", "u"), ("ee", "i"), ("oo", "u"))
_MIN_LENGTH = 4
_MIN_SIMILARITY = 0.8


def fold(word: str) -> str:
    """The word lower-cased, letters only (apostrophes and hyphens dropped)."""
    return _NON_LETTERS.sub("", word.casefold())


def name_key(word: str) -> str:
    """A phonetic key shared by transliterated spellings of one name ('' for short words)."""
    folded = fold(word)
    if len(folded) < _MIN_LENGTH:
        return ""
    for source, target in _FOLDS:
        folded = folded.replace(source, target)
    return str(jellyfish.metaphone(folded))


def similar_spelling(a: str, b: str) -> bool:
    """True when two folded spellings are close enough to be one name but not one word's forms.

    One spelling starting with the other (Israel / Israeli) is morphology, which the stemmer and
    the dense leg handle, not transliteration.
    """
    if a.startswith(b) or b.startswith(a):
        return False
    return jellyfish.jaro_winkler_similarity(a, b) >= _MIN_SIMILARITY


class NameVariants:
    """Capitalised corpus words grouped by phonetic key; looks up the variants of a word."""

    def __init__(self, names: Iterable[str]) -> None:
        self._by_key: dict[str, set[str]] = defaultdict(set)
        for name in names:
            folded = fold(name)
            key = name_key(folded)
            if key:
                self._by_key[key].add(folded)

    def __len__(self) -> int:
        return sum(len(words) for words in self._by_key.values())

    def variants(self, word: str) -> list[str]:
        """Other corpus spellings of the word (folded, sorted); empty when none are known."""
        folded = fold(word)
        key = name_key(folded)
        if not key:
            return []
        return sorted(w for w in self._by_key.get(key, ()) if w != folded and similar_spelling(w, folded))
