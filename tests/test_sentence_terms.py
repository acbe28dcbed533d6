"""The sentence re-sort's lexical signal: the share of one piece of a question one sentence holds."""

from __future__ import annotations

import pytest

from service.lexical import LexicalSnapshot, make_record, tokenize

TOGETHER = "The weather was mild. Google paid $26 billion to Apple to stay the default search engine."
SCATTERED = (
    "Google testified on Monday. It paid $26 billion in all.\n\nApple got most of it, for its search engine."
)
META = {"title": "Antitrust", "source": "Example News", "article_id": "a1", "chunk_index": 0}


def snapshot_of(*texts: str) -> LexicalSnapshot:
    """A snapshot of the texts as chunks c0, c1, … of one article."""
    return LexicalSnapshot([make_record(f"c{i}", META, text) for i, text in enumerate(texts)], "g1")


def weights(piece: str) -> dict[str, float]:
    """Every term of the piece weighs 1."""
    return {term: 1.0 for term in set(tokenize(piece))}


def test_each_chunk_s_sentences_are_split_and_tokenised_when_indexed() -> None:
    record = make_record("c0", META, SCATTERED)
    assert record.sentences.split("\n") == [
        "googl monday testifi",
        "26 all billion paid",
        "appl engin got most search",
    ]
    assert make_record("c1", META, "").sentences == ""


def test_the_share_is_what_one_sentence_holds_of_one_piece() -> None:
    terms = snapshot_of(TOGETHER, SCATTERED, "").sentence_terms
    # six terms: googl, paid, appl, default, search, engin
    piece = weights("Google paid Apple to be the default search engine")
    together, scattered, empty = terms.coverage([0, 1, 2], [piece])
    assert together == pytest.approx(1.0)  # one sentence holds all six terms
    assert scattered == pytest.approx(3 / 6)  # its best sentence holds appl, search, engin
    assert empty == 0.0
    # the best piece counts: a piece the scattered passage's first sentence states in full
    assert terms.coverage([1, 0], [piece, weights("Google testified Monday")]) == [
        pytest.approx(1.0),
        pytest.approx(1.0),
    ]
    assert terms.coverage([], [piece]) == []
    assert terms.coverage([0], [{}]) == [0.0]  # a piece of stop words only adds nothing


def test_term_weights_decide_the_share() -> None:
    terms = snapshot_of(TOGETHER, SCATTERED).sentence_terms
    # a term no passage holds still counts in the piece's whole weight
    piece = {"googl": 0.1, "weather": 1.0, "unknown": 1.0}
    together, scattered = terms.coverage([0, 1], [piece])
    assert together == pytest.approx(1.0 / 2.1)  # "The weather was mild."
    assert scattered == pytest.approx(0.1 / 2.1)


def test_idf_follows_the_snapshot_s_document_frequencies() -> None:
    snapshot = snapshot_of("Google search deal", "Google ad revenue", "Apple search engine")
    google, apple, unseen = (snapshot.idf(t) for t in ("googl", "appl", "zebra"))
    assert 0 < google < apple < unseen  # in two chunks, in one, in none
