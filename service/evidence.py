"""The refusal decision: do the retrieved passages hold evidence for an answer to the question?

A similarity score alone cannot tell a question about an event the articles report from a
plausible-sounding question about one they do not: both retrieve passages on the same topic. What
an answer needs is that the passages mention what the question names — its people, organisations,
products, places, outlets, numbers and quoted words. The decision therefore rests on the share of
the question's key terms found in the retrieved passages (their text, title, outlet, author and
date) or among the indexed outlets; it does not depend on how retrieval scores passages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from service.keyterms import coverage, date_words, key_terms, vocabulary
from service.models import Passage


@dataclass(frozen=True)
class Evidence:
    """Whether the passages can answer: the share of the question's key terms they cover, what is missing."""

    answerable: bool
    coverage: float
    missing: tuple[str, ...]
    terms: int


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
        """The evidence the passages hold for the question."""
        terms = key_terms(question)
        wanted = terms.names | terms.quoted
        if not passages:
            return Evidence(False, 0.0, tuple(sorted(wanted)), len(wanted))
        known: set[str] = set()
        for passage in passages:
            known |= vocabulary(passage.chunk.text) | vocabulary(date_words(passage.chunk.article))
        for outlet in self._outlets():
            known |= vocabulary(outlet)
        share, missing = coverage(wanted, known)
        return Evidence(share >= self._min_coverage, round(share, 4), tuple(missing), len(wanted))
