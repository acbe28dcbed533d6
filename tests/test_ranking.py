"""Ranking helpers (service.ranking): score fusion, the head re-sort, the spread across articles,
and confident named outlets first, on passages of the seeds as dense retrieval ranks them."""

from __future__ import annotations

from collections import Counter

import pytest

from service import ranking
from service.embeddings import Embedder
from service.lexical import build_lexical_index
from service.models import Chunk
from service.query_analysis import NamedOutlet
from service.retrieval import Retriever
from service.settings import Settings
from service.store import ChunkStore


@pytest.fixture
def ranked(seeded: tuple[Settings, ChunkStore], embedder: Embedder) -> list[Chunk]:
    """Thirty passages of the seeds, as dense retrieval ranks them for "Quds Force commander"."""
    settings, store = seeded
    dense = settings.retrieval.model_copy(update={"mode": "dense"})
    retriever = Retriever(store, embedder, build_lexical_index(settings, store), dense)
    return [p.chunk for p in retriever.search("Quds Force commander", 30)]


def fuse(lists: list[tuple[list[tuple[Chunk, float]], float]]) -> list[Chunk]:
    """The fused order alone."""
    return [chunk for chunk, _ in ranking.fused_scores(lists)]


def test_fusion_rewards_agreement_and_diversity_spreads_articles(ranked: list[Chunk]) -> None:
    chunks = ranked[:6]
    # Equal scores in two opposite lists: a third list holding only chunk 2 decides.
    flat = [(c, 1.0) for c in chunks]
    fused = fuse([(flat, 1.0), (list(reversed(flat)), 1.0), ([(chunks[2], 0.5)], 1.0)])
    assert fused[0] == chunks[2]
    # Each list's scores count relative to its best, summed over the lists.
    two = ranking.fused_scores([([(chunks[0], 4.0), (chunks[1], 2.0)], 1.0), ([(chunks[1], 3.0)], 0.8)])
    assert [c for c, _ in two] == [chunks[1], chunks[0]]
    assert [score for _, score in two] == pytest.approx([0.5 + 0.8, 1.0])
    # Each list counts relative to its own best: a restricted list's best is worth the main list's best.
    main = [(chunks[0], 10.0), (chunks[1], 9.0)]
    named = [(chunks[3], 2.0), (chunks[1], 1.0)]
    assert fuse([(main, 1.0), (named, 1.0)])[:3] == [chunks[1], chunks[0], chunks[3]]
    assert fuse([(main, 1.0), (named, 0.0)]) == [chunks[0], chunks[1]]
    spread = ranking.diversify(chunks, 1)
    firsts = spread[: len({c.article.id for c in chunks})]
    assert len({c.article.id for c in firsts}) == len(firsts)
    assert sorted(c.id for c in spread) == sorted(c.id for c in chunks)


def test_confident_named_outlets_best_passages_lead_the_results(ranked: list[Chunk]) -> None:
    chunks = ranked[:8]
    by_article: dict[str, Chunk] = {}
    for chunk in chunks:
        by_article.setdefault(chunk.article.id, chunk)  # each article's first passage in the ranking
    a, b, c = list(by_article.values())[:3]

    def outlet(*scored: tuple[Chunk, float]) -> ranking.OutletRanking:
        return ranking.OutletRanking(NamedOutlet("x", ("x",)), list(scored))

    clear = outlet((c, 1.0))  # alone in its outlet: margin 1
    close = outlet((b, 1.0), (a, 0.95))  # margin 0.05: not confident
    lead = outlet((a, 1.0), (b, 0.8))  # margin 0.2
    led = ranking.lead_with_confident(chunks, ranking.confident_outlets([close, lead, clear], 0.1))
    assert led[:2] == [c, a]  # most confident first
    assert sorted(x.id for x in led) == sorted(x.id for x in chunks)  # nothing lost or repeated
    assert ranking.lead_with_confident(chunks, ranking.confident_outlets([close], 0.1)) == chunks
    assert (
        ranking.lead_with_confident(chunks, ranking.confident_outlets([lead, clear], 2.0)) == chunks
    )  # above 1: never


def test_a_confident_outlet_leads_with_its_best_article_s_first_passage_in_the_ranking(
    ranked: list[Chunk],
) -> None:
    chunks = ranked[:30]
    counts = Counter(c.article.id for c in chunks)
    article = next(a for a, n in counts.items() if n >= 2)
    first, second = [c for c in chunks if c.article.id == article][:2]
    # The outlet's own ranking puts the article's later passage first (as a search within the
    # outlet may); the results lead with the article's passage that ranks first after the re-sort.
    only = ranking.OutletRanking(NamedOutlet("x", ("x",)), [(second, 1.0)])
    led = ranking.lead_with_confident(chunks, [only])
    assert led[0] == first
    assert sorted(c.id for c in led) == sorted(c.id for c in chunks)
    others = [c for c in chunks if c.article.id != article]
    assert ranking.lead_with_confident(others, [only])[0] == second  # not ranked at all: the outlet's best


def test_resort_head_rescales_the_head_re_sorts_it_and_keeps_the_tail_below(ranked: list[Chunk]) -> None:
    chunks = ranked[:4]
    fused = [(chunks[0], 2.0), (chunks[1], 1.8), (chunks[2], 1.6), (chunks[3], 1.5)]
    resorted = ranking.resort_head(fused, {chunks[1].id: 0.5}, 2)
    assert resorted == [(chunks[1], 1.4), (chunks[0], 1.0), (chunks[2], 0.8), (chunks[3], 0.75)]
    assert ranking.resort_head(fused, {}, 2) == fused  # no bonus: as it was


def test_a_passage_whose_sentence_states_a_clause_rises_within_the_head(ranked: list[Chunk]) -> None:
    chunks = ranked[:4]
    fused = [(chunks[0], 2.0), (chunks[1], 1.8), (chunks[2], 1.6), (chunks[3], 1.5)]
    bonus = dict(zip([c.id for c in chunks], [0.1, 0.15, 0.45, 0.5], strict=True))
    # c2's sentence lifts it over c0 and c1 (1.6/2 + 0.45 > 2/2 + 0.1); c3 lies past the head.
    assert ranking.rerank_by_sentences(fused, bonus, 3) == [chunks[2], chunks[0], chunks[1], chunks[3]]
    assert ranking.rerank_by_sentences(fused, {}, 3) == chunks  # no bonus: fused order
    assert ranking.rerank_by_sentences([], bonus, 3) == []
