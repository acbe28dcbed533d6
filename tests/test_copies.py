"""Tests for service.copies: wire copies shown once by /search, and listed with /ask's citations."""

from __future__ import annotations

from pathlib import Path

import httpx

from service.copies import copies_of_each, fold_copies, is_copy, shingles
from service.embeddings import Embedder
from service.models import ArticleMeta, Chunk, Passage
from service.settings import Settings
from tests.conftest import REPRINT_SOURCE, LiveServer, extractive_app, seed_with_reprint

WIRE = (
    "Iran's Quds Force Commander Esmail Qaani made an unannounced visit to Baghdad for high-level "
    "discussions with Iraqi political and military leaders, a senior source said. Qaani met with "
    "leaders of the Coordination Framework, commanders of armed factions and Iran's ambassador to Iraq. "
    "Talks focused on Iraq's neutrality in regional conflicts and the need to keep security control "
    "under state authority. The meeting also addressed the fallout from recent US airstrikes on "
    "Yemen's Houthis and broader regional developments. According to the source, Qaani conveyed "
    "Tehran's concerns about the possibility of Israeli strikes on Iraqi territory and urged restraint."
)
# The same agency story as another outlet ran it: its own opening line, one word edited.
REPRINT = "Baghdad (Wire) - " + WIRE.replace("a senior source said", "a senior source told the agency")
# The same event in another reporter's words.
RETOLD = (
    "The commander of Iran's Quds Force, Esmail Qaani, flew into Baghdad without notice and held talks "
    "with Iraqi politicians, militia leaders and Tehran's envoy about keeping Iraq out of regional wars."
)


def passage(article: str, text: str, score: float = 0.5) -> Passage:
    meta = ArticleMeta(id=article, title=article, source=article)
    return Passage(Chunk(f"{article}-0", meta, 0, text), score)


def test_a_reprint_with_its_own_opening_is_a_copy_and_a_retelling_is_not() -> None:
    assert is_copy(shingles(REPRINT), shingles(WIRE)) and is_copy(shingles(WIRE), shingles(REPRINT))
    assert not is_copy(shingles(RETOLD), shingles(WIRE))
    assert shingles("Too short to hold eight words.") == frozenset()
    assert not is_copy(frozenset(), shingles(WIRE))


def test_a_passage_holding_the_result_and_more_besides_is_not_its_copy() -> None:
    longer = f"{WIRE} {RETOLD} {RETOLD.replace('Baghdad', 'Basra')}"
    assert is_copy(shingles(WIRE), shingles(longer))
    assert not is_copy(shingles(longer), shingles(WIRE))


def test_copies_fold_into_the_first_result_and_the_next_passages_fill_the_list() -> None:
    found = [
        passage("agency", WIRE, 0.9),
        passage("daily", RETOLD, 0.8),
        passage("herald", REPRINT, 0.7),
        passage("agency", REPRINT, 0.6),  # the same article again: never folded into itself
        passage("gazette", "A different story about the weather in Basra, with rain due on Friday.", 0.5),
    ]
    groups = fold_copies(found, limit=3)
    assert [g.passage.chunk.article.id for g in groups] == ["agency", "daily", "agency"]
    assert [c.chunk.article.id for c in groups[0].copies] == ["herald"]
    assert groups[1].copies == [] and groups[2].copies == []
    assert len(fold_copies(found, limit=1)) == 1


def test_each_cited_passage_gets_the_other_articles_that_carry_it_once_each() -> None:
    cited = [passage("agency", WIRE), passage("daily", RETOLD)]
    pool = [
        passage("agency", REPRINT),  # its own article: not a copy of itself
        passage("herald", REPRINT),
        passage("herald", WIRE),  # the herald again: listed once
        passage("gazette", WIRE),
        passage("daily", RETOLD),
    ]
    found = copies_of_each(cited, pool)
    assert [[p.chunk.article.id for p in f] for f in found] == [["herald", "gazette"], []]
    assert copies_of_each([], pool) == []


def test_search_lists_a_wire_copy_once_and_the_answer_cites_it_with_the_reprinting_outlet(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """Over HTTP, in both Chroma modes: seed 001 (Shafaq News) reprinted word for word by Gulf Wire."""
    store = seed_with_reprint(tmp_path / "articles", settings, embedder)
    query = {"query": "What did Ghaani tell Iraqi leaders about Israeli strikes?", "top_k": 4}
    question = {"question": query["query"]}
    with LiveServer(extractive_app(settings, store, embedder)) as server:
        results = httpx.post(f"{server.url}/search", json=query, timeout=60).json()["results"]
        answer = httpx.post(f"{server.url}/ask", json=question, timeout=60).json()
    assert len(results) == 4 and [r["rank"] for r in results] == [1, 2, 3, 4]
    copied = [r for r in results if r["also_in"]]
    assert copied, results
    for result in copied:
        pair = {result["article"]["source"]} | {c["article"]["source"] for c in result["also_in"]}
        assert pair == {"Shafaq News", REPRINT_SOURCE}
        assert {c["chunk_id"] for c in result["also_in"]}.isdisjoint(r["chunk_id"] for r in results)
    texts = [" ".join(r["text"].split()[5:40]) for r in results]
    assert len(set(texts)) == len(texts), "a copy is listed as a result of its own"
    # the answer's citation of the story lists the other outlet that carried the same passage
    story = [c for c in answer["citations"] if c["article"]["source"] in {"Shafaq News", REPRINT_SOURCE}]
    assert story, answer
    for citation in story:
        pair = {citation["article"]["source"]} | {c["article"]["source"] for c in citation["also_in"]}
        assert pair == {"Shafaq News", REPRINT_SOURCE}, citation
