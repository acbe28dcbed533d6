"""The extractive generator: answers with the retrieved sentences that best answer the question.

When the question names outlets ("the TechCrunch article and the Verge report"), each named outlet
first gets its best sentence, so the answer speaks for every source asked about; the rest is
filled by maximal marginal relevance (MMR), so the answer does not repeat itself. A sentence
scoring more than ``margin`` below the best one is not added, nor one with fewer than three content
words. Each sentence is cited with its passage; with nothing relevant the answer says so.

Sentences are first ranked by the share of the question's content words they hold (names and
numbers counting double). With ``max_candidates`` > 0 (the service's default is 12) the best of
them, capped, are scored by cosine with the question: with the sentence vectors ingest stored
when the index holds them (service/sentence_vectors.py), else embedded in one call through an LRU
cache (service/embedding_cache.py). Cosine tells "what did he say" from "he visited"; with 0 none
is scored so (cheapest): relevance is that share averaged with the passage's similarity to the
question, and repeats are told by word overlap.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from service.embedding_cache import EmbeddingCache
from service.embeddings import Embedder
from service.generation import INSUFFICIENT_ANSWER, Draft
from service.keyterms import content_words, key_terms, stem
from service.models import Passage
from service.query_analysis import outlet_names
from service.sentences import before_final_stop, split_sentences

_MIN_WORDS = 5
_MIN_CONTENT_WORDS = 3
_MIN_PREFIX = 4  # letters a stem needs before it may match a word it begins
_MMR_LAMBDA = 0.7
_NEAR_DUPLICATE = 0.92
_PER_OUTLET_CANDIDATES = 4
_LEXICAL_WEIGHT = 0.5
_LEXICAL_DUPLICATE = 0.6  # word overlap (Jaccard) from which two sentences say the same thing
log = logging.getLogger(__name__)

# Stored sentence vectors of chunks by id (service.sentence_vectors.SentenceVectors.of).
StoredSentences = Callable[[Sequence[str]], Mapping[str, NDArray[np.float32]]]


@dataclass(frozen=True)
class _Candidate:
    passage_number: int  # 1-based, as cited
    position: int  # order within the passage
    text: str
    overlap: float = 0.0  # share of the question's content words it holds, names and numbers counting double
    words: frozenset[str] = frozenset()  # its content words (stems)


def cite(sentence: str, number: int) -> str:
    """The sentence with its [n] marker set before the final punctuation (a full stop if it has none).

    Scraped lines ("End of third quarter: 49ers 28, Cowboys 10") often end without one; without the
    stop, the next sentence would run on and the answer would no longer split into the passage's
    own sentences, which the citation check verifies word for word.
    """
    return before_final_stop(sentence, f" [{number}]", ".")


@lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[str, ...]:
    """A passage's sentences, remembered: the same passages come back across questions."""
    return tuple(split_sentences(text))


@lru_cache(maxsize=65536)
def _related(stem_: str, words: frozenset[str]) -> bool:
    """Whether a stem of at least four letters begins one of the words (or one of them begins it).

    Porter stemming leaves demonyms and their countries apart ("Israeli" / "Israel", "Iranian" /
    "Iran"); this lets a sentence about either answer a question about the other.
    """
    return len(stem_) >= _MIN_PREFIX and any(
        len(w) >= _MIN_PREFIX and (w.startswith(stem_) or stem_.startswith(w)) for w in words
    )


def _content_words(sentence: str) -> frozenset[str]:
    """A sentence's content words, remembered."""
    return frozenset(content_words(sentence))


def named_outlet_groups(question: str, passages: Sequence[Passage]) -> list[list[int]]:
    """Passage numbers per outlet the question names (written capitalised), in the question's order."""
    found: dict[int, set[str]] = {}
    for source in dict.fromkeys(p.chunk.article.source for p in passages if p.chunk.article.source):
        for name in outlet_names(source):
            if len(name) < 3:
                continue
            pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, name.split())) + r"(?!\w)", re.I)
            match = next((m for m in pattern.finditer(question) if m.group(0)[:1].isupper()), None)
            if match:
                found.setdefault(match.start(), set()).add(source)
    groups: list[list[int]] = []
    for start in sorted(found):
        numbers = [n for n, p in enumerate(passages, start=1) if p.chunk.article.source in found[start]]
        if numbers and numbers not in groups:
            groups.append(numbers)
    return groups


class ExtractiveGenerator:
    """A grounded generator that needs no LLM: every answer sentence is a retrieved sentence."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        max_sentences: int = 4,
        min_similarity: float = 0.35,
        *,
        margin: float = 0.2,
        max_candidates: int = 12,
        stored: StoredSentences | None = None,
    ) -> None:
        self._embedder = embedder if isinstance(embedder, EmbeddingCache) else EmbeddingCache(embedder)
        self._stored = stored
        self._max_sentences = max_sentences
        self._min_similarity = min_similarity
        self._margin = margin
        self._max_candidates = max_candidates

    def candidates(self, question: str, passages: Sequence[Passage]) -> list[_Candidate]:
        """The sentences worth scoring: most of the question covered first, capped when they are embedded.

        Each named outlet keeps a few of its own past the cap.
        """
        asked = content_words(question)
        key = {stem(t) for t in key_terms(question).all}
        weights = {w: 2 if w in key else 1 for w in asked}
        total = sum(weights.values())

        def covered(words: frozenset[str]) -> float:
            """Share of the question's content words held (as keyterms.weighted_recall, computed once)."""
            return (
                sum(weights[w] for w in asked if w in words or _related(w, words)) / total if total else 1.0
            )

        every = [
            _Candidate(number, position, sentence, covered(words), words)
            for number, passage in enumerate(passages, start=1)
            for position, sentence in enumerate(_sentences(passage.chunk.text))
            if len(sentence.split()) >= _MIN_WORDS
            and len(words := _content_words(sentence)) >= _MIN_CONTENT_WORDS
        ]
        if not self._max_candidates or len(every) <= self._max_candidates:
            return every
        ranked = sorted(every, key=lambda c: (-c.overlap, c.passage_number, c.position))
        kept = ranked[: self._max_candidates]
        for group in named_outlet_groups(question, passages):
            own = [c for c in ranked if c.passage_number in group][:_PER_OUTLET_CANDIDATES]
            kept += [c for c in own if c not in kept]
        return kept

    def _scores(
        self, question: str, passages: Sequence[Passage], candidates: Sequence[_Candidate]
    ) -> tuple[NDArray[np.float64], Callable[[int, int], float], float, float]:
        """Relevance per candidate, similarity of two, the similarity of near-duplicates, the least relevance.

        Embedded: cosine similarities, from ``min_similarity``. Lexical (no candidates embedded): the
        question's share the sentence covers averaged with its passage's similarity to the question
        (its passage passed the relevance threshold already), from one question word; word overlap.
        """
        if self._max_candidates:
            known = self._stored_vectors(passages, candidates)
            todo = [i for i in range(len(candidates)) if i not in known]
            vectors = self._embedder.embed([question] + [candidates[i].text for i in todo])
            query = vectors[0]
            sentences = np.zeros((len(candidates), len(query)), dtype=np.float32)
            for i, vector in known.items():
                sentences[i] = vector
            for row, i in enumerate(todo, start=1):
                sentences[i] = vectors[row]
            return (
                (sentences @ query).astype(np.float64),
                lambda i, j: float(sentences[i] @ sentences[j]),
                _NEAR_DUPLICATE,
                self._min_similarity,
            )
        relevance = np.array(
            [
                _LEXICAL_WEIGHT * c.overlap + (1 - _LEXICAL_WEIGHT) * passages[c.passage_number - 1].score
                if c.overlap > 0
                else 0.0
                for c in candidates
            ]
        )
        words = [c.words for c in candidates]

        def jaccard(i: int, j: int) -> float:
            return len(words[i] & words[j]) / (len(words[i] | words[j]) or 1)

        return relevance, jaccard, _LEXICAL_DUPLICATE, 1e-9

    def _stored_vectors(
        self, passages: Sequence[Passage], candidates: Sequence[_Candidate]
    ) -> dict[int, NDArray[np.float32]]:
        """Candidates' sentence vectors stored by ingest, by candidate index (those found and usable).

        A chunk's rows are used only when they are as many as its sentences now (same split).
        """
        if self._stored is None:
            return {}
        try:
            rows = self._stored([p.chunk.id for p in passages])
        except Exception:  # the companion collection gone (another process reset it): embed instead
            log.warning("stored sentence vectors unreadable; embedding the sentences", exc_info=True)
            return {}
        known: dict[int, NDArray[np.float32]] = {}
        for i, candidate in enumerate(candidates):
            chunk = passages[candidate.passage_number - 1].chunk
            vectors = rows.get(chunk.id)
            if vectors is None or len(vectors) != len(_sentences(chunk.text)):
                continue
            known[i] = vectors[candidate.position]
        return known

    def select(self, question: str, passages: Sequence[Passage]) -> list[_Candidate]:
        """The sentences that answer the question, named outlets first (empty when none is relevant)."""
        candidates = self.candidates(question, passages)
        if not candidates:
            return []
        relevance, similarity, duplicate, least = self._scores(question, passages, candidates)
        floor = max(least, float(relevance.max()) - self._margin)
        chosen: list[int] = []

        def redundancy(i: int) -> float:
            return max((similarity(i, j) for j in chosen), default=0.0)

        for group in named_outlet_groups(question, passages):
            if len(chosen) >= self._max_sentences:
                break
            own = [
                i
                for i, c in enumerate(candidates)
                if c.passage_number in group
                and i not in chosen
                and relevance[i] >= least
                and redundancy(i) < duplicate
            ]
            if own:
                chosen.append(max(own, key=lambda i: float(relevance[i])))
        while len(chosen) < min(self._max_sentences, len(candidates)):
            best, best_value = -1, -np.inf
            for i, rel in enumerate(relevance):
                if i in chosen or rel < floor:
                    continue
                similar = redundancy(i)
                if similar >= duplicate:
                    continue
                value = _MMR_LAMBDA * float(rel) - (1 - _MMR_LAMBDA) * similar
                if value > best_value:
                    best, best_value = i, value
            if best < 0:
                break
            chosen.append(best)
        return [candidates[i] for i in chosen]

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft:
        """The selected sentences, each followed by its citation marker."""
        picked = self.select(question, passages)
        if not picked:
            return Draft(INSUFFICIENT_ANSWER, self.name, insufficient=True)
        return Draft(" ".join(cite(c.text, c.passage_number) for c in picked), self.name)

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """The answer sentence by sentence."""
        picked = self.select(question, passages)
        if not picked:
            yield INSUFFICIENT_ANSWER
            return
        for i, candidate in enumerate(picked):
            yield ("" if i == 0 else " ") + cite(candidate.text, candidate.passage_number)
