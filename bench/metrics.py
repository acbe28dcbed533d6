"""Retrieval metrics of the MultiHop-RAG benchmark: the paper's chunk-level rule and article-level ones.

Chunk level (paper, Table 5): a retrieved chunk is a hit when a gold ``fact`` with spaces and
newlines removed is a substring of the chunk text likewise squashed; Hits@k is the share of queries
with a hit in the top k, MRR@10 the mean of 1/rank of the first hit.

Article level: the article ranking is the distinct articles of a ranking deep enough to hold ten of
them, in order of first appearance; hit@k, MRR@10, nDCG@10 and all-evidence@10 (every evidence
article among the top 10 distinct articles) are scored on it, as the benchmark issue defines them.
A top 10 of chunks holds fewer articles (several passages of one article), so what a client shown
ten passages gets is reported too: all evidence among the articles of the top-10 chunks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

_SPACES = re.compile(r"[ \n]+")


def squash(text: str) -> str:
    """The text with spaces and newlines removed (the paper's normalisation)."""
    return _SPACES.sub("", text)


@dataclass(frozen=True)
class QueryScore:
    """Every metric of one query's top-10."""

    chunk_hit_rank: int  # 1-based rank of the first chunk holding a gold fact; 0 when none
    article_ranks: tuple[int, ...]  # 1-based ranks, among the top 10 distinct articles, of the evidence ones
    evidence_articles: int
    evidence_in_chunks: int  # evidence articles among the articles of the top-10 chunks

    @property
    def hits4(self) -> float:
        """Chunk-level hit in the top 4."""
        return float(0 < self.chunk_hit_rank <= 4)

    @property
    def hits10(self) -> float:
        """Chunk-level hit in the top 10."""
        return float(0 < self.chunk_hit_rank <= 10)

    @property
    def mrr10(self) -> float:
        """Reciprocal rank of the first chunk-level hit (0 beyond 10)."""
        return 1.0 / self.chunk_hit_rank if 0 < self.chunk_hit_rank <= 10 else 0.0

    def article_hit(self, k: int) -> float:
        """Some evidence article among the top k distinct articles."""
        return float(any(r <= k for r in self.article_ranks))

    @property
    def article_mrr10(self) -> float:
        """Reciprocal rank of the first evidence article among the distinct articles."""
        return 1.0 / min(self.article_ranks) if self.article_ranks else 0.0

    @property
    def ndcg10(self) -> float:
        """Binary-relevance nDCG over the distinct articles of the top 10."""
        dcg = sum(1.0 / math.log2(r + 1) for r in self.article_ranks)
        ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(self.evidence_articles, 10) + 1))
        return dcg / ideal if ideal else 0.0

    @property
    def all_evidence10(self) -> float:
        """Every evidence article is among the top 10 distinct articles."""
        return float(len(self.article_ranks) == self.evidence_articles)

    @property
    def all_evidence_in_chunks(self) -> float:
        """Every evidence article is among the articles of the top-10 chunks."""
        return float(self.evidence_in_chunks == self.evidence_articles)


def score_query(
    retrieved: Sequence[tuple[str, str]],
    facts: Sequence[str],
    evidence: Sequence[str],
    articles: Sequence[str] | None = None,
) -> QueryScore:
    """Score a top-10 given as (article key, chunk text) pairs against gold facts and article keys.

    ``articles``: the article keys of a deeper ranking, best first (repeats allowed), whose top-10
    chunks are ``retrieved``; its first 10 distinct articles are the article ranking. Without it the
    articles of ``retrieved`` are.
    """
    top = list(retrieved)[:10]
    gold = [squash(f) for f in facts if squash(f)]
    first = next((i for i, (_, text) in enumerate(top, 1) if any(g in squash(text) for g in gold)), 0)
    ranking = list(dict.fromkeys(articles if articles is not None else (key for key, _ in top)))[:10]
    wanted = set(evidence)
    ranks = tuple(i for i, key in enumerate(ranking, 1) if key in wanted)
    in_chunks = len(wanted & {key for key, _ in top})
    return QueryScore(first, ranks, len(wanted), in_chunks)


METRICS = (
    "Hits@4",
    "Hits@10",
    "MRR@10",
    "article hit@1",
    "article hit@4",
    "article hit@10",
    "article MRR@10",
    "nDCG@10",
    "all-evidence@10",
    "all-evidence in 10 chunks",
)


def summarise(scores: Sequence[QueryScore]) -> dict[str, float]:
    """Mean of every metric over the queries."""
    if not scores:
        return dict.fromkeys(METRICS, 0.0)
    n = len(scores)
    values = {
        "Hits@4": sum(s.hits4 for s in scores),
        "Hits@10": sum(s.hits10 for s in scores),
        "MRR@10": sum(s.mrr10 for s in scores),
        "article hit@1": sum(s.article_hit(1) for s in scores),
        "article hit@4": sum(s.article_hit(4) for s in scores),
        "article hit@10": sum(s.article_hit(10) for s in scores),
        "article MRR@10": sum(s.article_mrr10 for s in scores),
        "nDCG@10": sum(s.ndcg10 for s in scores),
        "all-evidence@10": sum(s.all_evidence10 for s in scores),
        "all-evidence in 10 chunks": sum(s.all_evidence_in_chunks for s in scores),
    }
    return {name: round(value / n, 4) for name, value in values.items()}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
