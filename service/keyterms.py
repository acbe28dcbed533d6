"""The content that matters in news, in a form that can be compared: names, numbers, dates, quotes.

Citation checks and the refusal decision both ask "does this passage mention what the sentence (or
question) names?". Tokens are case-folded with diacritics and possessives removed, and number
words are read as digits, so "Qaani's", "QAANI" and "Qaani" match, and so do "three" and "3".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import nltk
from nltk.stem import PorterStemmer

from service.models import ArticleMeta
from service.sentences import ensure_nltk_data

_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*%?|[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_QUOTED = re.compile(r"[\"“”«»]([^\"“”«»]{2,200})[\"“”«»]")
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_ORDINALS = re.compile(r"^(\d+)(?:st|nd|rd|th)$")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """English function words (NLTK's list, from the copy LlamaIndex ships)."""
    ensure_nltk_data()
    return frozenset(nltk.corpus.stopwords.words("english"))


@lru_cache(maxsize=131072)
def normalise(token: str) -> str:
    """A token case-folded, without diacritics, possessive or thousands separators (remembered)."""
    token = unicodedata.normalize("NFKD", token)
    token = "".join(c for c in token if not unicodedata.combining(c)).casefold()
    token = re.sub(r"['’]s$", "", token)
    if token[:1].isdigit():
        token = token.rstrip("%")
        token = token.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", token) else token
        ordinal = _ORDINALS.match(token)
        token = ordinal.group(1) if ordinal else token
    return _NUMBER_WORDS.get(token, token)


def tokens(text: str) -> list[str]:
    """The raw word and number tokens of a text, in order."""
    return _TOKEN.findall(text)


def vocabulary(text: str) -> set[str]:
    """Every normalised token of a text."""
    return {normalise(t) for t in tokens(text)}


def is_number(term: str) -> bool:
    """True for a normalised number token."""
    return term[:1].isdigit()


@dataclass(frozen=True)
class KeyTerms:
    """What a sentence names: proper names, numbers and quoted words (all normalised)."""

    names: frozenset[str]
    numbers: frozenset[str]
    quoted: frozenset[str]

    @property
    def all(self) -> frozenset[str]:
        """Every key term."""
        return self.names | self.numbers | self.quoted


def key_terms(text: str) -> KeyTerms:
    """The names (capitalised words that are not function words), numbers and quoted words of a text.

    The first word of the text is not taken as a name: a capital there says nothing.
    """
    stop = stopwords()
    names: set[str] = set()
    numbers: set[str] = set()
    for position, raw in enumerate(tokens(text)):
        term = normalise(raw)
        if is_number(term):
            numbers.add(term)
        elif raw[:1].isupper() and position > 0 and term not in stop and len(term) > 1:
            names.add(term)
        elif raw.casefold() in _NUMBER_WORDS and raw.casefold() not in {"zero", "one"}:
            numbers.add(term)
    quoted = {
        normalise(t)
        for match in _QUOTED.finditer(text)
        for t in tokens(match.group(1))
        if normalise(t) not in stop
    }
    return KeyTerms(frozenset(names), frozenset(numbers), frozenset(quoted))


@lru_cache(maxsize=1)
def _stemmer() -> PorterStemmer:
    return PorterStemmer()


@lru_cache(maxsize=131072)
def stem(term: str) -> str:
    """The Porter stem of a normalised term (numbers unchanged); remembered, as news vocabulary
    repeats and NLTK's stemmer is pure Python (a third of an extractive answer's time before)."""
    return term if is_number(term) else str(_stemmer().stem(term))


def content_words(text: str) -> set[str]:
    """The stems of a text's words that are not function words."""
    stop = stopwords()
    return {stem(t) for t in map(normalise, tokens(text)) if t not in stop and len(t) > 1}


def weighted_recall(text: str, known_stems: set[str]) -> float:
    """Share of a text's content words found among known stems; names, numbers and quotes count double."""
    words = content_words(text)
    if not words:
        return 1.0
    key = {stem(t) for t in key_terms(text).all}
    total = sum(2 if w in key else 1 for w in words)
    found = sum(2 if w in key else 1 for w in words if w in known_stems)
    return found / total


def date_words(meta: ArticleMeta) -> str:
    """An article's outlet, author, title and date written out, so a claim may name them."""
    published = meta.published
    day = f"{published.isoformat()} {published.day} {published:%B %Y}" if published else ""
    return " ".join(p for p in (meta.title, meta.source, meta.author, day) if p)


def coverage(terms: Iterable[str], known: set[str]) -> tuple[float, list[str]]:
    """The share of terms found in the known vocabulary, and the missing ones (1.0 when no terms)."""
    wanted = sorted(set(terms))
    missing = [t for t in wanted if t not in known]
    return (1.0 - len(missing) / len(wanted) if wanted else 1.0), missing
