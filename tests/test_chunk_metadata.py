"""Chunk metadata as Chroma holds it (service.chunk_metadata): written flat, read back, filtered."""

from __future__ import annotations

from datetime import date

from service.chunk_metadata import article_meta_from, chunk_metadata, day_number, where_clause
from service.models import ArticleMeta, Chunk, Filters


def test_an_article_s_metadata_survives_the_round_trip_and_holds_no_none() -> None:
    dated = ArticleMeta("a1", "Title", "The National", "Jane Doe", date(2025, 3, 25), "000.txt")
    undated = ArticleMeta("a2", "Untitled", origin="002.txt")
    for meta in (dated, undated):
        stored = chunk_metadata(Chunk("a-0", meta, 3, "text"), "hash", 5, "/seeds/000.txt")
        assert None not in stored.values()  # Chroma refuses None
        assert article_meta_from(stored) == meta
        assert (stored["chunk_index"], stored["n_chunks"], stored["content_hash"]) == (3, 5, "hash")
    assert chunk_metadata(Chunk("a-0", dated, 0, ""), "h", 1, "")["source_key"] == "the national"
    assert day_number(date(2025, 3, 5)) == 20250305 and day_number(None) == 0


def test_filters_become_a_where_clause_and_an_upper_bound_leaves_undated_articles_out() -> None:
    assert where_clause(Filters()) is None
    assert where_clause(Filters(sources=("The National", "the national"))) == {
        "source_key": {"$in": ["the national"]}
    }
    after = where_clause(Filters(published_after=date(2025, 3, 1)))
    assert after == {"published_day": {"$gte": 20250301}}  # undated (0) fall below any lower bound
    before = where_clause(Filters(article_ids=("a1", "a1"), published_before=date(2025, 3, 31)))
    assert before == {
        "$and": [
            {"article_id": {"$in": ["a1"]}},
            {"published_day": {"$lte": 20250331}},
            {"published_day": {"$gt": 0}},
        ]
    }
