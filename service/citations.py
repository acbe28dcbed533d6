"""Sentence-level citation verification: does each cited passage support the sentence citing it?

Support averages embedding similarity (the sentence against the passage's sentences and pairs of
adjacent sentences) with the share of the sentence's content words the passage contains, where the
content that matters in news — names, numbers, dates and quoted words — counts double. A number the
sentence states that the passage does not contain is a contradiction, whatever the similarity.
Unsupported citations are removed; a sentence left with none is re-attached to the retrieved
passage that supports it best, if one does, or dropped. A fragment with fewer than three content
words ("Iran [1].") is dropped: found word for word in a passage, it would still claim nothing.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from service.embedding_cache import EmbeddingCache
from service.embeddings import Embedder
from service.keyterms import content_words, date_words, key_terms, vocabulary, weighted_recall
from service.models import Passage
from service.sentences import citation_numbers, split_sentences, strip_citations

# A marker followed by a capitalised word ends a sentence even without a full stop (quoted headlines).
_MARKER_BOUNDARY = re.compile(r"(?<=\])\s+(?=[A-Z\"“‘'])")
_LEADING_MARKERS = re.compile(r"^((?:\s*\[\d+\])+)\s*(.*)$", re.DOTALL)
_SIMILARITY_WEIGHT = 0.5
_MIN_CLAIM_WORDS = 3


@dataclass(frozen=True)
class Support:
    """How well one passage supports one sentence."""

    score: float
    similarity: float
    coverage: float
    missing_numbers: tuple[str, ...]
    quote: str
    supported: bool


@dataclass(frozen=True)
class CheckedSentence:
    """One sentence of a draft with its verdict; ``passages`` are 1-based numbers of supporting passages."""

    text: str
    passages: tuple[int, ...]
    supported: bool
    score: float
    quotes: dict[int, str] = field(default_factory=dict)
    removed: tuple[int, ...] = ()
    reattached: bool = False


def draft_sentences(text: str) -> list[str]:
    """The sentences of a draft, with markers written after a full stop moved back onto their sentence."""
    sentences: list[str] = []
    pieces = [s for part in _MARKER_BOUNDARY.split(text) for s in split_sentences(part)]
    for sentence in pieces:
        match = _LEADING_MARKERS.match(sentence)
        if match and sentences:
            sentences[-1] = f"{sentences[-1]} {match.group(1).strip()}"
            sentence = match.group(2).strip()
        if sentence:
            sentences.append(sentence)
    return sentences


@dataclass
class _PassageView:
    units: list[str]
    vectors: NDArray[np.float32]
    known: set[str]
    stems: set[str]
    sentences: list[str]


class CitationVerifier:
    """Checks a draft's citations against the passages it was written from."""

    def __init__(self, embedder: Embedder, min_support: float = 0.65) -> None:
        # Passages repeat across questions: their sentences are embedded once (service/embedding_cache.py).
        self._embedder = embedder if isinstance(embedder, EmbeddingCache) else EmbeddingCache(embedder)
        self._min_support = min_support

    @property
    def min_support(self) -> float:
        """Score from which a passage counts as supporting a sentence."""
        return self._min_support

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embeddings of the texts, reusing those seen recently (passages repeat across questions)."""
        return self._embedder.embed(texts)

    def _view(self, passage: Passage) -> _PassageView:
        sentences = split_sentences(passage.chunk.text) or [passage.chunk.text]
        pairs = [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
        units = sentences + pairs
        header = date_words(passage.chunk.article)
        known = vocabulary(passage.chunk.text) | vocabulary(header)
        stems = content_words(passage.chunk.text) | content_words(header)
        return _PassageView(units, self.embed(units), known, stems, sentences)

    def support(self, claim: str, claim_vector: NDArray[np.float32], view: _PassageView) -> Support:
        """How well a passage supports a claim (a sentence without its markers)."""
        similarities = view.vectors @ claim_vector
        best = int(np.argmax(similarities))
        similarity = float(similarities[best])
        covered = weighted_recall(claim, view.stems)
        missing_numbers = tuple(sorted(n for n in key_terms(claim).numbers if n not in view.known))
        score = _SIMILARITY_WEIGHT * similarity + (1 - _SIMILARITY_WEIGHT) * covered
        quote = view.units[best]
        supported = not missing_numbers and score >= self._min_support
        return Support(round(score, 4), similarity, covered, missing_numbers, quote, supported)

    def check(self, text: str, passages: Sequence[Passage]) -> list[CheckedSentence]:
        """Every sentence of the draft with the passages that support it (markers refer to passages).

        A sentence found word for word in a passage (an extractive quote) is supported by it without
        embedding anything; embeddings are computed only for the passages a judgement needs.
        """
        sentences = draft_sentences(text)
        claims = [strip_citations(s) for s in sentences]
        if not sentences or not passages:
            return [CheckedSentence(c, (), False, 0.0) for c in claims if c]
        flat = [_flat(p.chunk.text) for p in passages]
        views: dict[int, _PassageView] = {}
        vectors: dict[str, NDArray[np.float32]] = {}

        def judge(claim: str, number: int) -> Support:
            if _flat(claim).rstrip(".!?") in flat[number - 1]:
                return Support(1.0, 1.0, 1.0, (), verbatim_quote(claim, passages[number - 1]), True)
            if number not in views:
                views[number] = self._view(passages[number - 1])
            if claim not in vectors:
                vectors[claim] = self.embed([claim])[0]
            return self.support(claim, vectors[claim], views[number])

        checked: list[CheckedSentence] = []
        for sentence, claim in zip(sentences, claims, strict=True):
            cited = list(dict.fromkeys(citation_numbers(sentence)))
            if len(claim.split()) < _MIN_CLAIM_WORDS and not cited:
                continue  # a fragment such as a heading: nothing to verify, nothing to keep
            if is_fragment(claim):  # "Iran [1]." is in the passage word for word, yet claims nothing
                checked.append(CheckedSentence(claim, (), False, 0.0, {}, tuple(cited)))
                continue
            supports = {n: judge(claim, n) for n in cited if 1 <= n <= len(passages)}
            kept = [n for n, s in supports.items() if s.supported]
            removed = tuple(n for n in cited if n not in kept)
            reattached = False
            if not kept:
                verbatim = next(
                    (
                        n
                        for n in range(1, len(passages) + 1)
                        if claim and _flat(claim).rstrip(".!?") in flat[n - 1]
                    ),
                    None,
                )
                numbers = [verbatim] if verbatim else range(1, len(passages) + 1)
                supports.update({n: judge(claim, n) for n in numbers if n not in supports})
                best = max(supports, key=lambda n: supports[n].score)
                if supports[best].supported:
                    kept, reattached = [best], True
            if kept:
                score = max(supports[n].score for n in kept)
                quotes = {n: supports[n].quote for n in kept}
                checked.append(CheckedSentence(claim, tuple(kept), True, score, quotes, removed, reattached))
            else:
                score = max((s.score for s in supports.values()), default=0.0)
                checked.append(CheckedSentence(claim, (), False, score, {}, removed))
        return checked


def is_fragment(claim: str) -> bool:
    """True for a claim with fewer than three content words: too little to be checked, or kept."""
    return len(content_words(claim)) < _MIN_CLAIM_WORDS


def verbatim_quote(claim: str, passage: Passage) -> str:
    """The passage's own sentence (or pair of sentences) holding a claim it contains word for word."""
    needle = _flat(claim).rstrip(".!?")
    sentences = split_sentences(passage.chunk.text)
    units = sentences + [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
    return next((unit for unit in units if needle in _flat(unit)), claim)


def _flat(text: str) -> str:
    """Text with runs of whitespace made single spaces, for word-for-word comparison."""
    return " ".join(text.split())
