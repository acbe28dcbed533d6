"""Hybrid retrieval on the seeds: filters on both legs, transliterated names, named outlets and dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from service.embeddings import Embedder
from service.lexical import build_lexical_index, tokenize
from service.models import Filters
from service.name_variants import NameVariants
from service.query_analysis import NamedDate, QueryAnalyzer, question_pieces, split_clauses
from service.query_scores import clause_scores
from service.retrieval import Retriever
from service.sentences import split_sentences
from service.settings import RetrievalMode, Settings
from service.store import ChunkStore, build_store
from tests.conftest import make_settings, seed

GHAANI = "What did Ghaani tell Iraqi leaders about Israeli strikes?"
JOINED = (
    "Did the report on Patriot missile batteries to protect coalition forces in Iraq, "
    "while the Shafaq News source described the fallout from US airstrikes on Yemen's Houthis?"
)


def retriever_for(
    seeded: tuple[Settings, ChunkStore],
    embedder: Embedder,
    mode: RetrievalMode = "hybrid",
    **extra: object,
) -> Retriever:
    settings, store = seeded
    retrieval = settings.retrieval.model_copy(update={"mode": mode, **extra})
    return Retriever(store, embedder, build_lexical_index(settings, store), retrieval)


def seed_numbers(
    retriever: Retriever, query: str, top_k: int = 5, filters: Filters | None = None
) -> list[str]:
    return [p.chunk.article.origin[:3] for p in retriever.search(query, top_k, filters)]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_source_filter_applies_to_every_leg(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder, mode: RetrievalMode
) -> None:
    retriever = retriever_for(seeded, embedder, mode)
    results = retriever.search("Quds Force commander visits Iraq", 10, Filters(sources=("shafaq news",)))
    assert results
    assert {p.chunk.article.source for p in results} == {"Shafaq News"}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_date_filter_applies_to_every_leg_and_drops_undated_articles(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder, mode: RetrievalMode
) -> None:
    retriever = retriever_for(seeded, embedder, mode)
    window = Filters(published_after=date(2025, 1, 1), published_before=date(2025, 12, 31))
    results = retriever.search("Quds Force commander Soleimani", 10, window)
    assert {p.chunk.article.origin[:3] for p in results} == {"000", "001"}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_filter_matching_nothing_returns_an_empty_list(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder, mode: RetrievalMode
) -> None:
    retriever = retriever_for(seeded, embedder, mode)
    assert retriever.search("Quds Force", 5, Filters(sources=("No Such Outlet",))) == []
    assert retriever.search("Quds Force", 5, Filters(article_ids=("missing",))) == []


def test_article_id_filter_keeps_only_that_article(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    _, store = seeded
    wanted = next(s.meta.id for s in store.articles().values() if s.meta.origin.startswith("003"))
    results = retriever_for(seeded, embedder).search("Quds Force", 5, Filters(article_ids=(wanted,)))
    assert results and {p.chunk.article.id for p in results} == {wanted}


def test_one_spelling_of_a_name_finds_articles_written_with_another(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    # Seed 001 spells the commander "Qaani"; only 002 writes "Ghaani".
    with_variants = retriever_for(seeded, embedder, "lexical")
    without = retriever_for(seeded, embedder, "lexical", name_variants=False)
    lexical_hits = seed_numbers(with_variants, "Ghaani", 10)
    assert "001" in lexical_hits and "000" in lexical_hits
    assert "001" not in seed_numbers(without, "Ghaani", 10)
    assert "001" in seed_numbers(retriever_for(seeded, embedder), GHAANI, 5)


def test_name_variants_are_learned_from_spellings_not_listed() -> None:
    names = NameVariants(
        ["Qaani", "Ghaani", "Qa'ani", "Soleimani", "Suleimani", "Israel", "Israeli", "Baghdad"]
    )
    assert names.variants("Ghaani") == ["qaani"]
    assert names.variants("Qa'ani") == ["ghaani"]
    assert names.variants("Suleimani") == ["soleimani"]
    assert names.variants("Israeli") == []  # morphology, not transliteration
    assert names.variants("Baghdad") == []


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_a_deeper_search_extends_the_shallower_one(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder, mode: RetrievalMode
) -> None:
    # `make eval` ranks articles from a deeper search of the same ranking as the top 10.
    retriever = retriever_for(seeded, embedder, mode)
    for query in (JOINED, GHAANI, "What did The National report about the Quds Force commander?"):
        shallow = [p.chunk.id for p in retriever.search(query, 4)]
        deep = [p.chunk.id for p in retriever.search(query, 40)]
        assert len(deep) > len(shallow) == 4
        assert deep[:4] == shallow


@pytest.mark.parametrize(
    "question",
    [
        "Who succeeded Soleimani as Quds Force commander?",
        "Who took over the Quds Force after Soleimani was killed?",
    ],
)
def test_paraphrased_successor_questions_rank_seed_002_first(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder, question: str
) -> None:
    assert seed_numbers(retriever_for(seeded, embedder), question)[0] == "002"


def test_named_outlet_brings_its_passages_to_the_top(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    retriever = retriever_for(seeded, embedder)
    assert [o.sources for o in retriever.analyze("What did Shafaq News say about the visit?").outlets] == [
        ("Shafaq News",)
    ]
    assert seed_numbers(retriever, "What did The National report about the Quds Force commander?")[0] == "000"


def test_analyzer_recognises_indexed_outlets_authors_and_dates_only() -> None:
    analyzer = QueryAnalyzer(
        sources=[
            "The Verge",
            "TechCrunch",
            "The Independent - Sports",
            "The Independent - Travel",
            "The Age",
        ],
        authors=["Devin Coldewey", "None"],
        days=[date(2023, 10, 5), date(2023, 11, 20)],
    )
    found = analyzer.analyze(
        "Did the TechCrunch report from October 5, 2023 and the Verge article by Devin Coldewey agree?"
    )
    assert [o.sources for o in found.outlets] == [("TechCrunch",), ("The Verge",)]
    assert found.authors == ["Devin Coldewey"]
    assert found.dates == [NamedDate(date(2023, 10, 5))]
    assert [o.sources for o in analyzer.analyze("What did The Independent say?").outlets] == [
        ("The Independent - Sports", "The Independent - Travel")
    ]
    assert analyzer.analyze("How has the age of AI changed work?").is_empty
    assert analyzer.analyze("Reports from Wired on 1 January 2020").is_empty  # neither is in the index
    before = analyzer.analyze("Before November 21, 2023, did The Age report on it?").dates
    assert before == [NamedDate(date(2023, 11, 21), "before")]


def test_hybrid_search_reads_which_sentence_holds_most_of_a_piece_of_the_question(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    # With the term share dominant (and no outlet leading), the first passage is the one of the head
    # whose single sentence holds the largest idf-weighted share of one piece of the question.
    settings, store = seeded
    plain = retriever_for(seeded, embedder, sentence_weight=0.0, sentence_term_weight=0.0, source_margin=2.0)
    head = [p.chunk for p in plain.search(JOINED, settings.retrieval.sentence_depth)]
    snapshot = build_lexical_index(settings, store).current()
    pieces = question_pieces(JOINED, split_clauses(JOINED))
    weights = [{t: snapshot.idf(t) for t in set(tokenize(piece))} for piece in pieces]
    positions = [snapshot.position(c.id) for c in head]
    shares = dict(
        zip([c.id for c in head], snapshot.sentence_terms.coverage(positions, weights), strict=True)
    )
    best = max(shares.values())
    heavy = retriever_for(
        seeded, embedder, sentence_weight=0.0, sentence_term_weight=100.0, source_margin=2.0
    )
    assert shares[heavy.search(JOINED, 1)[0].chunk.id] == best
    assert [p.chunk.id for p in heavy.search(JOINED, 10)] != [c.id for c in head[:10]]  # it did re-sort


def test_answers_re_sort_each_named_outlet_s_own_ranking_by_sentence_terms(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    # Its merged order puts the Shafaq News article's first passage first; one sentence of the
    # second states "new Iraqi armed factions … vowing jihad to defend Iraq and Yemen".
    question = (
        "According to Shafaq News, did Qaani's visit to Baghdad come as new Iraqi armed factions "
        "vowed jihad to defend Iraq and Yemen?"
    )
    heavy = retriever_for(seeded, embedder, sentence_term_weight=100.0)
    plain = heavy.retrieve(question, 10, resort=False).outlets
    resorted = heavy.retrieve(question, 10, resort=False, resort_outlets=True).outlets
    assert [r.outlet.sources for r in resorted] == [r.outlet.sources for r in plain] == [("Shafaq News",)]
    before, after = plain[0].scored, resorted[0].scored
    assert sorted(c.id for c, _ in after) == sorted(c.id for c, _ in before)  # the same passages
    assert [score for _, score in after] == sorted((score for _, score in after), reverse=True)
    assert [c.index for c, _ in before] == [0, 1]
    assert [c.index for c, _ in after] == [1, 0]  # the passage stating the question's words moved up
    snapshot = build_lexical_index(*seeded).current()
    pieces = question_pieces(question, [])
    weights = [{t: snapshot.idf(t) for t in set(tokenize(piece))} for piece in pieces]
    shares = snapshot.sentence_terms.coverage([snapshot.position(c.id) or 0 for c, _ in before], weights)
    assert shares[[c for c, _ in before].index(after[0][0])] == max(shares)


def test_answers_re_sort_each_named_outlet_s_own_ranking_by_the_question_s_vector_too(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    # With the cosine dominant (terms off), the outlet's first passage is the one holding the
    # sentence closest to the whole question, as the real encoder measures it: here the article's
    # first passage ("Iran's Quds Force Commander Esmail Qaani made an unannounced visit to Baghdad
    # …"), merged second after the one whose words the question repeats ("Hegseth also urged
    # al-Sudani to accelerate efforts to disarm and dismantle these factions"). The closest sentences
    # differ by 0.05 in cosine (int8; 0.07 in fp32), well beyond int8's noise.
    question = (
        "Did Shafaq News say Qaani visited Baghdad while the US urged al-Sudani to accelerate efforts "
        "to disarm and dismantle the factions?"
    )
    by_cosine = retriever_for(seeded, embedder, sentence_weight=100.0, sentence_term_weight=0.0)
    resorted = by_cosine.retrieve(question, 10, resort=False, resort_outlets=True).outlets[0].scored
    passages = [c for c, _ in by_cosine.retrieve(question, 10, resort=False).outlets[0].scored]
    closest = [
        float((embedder.embed(split_sentences(c.text)) @ embedder.embed([question])[0]).max())
        for c in passages
    ]
    assert [c.index for c in passages] == [1, 0]
    assert resorted[0][0] == passages[int(np.argmax(closest))] == passages[1]
    off = retriever_for(seeded, embedder, sentence_weight=0.0, sentence_term_weight=0.0)
    unsorted = off.retrieve(question, 10, resort=False, resort_outlets=True).outlets[0].scored
    assert [c for c, _ in unsorted] == passages  # both weights 0: the outlet's ranking as merged


def test_a_search_naming_an_outlet_starts_with_its_best_passage(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    retriever = retriever_for(seeded, embedder)
    question = "What did Shafaq News report about the Iraqi factions and the truce?"
    found = retriever.retrieve(question, 5)
    assert [r.outlet.sources for r in found.outlets] == [("Shafaq News",)]
    assert found.passages[0].chunk == found.outlets[0].scored[0][0]


def test_each_clause_of_a_joined_question_brings_its_best_passage(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    settings, store = seeded
    snapshot = build_lexical_index(settings, store).current()
    clauses = split_clauses(JOINED)
    assert len(clauses) == 2
    best = clause_scores(snapshot, clauses, Filters())
    assert best is not None and float(best.max()) == 1.0
    # Each clause's own best passage scores 1: the clause about missiles finds seed 003,
    # the one about the Houthi strikes finds seed 001.
    tops = {
        snapshot.chunks[int(np.argmax(snapshot.scores(c, Filters())))].article.origin[:3] for c in clauses
    }
    assert tops == {"003", "001"}
    for clause in clauses:
        position = int(np.argmax(snapshot.scores(clause, Filters())))
        assert best[position] == 1.0
    assert clause_scores(snapshot, clauses[:1], Filters()) is None  # one clause: nothing to add
    assert clause_scores(snapshot, clauses, Filters(sources=("The National",))) is not None
    hybrid = seed_numbers(retriever_for(seeded, embedder), JOINED, 3)
    assert {"003", "001"} <= set(hybrid)


def test_hybrid_search_reads_each_passages_best_sentence_for_a_clause(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    # With the sentence weight dominant (and no outlet leading), the first passage holds the
    # sentence closest to one clause of the question, as the real encoder measures it here.
    retriever = retriever_for(
        seeded, embedder, sentence_weight=100.0, sentence_term_weight=0.0, source_margin=2.0
    )
    clauses = split_clauses(JOINED)
    passages = retriever_for(
        seeded, embedder, sentence_weight=0.0, sentence_term_weight=0.0, source_margin=2.0
    ).search(JOINED, 30)
    sentences = sorted({s for p in passages for s in split_sentences(p.chunk.text)})
    similarity = embedder.embed(sentences) @ embedder.embed(clauses).T
    closest = sentences[int(np.argmax(similarity.max(axis=1)))]
    assert closest in retriever.search(JOINED, 1)[0].chunk.text
    assert seed_numbers(retriever_for(seeded, embedder), JOINED, 3)[0] in {"001", "003"}


def test_an_index_without_sentence_vectors_leaves_the_sentence_cosine_out(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings, store = seed(make_settings(tmp_path / "data"), embedder)
    moderate = retriever_for((settings, store), embedder, sentence_weight=0.75)
    heavy = retriever_for((settings, store), embedder, sentence_weight=100.0)

    def ranked(retriever: Retriever, query: str) -> list[str]:
        return [p.chunk.id for p in retriever.search(query, 10)]

    assert ranked(moderate, JOINED) != ranked(heavy, JOINED)  # with stored vectors the weight matters
    store.sentence_vectors.delete(store.ids())  # as an index written before they were stored
    reopened = build_store(settings)  # a process that has read no sentence vectors yet
    fresh = retriever_for((settings, reopened), embedder, sentence_weight=0.75)
    fresh_heavy = retriever_for((settings, reopened), embedder, sentence_weight=100.0)
    for query in (JOINED, GHAANI):
        assert ranked(fresh_heavy, query) == ranked(fresh, query)  # any cosine weight: the same order


def test_answers_can_ask_for_the_merged_order_without_the_sentence_re_sort(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    heavy = retriever_for(seeded, embedder, sentence_weight=100.0, source_margin=2.0)
    plain = retriever_for(seeded, embedder, sentence_weight=0.0, sentence_term_weight=0.0, source_margin=2.0)
    merged = [p.chunk.id for p in heavy.retrieve(JOINED, 10, resort=False).passages]
    assert merged == [p.chunk.id for p in plain.search(JOINED, 10)]  # weights 0: no re-sort either
    assert merged != [p.chunk.id for p in heavy.search(JOINED, 10)]  # the re-sort does move passages here
