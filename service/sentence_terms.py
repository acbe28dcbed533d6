"""Sentence terms: how much of one part of a question a single sentence of a passage states in words.

The lexical signal of the sentence re-sort (service.retrieval). A multi-hop news question is put
together from facts, each stated by one sentence of one article, and the question repeats that
sentence's rarer words: names, figures, the thing done. A passage whose single sentence holds most of
one piece of the question (a clause, or a comma-separated part of one) is likelier to state it
than a passage that scatters the same words over several sentences.

``SentenceTerms.coverage`` gives, per passage, the highest share of one piece's term weight (BM25's
idf of each stemmed, stop-word-free term) that one of its sentences holds: 1 when some sentence
holds every term of some piece. Splitting sentences (Punkt) costs about 0.5 ms a passage, too much
per search, so the lexical index splits and tokenises each chunk's sentences once, when it first
indexes the chunk, and persists them with its snapshot (service.lexical); this module only holds
them as integer ids, built once per snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

PieceWeights = Mapping[str, float]  # a piece of the question: its terms and their weights


@dataclass(frozen=True)
class _Terms:
    """A passage's distinct terms per sentence: term ids, and the sentence each belongs to."""

    terms: NDArray[np.int32]
    sentence: NDArray[np.int32]
    sentences: int  # at least 1, so a passage without sentences still has a (blank) one


class SentenceTerms:
    """Each chunk's sentences as term ids, in the order of the chunks handed in (positions)."""

    def __init__(self, chunks: Iterable[Sequence[Sequence[str]]]) -> None:
        """``chunks``: per chunk, per sentence, the sentence's distinct terms."""
        self._vocabulary: dict[str, int] = {}
        self._chunks = [self._encode(sentences) for sentences in chunks]

    def __len__(self) -> int:
        return len(self._chunks)

    def coverage(self, positions: Sequence[int], pieces: Sequence[PieceWeights]) -> list[float]:
        """Per position, the highest share of one piece's weight held by one sentence of that chunk."""
        if not positions:
            return []
        held = [self._chunks[p] for p in positions]
        counts = np.array([t.sentences for t in held], dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        terms = np.concatenate([t.terms for t in held])
        sentence = np.concatenate([t.sentence + start for t, start in zip(held, starts, strict=True)])
        best = np.zeros(len(held), dtype=np.float64)
        for piece in pieces:
            lookup, total = self._lookup(piece)
            if total <= 0:
                continue
            per_sentence = np.bincount(sentence, weights=lookup[terms], minlength=int(counts.sum()))
            best = np.maximum(best, np.maximum.reduceat(per_sentence, starts) / total)
        return [float(share) for share in best]

    def _lookup(self, piece: PieceWeights) -> tuple[NDArray[np.float64], float]:
        """The piece's weight of every known term id (0 for terms outside it), and its total weight."""
        lookup = np.zeros(len(self._vocabulary) + 1, dtype=np.float64)
        for term, weight in piece.items():
            position = self._vocabulary.get(term)
            if position is not None:
                lookup[position] = weight
        return lookup, float(sum(piece.values()))

    def _encode(self, sentences: Sequence[Sequence[str]]) -> _Terms:
        """One chunk's sentences as term ids and sentence numbers."""
        terms: list[int] = []
        owners: list[int] = []
        for number, sentence in enumerate(sentences):
            for term in set(sentence):
                terms.append(self._vocabulary.setdefault(term, len(self._vocabulary)))
                owners.append(number)
        return _Terms(
            np.array(terms, dtype=np.int32), np.array(owners, dtype=np.int32), max(len(sentences), 1)
        )
