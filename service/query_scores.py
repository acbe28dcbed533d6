"""BM25 scores of one search's texts: the query and its clauses, each scored once and masked per filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from service.lexical import LexicalSnapshot
from service.models import Filters


class BM25Scorer(Protocol):
    """Anything that scores a text with BM25 under filters (a snapshot, or QueryScores)."""

    def scores(self, query: str, filters: Filters) -> NDArray[np.float64] | None:
        """BM25 score of every chunk (0 outside the filters); None when nothing passes them."""
        ...


class QueryScores:
    """BM25 scores of one search's texts (the query, its clauses), computed once, masked per filter.

    A search scores the same texts under several filters (the whole query, then each named
    outlet or date); BM25 over the whole snapshot is the costly part, the mask is cheap.
    """

    def __init__(self, snapshot: LexicalSnapshot, name_variants: bool = True) -> None:
        self.snapshot = snapshot
        self._name_variants = name_variants
        self._unfiltered: dict[str, NDArray[np.float64] | None] = {}

    def scores(self, query: str, filters: Filters) -> NDArray[np.float64] | None:
        """BM25 score of every chunk (0 outside the filters); None when nothing passes them."""
        mask = self.snapshot.mask(filters)
        if mask is not None and not mask.any():
            return None
        if query not in self._unfiltered:
            self._unfiltered[query] = self.snapshot.scores(query, Filters(), self._name_variants)
        raw = self._unfiltered[query]
        if raw is None or mask is None:
            return raw
        return np.where(mask, raw, 0.0)


def clause_scores(scorer: BM25Scorer, clauses: Sequence[str], filters: Filters) -> NDArray[np.float64] | None:
    """Per chunk, its best BM25 score for any one clause of the query, each clause scaled to [0, 1].

    None when there are fewer than two clauses (the whole query already is the clause) or no
    clause matches anything.
    """
    if len(clauses) < 2:
        return None
    best: NDArray[np.float64] | None = None
    for clause in clauses:
        scores = scorer.scores(clause, filters)
        if scores is None:
            continue
        top = float(scores.max())
        if top <= 0:
            continue
        scaled = scores / top
        best = scaled if best is None else np.maximum(best, scaled)
    return best
