"""The refusal decision: do the retrieved passages hold evidence for an answer to the question?

A similarity score alone cannot tell a question about an event the articles report from a
plausible-sounding question about one they do not: both retrieve passages on the same topic. What
an answer needs is evidence of two kinds, neither of which depends on how retrieval scores passages:

- every outlet the question attributes a report to ("an article by Forbes", "a Guardian piece",
  "according to Reuters") is an indexed outlet — we cannot answer for an outlet we do not hold;
- the passages searched for evidence (more than are answered from) mention enough of what the
  question names — its people, organisations, products, places, numbers and quoted words — in
  their text, title, outlet, author or date. Month and weekday names are left to the date filters.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from service.keyterms import coverage, date_words, key_terms, vocabulary
from service.models import Passage

_CALENDAR = {n.casefold() for n in (*calendar.month_name, *calendar.day_name) if n}
_NAME = r"['\"‘“]?(?P<name>(?:The\s+)?[A-Z][\w.&'’-]*(?:\s+(?:of\s+|-\s+|&\s+|and\s+)?[A-Z][\w.&'’-]*)*)"
_REPORT = r"(?:article|articles|report|reports|piece|pieces|review|story|coverage|analysis|podcast|column)"
_ATTRIBUTIONS = [
    re.compile(rf"\b{_REPORT}\s+(?:from|by|in)\s+(?:both\s+)?(?:the\s+)?{_NAME}"),
    re.compile(rf"\banother\s+(?:one\s+|{_REPORT}\s+)?(?:from|by|in|on)\s+(?:the\s+)?{_NAME}"),
    re.compile(
        rf"\b(?:described|discussed|mentioned|featured|highlighted|detailed|covered|reported|published)"
        rf"\s+(?:in|by)\s+(?:both\s+)?(?:the\s+)?{_NAME}"
    ),
    re.compile(rf"\b(?i:according to|as per)\s+(?:an?\s+)?(?:the\s+)?{_NAME}"),
    re.compile(rf"\b(?:an?|the|both)\s+{_NAME}['\"’”]?\s+{_REPORT}\b"),
]


@lru_cache(maxsize=8192)
def _vocabulary(text: str) -> frozenset[str]:
    """A passage's vocabulary, remembered: the same passages come back across questions."""
    return frozenset(vocabulary(text))


def named_outlets(question: str) -> list[str]:
    """The outlets a question attributes reports to ("an article by Forbes", "a Guardian piece")."""
    found: list[tuple[int, str]] = []
    for pattern in _ATTRIBUTIONS:
        for match in pattern.finditer(question):
            for part in re.split(r"\s+and\s+", match.group("name")):
                part = part.strip(" '\"’”")
                if part and part.split()[0].casefold() not in _CALENDAR:
                    found.append((match.start("name") + match.group("name").find(part), part))
    return list(dict.fromkeys(name for _, name in sorted(found)))


def is_indexed(name: str, outlets: Iterable[str]) -> bool:
    """True when every word of the name is a word of one indexed outlet ("Guardian" → "The Guardian")."""
    words = vocabulary(name) - {"the"}
    return not words or any(words <= vocabulary(outlet) for outlet in outlets)


@dataclass(frozen=True)
class Evidence:
    """Whether the passages can answer: the share of the question's key terms they cover, what is missing."""

    answerable: bool
    coverage: float
    missing: tuple[str, ...]
    terms: int
    unindexed_outlets: tuple[str, ...] = ()


class EvidenceCheck:
    """Refuses when the passages do not mention enough of what the question names."""

    def __init__(self, min_coverage: float, outlets: Callable[[], Iterable[str]] | None = None) -> None:
        self._min_coverage = min_coverage
        self._outlets = outlets or (lambda: ())

    @property
    def min_coverage(self) -> float:
        """Share of the question's key terms the passages must cover."""
        return self._min_coverage

    def assess(self, question: str, passages: Sequence[Passage]) -> Evidence:
        """The evidence the passages (searched for evidence, best first) hold for the question."""
        terms = key_terms(question)
        wanted = (terms.names | terms.quoted) - _CALENDAR
        if not passages:
            return Evidence(False, 0.0, tuple(sorted(wanted)), len(wanted))
        outlets = list(self._outlets())
        known: set[str] = set()
        for passage in passages:
            known |= _vocabulary(passage.chunk.text) | _vocabulary(date_words(passage.chunk.article))
        for outlet in outlets:
            known |= vocabulary(outlet)
        share, missing = coverage(wanted, known)
        foreign = tuple(n for n in named_outlets(question) if not is_indexed(n, outlets))
        answerable = share >= self._min_coverage and not foreign
        return Evidence(answerable, round(share, 4), foreign + tuple(missing), len(wanted), foreign)
