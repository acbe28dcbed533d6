"""Answers focused on what the question names: the confident named outlets' best articles, else the
article leading the results; a sentence per named outlet.

Real parts throughout: the seeded Chroma, the real retriever and its query analysis, the MiniLM
embedder. Passages are re-scored by hand where a test needs a given relevance per article.
"""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest

from service.answering import AnswerService
from service.api.parts import Parts, build_parts
from service.citations import CitationVerifier, is_fragment
from service.embeddings import Embedder
from service.extractive import ExtractiveGenerator, named_outlet_groups
from service.models import Filters, Passage
from service.query_analysis import NamedOutlet
from service.ranking import OutletRanking, confident_outlets
from service.retrieval import OutletArticle, Retrieval
from service.settings import Settings
from service.store import ChunkStore
from service.streaming import Delta, Final, Sources, stream_answer
from tests.conftest import LiveServer, extractive_app

QAANI = "Why did Esmail Qaani visit Baghdad?"
TWO_OUTLETS = "What did The National and Shafaq News report about Esmail Qaani's visit to Baghdad?"


@pytest.fixture(scope="module")
def parts(seeded: tuple[Settings, ChunkStore], embedder: Embedder) -> Parts:
    settings, store = seeded
    return build_parts(settings, store=store, embedder=embedder)


@pytest.fixture(scope="module")
def pool(parts: Parts) -> list[Passage]:
    """Every chunk of the seeds, as retrieved for the Qaani question."""
    return parts.retriever.search(QAANI, 100)


def sources(passages: list[Passage]) -> set[str]:
    return {p.chunk.article.source for p in passages}


def stray_of(passage: Passage, score: float) -> Passage:
    """A second article of the passage's outlet: the same chunk under another article id."""
    article = replace(passage.chunk.article, id="stray-article")
    return Passage(replace(passage.chunk, id="stray", article=article), score)


def ranking_of(outlet: str, scored: list[tuple[Passage, float]]) -> OutletRanking:
    """A search within one outlet giving the passages' chunks these fused scores."""
    return OutletRanking(NamedOutlet(outlet, (outlet,)), [(p.chunk, score) for p, score in scored])


def first_of(pool: list[Passage], outlet: str) -> Passage:
    return next(p for p in pool if p.chunk.article.source == outlet)


def test_a_named_outlets_search_ranks_only_its_articles(parts: Parts) -> None:
    found = parts.retriever.retrieve(TWO_OUTLETS, 5)
    assert [r.outlet.sources for r in found.outlets] == [("The National",), ("Shafaq News",)]
    for ranking in found.outlets:
        assert ranking.scored and {c.article.source for c, _ in ranking.scored} == set(ranking.outlet.sources)
        scores = [score for _, score in ranking.scored]
        assert scores == sorted(scores, reverse=True)
    assert [p.chunk.id for p in found.passages] == [
        p.chunk.id for p in parts.retriever.search(TWO_OUTLETS, 5)
    ]
    assert parts.retriever.retrieve(QAANI, 5).outlets == []


def test_the_margin_is_the_best_articles_lead_over_the_next(pool: list[Passage]) -> None:
    national = first_of(pool, "The National")
    stray = stray_of(national, 0.0)
    assert ranking_of("The National", [(national, 2.0), (national, 1.5), (stray, 1.5)]).margin == 0.25
    assert ranking_of("The National", [(stray, 1.0), (national, 0.95)]).articles == [
        ("stray-article", 1.0),
        (national.chunk.article.id, 0.95),
    ]
    assert ranking_of("The National", [(national, 1.0)]).margin == 1.0  # alone: nothing to confuse it with
    assert ranking_of("The National", []).margin == 0.0


def test_a_question_naming_an_outlet_is_answered_from_that_outlets_articles(
    parts: Parts, pool: list[Passage]
) -> None:
    question = "What did The National report about Esmail Qaani's visit to Iraq?"
    focused = parts.answers.relevant_passages(question, 5, None)
    assert focused and sources(focused) == {"The National"}
    assert len(sources(pool)) > 1  # the others were dropped


def test_each_named_outlet_keeps_its_article_and_the_passages_alternate(parts: Parts) -> None:
    focused = parts.answers.relevant_passages(TWO_OUTLETS, 4, None)
    assert sources(focused) == {"The National", "Shafaq News"}
    assert len(focused) == 4
    assert focused[0].chunk.article.source != focused[1].chunk.article.source


def test_a_confident_outlets_article_comes_whole_from_its_own_search(parts: Parts) -> None:
    found = parts.retriever.retrieve(TWO_OUTLETS, 2)  # fewer passages than either article holds
    # In the seeds each named outlet has one article: nothing to confuse it with, so confident.
    assert [sources(a.passages) for a in found.confident] == [{"The National"}, {"Shafaq News"}]
    assert [a.outlet for a in found.confident] == [r.outlet for r in found.outlets]
    cosine = {p.chunk.id: p.score for p in parts.retriever.search(TWO_OUTLETS, 100)}
    for article, ranking in zip(found.confident, found.outlets, strict=True):
        assert [p.chunk.id for p in article.passages] == [c.id for c, _ in ranking.scored]  # outlet's order
        assert all(p.score == pytest.approx(cosine[p.chunk.id]) for p in article.passages)
    only = parts.retriever.retrieve(TWO_OUTLETS, 5, Filters(sources=("Shafaq News",)))
    assert [sources(a.passages) for a in only.confident] == [{"Shafaq News"}]  # filters hold


def test_answers_get_the_article_search_leads_with(parts: Parts) -> None:
    found = parts.retriever.retrieve(TWO_OUTLETS, 5, resort=False, resort_outlets=True)
    searched = parts.retriever.search(TWO_OUTLETS, 100)
    lead = searched[0].chunk.article.id
    assert found.leader and {p.chunk.article.id for p in found.leader} == {lead}
    # the article's passages, each scored by its cosine to the question, in the re-sorted order
    assert [p.chunk.id for p in found.leader] == [p.chunk.id for p in searched if p.chunk.article.id == lead]
    cosine = {p.chunk.id: p.score for p in searched}
    assert all(p.score == pytest.approx(cosine[p.chunk.id]) for p in found.leader)
    # only answers ask for it, and only for a question naming an outlet
    assert parts.retriever.retrieve(TWO_OUTLETS, 5).leader == []
    assert parts.retriever.retrieve(QAANI, 5, resort=False, resort_outlets=True).leader == []


def test_only_outlets_whose_best_article_clearly_leads_are_confident(pool: list[Passage]) -> None:
    national, shafaq = first_of(pool, "The National"), first_of(pool, "Shafaq News")
    ambiguous = ranking_of("The National", [(national, 1.0), (stray_of(national, 0.0), 0.97)])
    leading = ranking_of("The National", [(national, 1.0), (stray_of(national, 0.0), 0.8)])
    alone = ranking_of("Shafaq News", [(shafaq, 1.0)])
    assert confident_outlets([ambiguous, leading, alone], 0.1) == [alone, leading]  # most confident first
    assert confident_outlets([ambiguous, leading, alone], 2.0) == []


def test_confident_outlets_articles_are_answered_from_and_the_others_left_out(
    parts: Parts, pool: list[Passage]
) -> None:
    national, shafaq = first_of(pool, "The National"), first_of(pool, "Shafaq News")
    ambiguous = ranking_of("The National", [(national, 1.0), (stray_of(national, 0.0), 0.97)])
    alone = ranking_of("Shafaq News", [(shafaq, 1.0)])
    shafaq_article = [p for p in pool if p.chunk.article.source == "Shafaq News"]
    found = Retrieval(pool, [ambiguous, alone], [OutletArticle(alone.outlet, shafaq_article)])
    focused, left_out = parts.answers.focus(found, 5)
    assert [p.chunk.id for p in focused] == [p.chunk.id for p in shafaq_article][:5]
    assert left_out == ["The National"]


def test_when_no_outlet_is_confident_the_leading_article_answers_and_the_others_are_left_out(
    parts: Parts, pool: list[Passage]
) -> None:
    national, shafaq = first_of(pool, "The National"), first_of(pool, "Shafaq News")
    ambiguous = ranking_of("The National", [(national, 1.0), (stray_of(national, 0.0), 0.97)])
    close = ranking_of("Shafaq News", [(shafaq, 1.0), (stray_of(shafaq, 0.0), 0.9)])
    leader = [p for p in pool if p.chunk.article.id == national.chunk.article.id]
    shafaq_article = [p for p in pool if p.chunk.article.source == "Shafaq News"]
    # Shafaq News leads its next article by 0.1: confident for /search, not enough for an answer.
    assert pytest.approx(0.1) == close.margin < Settings.model_fields["answer_source_margin"].default
    barely = OutletArticle(close.outlet, shafaq_article, close.margin)
    assert parts.answers.focus(Retrieval(pool, [ambiguous, close], [barely], leader), 5) == (
        leader[:5],
        ["Shafaq News"],
    )
    # The leading article may be one of no named outlet: then every named outlet is left out.
    other = [p for p in pool if p.chunk.article.source not in ("The National", "Shafaq News")]
    off = [p for p in other if p.chunk.article.id == other[0].chunk.article.id]
    assert parts.answers.focus(Retrieval(pool, [ambiguous, close], [], off), 5) == (
        off[:5],
        ["The National", "Shafaq News"],
    )
    # Nothing relevant in it: no focus, the answer falls back to the relevant passages.
    faint = [Passage(p.chunk, 0.0) for p in leader]
    assert parts.answers.focus(Retrieval(pool, [ambiguous, close], [], faint), 5) == ([], [])


def test_without_a_named_outlet_the_answer_uses_the_merged_order(parts: Parts) -> None:
    found = parts.retriever.retrieve(QAANI, 5, resort=False)  # answers skip /search's sentence re-sort
    assert (found.outlets, found.confident) == ([], [])
    assert parts.answers.focus(found, 5) == ([], [])
    relevant = parts.answers.relevant_passages(QAANI, 5, None)
    assert [p.chunk.id for p in relevant] == [p.chunk.id for p in found.passages][: len(relevant)]


def test_named_outlets_are_found_among_the_passages_sources(pool: list[Passage]) -> None:
    groups = named_outlet_groups(TWO_OUTLETS, pool)
    assert [sources([pool[n - 1] for n in group]) for group in groups] == [{"The National"}, {"Shafaq News"}]
    assert named_outlet_groups("what did the national press say?", pool) == []


def test_the_extractive_answer_speaks_for_every_named_outlet_first(
    embedder: Embedder, pool: list[Passage]
) -> None:
    generator = ExtractiveGenerator(
        embedder, max_sentences=3, min_similarity=0.0, margin=2.0, max_candidates=24
    )
    picked = generator.select(TWO_OUTLETS, pool)
    first_two = {pool[c.passage_number - 1].chunk.article.source for c in picked[:2]}
    assert first_two == {"The National", "Shafaq News"}


def test_without_embedding_the_answer_still_speaks_for_every_named_outlet_first(
    embedder: Embedder, pool: list[Passage]
) -> None:
    generator = ExtractiveGenerator(
        embedder, max_sentences=3, min_similarity=0.0, margin=2.0, max_candidates=0
    )
    picked = generator.select(TWO_OUTLETS, pool)
    first_two = {pool[c.passage_number - 1].chunk.article.source for c in picked[:2]}
    assert first_two == {"The National", "Shafaq News"} and len(picked) == 3
    assert len({c.text for c in picked}) == 3


def test_sentences_far_below_the_best_are_not_added(embedder: Embedder, pool: list[Passage]) -> None:
    def select(margin: float) -> list[object]:
        generator = ExtractiveGenerator(
            embedder, max_sentences=4, min_similarity=0.0, margin=margin, max_candidates=24
        )
        return list(generator.select(QAANI, pool))

    wide, narrow = select(2.0), select(0.0)
    assert len(wide) == 4 and len(narrow) == 1
    assert narrow[0] == wide[0]


def test_every_extractive_sentence_has_three_content_words(embedder: Embedder, pool: list[Passage]) -> None:
    generator = ExtractiveGenerator(embedder, max_sentences=4, min_similarity=0.0, max_candidates=5)
    candidates = generator.candidates(QAANI, pool)
    assert candidates and not any(is_fragment(c.text) for c in candidates)
    assert len(candidates) == 5  # capped: only the sentences sharing most question words are embedded
    assert all(c.overlap > 0 for c in candidates)


def test_a_one_word_fragment_fails_the_check_though_the_passage_contains_it(
    embedder: Embedder, pool: list[Passage]
) -> None:
    number = next(i for i, p in enumerate(pool, start=1) if "Iran" in p.chunk.text)
    checked = CitationVerifier(embedder).check(f"Iran [{number}].", pool)
    assert [(c.supported, c.passages, c.removed) for c in checked] == [(False, (), (number,))]


def test_a_streamed_extractive_answer_is_the_checked_answer(parts: Parts) -> None:
    assert isinstance(parts.answers.generator, ExtractiveGenerator)
    events = list(stream_answer(parts.answers, QAANI, 5))
    assert isinstance(events[0], Sources) and isinstance(events[-1], Final)
    streamed = "".join(e.text for e in events if isinstance(e, Delta))
    final = events[-1].answer
    assert not final.insufficient and streamed == final.text
    assert final.text == parts.answers.ask(QAANI, 5).text


def test_ask_equals_prepare_then_answer(parts: Parts) -> None:
    answers: AnswerService = parts.answers
    prepared = answers.prepare(TWO_OUTLETS, 5)
    assert answers.answer(TWO_OUTLETS, prepared).text == answers.ask(TWO_OUTLETS, 5).text


def test_an_outlet_whose_articles_cannot_be_told_apart_is_reported_left_out(
    national_twice: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    settings, store = national_twice
    parts = build_parts(settings, store=store, embedder=embedder)
    found = parts.retriever.retrieve(TWO_OUTLETS, 5)
    margins = {r.outlet.sources: r.margin for r in found.outlets}
    # The premise: The National's two articles on the visit are too alike to tell apart.
    assert margins[("The National",)] < settings.retrieval.source_margin <= margins[("Shafaq News",)]

    app = extractive_app(settings, store, embedder)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        body = http.post("/ask", json={"question": TWO_OUTLETS}).json()
        streamed = http.post("/ask/stream", json={"question": TWO_OUTLETS}).text
    assert not body["insufficient"] and body["citations"]
    assert body["outlets_left_out"] == ["The National"]
    assert {c["article"]["source"] for c in body["citations"]} == {"Shafaq News"}
    final = json.loads(streamed.split("event: answer\r\ndata: ", 1)[1].split("\r\n", 1)[0])
    assert final["outlets_left_out"] == ["The National"]
    # Named alone, The National is still answered: from the one article leading the results.
    question = "What did The National report about Esmail Qaani's visit to Baghdad?"
    alone = parts.answers.ask(question, 5)
    assert alone.citations and alone.outlets_left_out == []
    leading = parts.retriever.search(question, 1)[0].chunk.article
    assert leading.source == "The National"
    assert {c.passage.chunk.article.id for c in alone.citations} == {leading.id}


def test_answers_take_their_evidence_from_the_merged_order_not_the_sentence_re_sort(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    # /search re-sorts its head by each passage's best sentence; answers choose their articles
    # from the merged order (measured more precise citations on MultiHop-RAG).
    settings, store = seeded
    retrieval = settings.retrieval.model_copy(update={"sentence_weight": 100.0, "source_margin": 2.0})
    parts = build_parts(settings.model_copy(update={"retrieval": retrieval}), store=store, embedder=embedder)
    question = (
        "Did the report on Patriot missile batteries to protect coalition forces in Iraq, "
        "while the Shafaq News source described the fallout from US airstrikes on Yemen's Houthis?"
    )
    depth = settings.evidence_passages
    pool = [p.chunk.id for p in parts.answers.retrieve(question, 5, None).pool]
    merged = [p.chunk.id for p in parts.retriever.retrieve(question, depth, resort=False).passages]
    assert pool == merged
    assert pool != [p.chunk.id for p in parts.retriever.search(question, depth)]


def test_answers_take_a_named_outlet_s_passages_in_its_sentence_term_order(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    # The Shafaq News article is confident (its outlet's only one); its passages reach the answer in
    # the outlet's own ranking re-sorted by sentence terms: the second passage, whose sentence states
    # the question's "new Iraqi armed factions … vowing jihad", before the first.
    settings, store = seeded
    retrieval = settings.retrieval.model_copy(update={"sentence_term_weight": 100.0})
    parts = build_parts(settings.model_copy(update={"retrieval": retrieval}), store=store, embedder=embedder)
    question = (
        "According to Shafaq News, did Qaani's visit to Baghdad come as new Iraqi armed factions "
        "vowed jihad to defend Iraq and Yemen?"
    )
    passages = parts.answers.retrieve(question, 5, None).passages
    assert {p.chunk.article.source for p in passages} == {"Shafaq News"}
    assert [p.chunk.index for p in passages] == [1, 0]
    merged = parts.retriever.retrieve(question, 5, resort=False).confident[0].passages
    assert [p.chunk.index for p in merged] == [0, 1]  # without the outlet's re-sort
