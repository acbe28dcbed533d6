"""The in-memory vectors of a lexical snapshot: exact cosine, and snapshots whose chunks are gone."""

from __future__ import annotations

from pathlib import Path

from service.embeddings import Embedder
from service.lexical import build_lexical_index
from service.models import Filters
from service.vectors import VectorCache
from tests.conftest import make_settings, seed


def test_vectors_score_the_snapshot_and_survive_its_chunks_being_deleted(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings, store = seed(make_settings(tmp_path / "data"), embedder)
    snapshot = build_lexical_index(settings, store).sync()
    query = embedder.embed(["Who succeeded Soleimani as commander of the Quds Force?"])[0]

    held = VectorCache(store).of(snapshot)
    assert held is not None and held.known.all()
    best = held.for_query(query).nearest(3, Filters())
    assert [p.score for p in best] == sorted((p.score for p in best), reverse=True)
    assert best[0].chunk.article.origin.startswith("002")

    # A reader may still hold the old snapshot for a moment after every article was deleted:
    # no vector can be read for it, and it must score nothing rather than fail.
    store.delete_articles(store.articles())
    stale = VectorCache(store).of(snapshot)
    assert stale is not None and not stale.known.any()
    scored = stale.for_query(query)
    assert scored.nearest(3, Filters()) == []
    assert scored.similarities(list(snapshot.chunks)) == {}
