"""Readers see an article whole or not at all: half-written and half-replaced states stay hidden.

Each state is built the way a killed or still-running ingest leaves it (chunks written with the
pipeline's own chunker and metadata, pointer not yet switched), on embedded Chroma and on a server.
"""

from __future__ import annotations

from pathlib import Path

from service.catalog import Catalog
from service.chunk_metadata import chunk_metadata
from service.embeddings import Embedder
from service.ingestion.chunking import chunk_article
from service.ingestion.cleaning import clean_document
from service.ingestion.readers import RawDocument, iter_documents
from service.lexical import build_lexical_index
from service.live_versions import LIVE_SUFFIX, version_of_chunk, version_of_hash
from service.models import Article, Filters, indexed_text
from service.retrieval import Retriever
from service.settings import Settings
from service.store import ChunkStore, build_store
from tests.conftest import pipeline_for, seed

BODY = " ".join(
    f"Paragraph {i}: the Marlow tidal barrier project reported {i * 7} new sluice gates installed "
    f"by the harbour authority, with engineers from Tarrant Works inspecting section {i}."
    for i in range(60)
)


def marlow(tmp_path: Path, body: str = BODY) -> Article:
    """A long article (several chunks) as the pipeline would clean it."""
    path = tmp_path / "marlow.txt"
    path.write_text(f"Marlow barrier nears completion\n\n{body}\n", encoding="utf-8")
    (raw,) = iter_documents([path])
    assert isinstance(raw, RawDocument)
    cleaned = clean_document(raw)
    assert isinstance(cleaned, Article)
    return cleaned


def write_unpublished(
    store: ChunkStore, embedder: Embedder, settings: Settings, article: Article, upto: int
) -> int:
    """Write the article's first `upto` chunks without publishing them, as an interrupted ingest does."""
    chunks = chunk_article(article, settings.chunk_size, settings.chunk_overlap)
    written = chunks[:upto]
    vectors = embedder.embed([indexed_text(c) for c in written])
    metadatas = [chunk_metadata(c, article.content_hash, len(chunks), article.source_file) for c in written]
    store.upsert(written, vectors, [c.text for c in written], metadatas)
    return len(chunks)


def visible_ids(store: ChunkStore, embedder: Embedder, settings: Settings, query: str) -> list[str]:
    """Chunk ids a reader finds for the query through hybrid retrieval."""
    retriever = Retriever(store, embedder, build_lexical_index(settings, store), settings.retrieval)
    return [p.chunk.id for p in retriever.search(query, 20, Filters())]


def test_a_half_written_article_is_invisible_until_the_next_run_completes_it(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    store = build_store(settings)
    article = marlow(tmp_path)
    total = write_unpublished(store, embedder, settings, article, upto=2)
    assert total > 3 and store.count() == 2

    assert visible_ids(store, embedder, settings, "Marlow tidal barrier sluice gates") == []
    assert store.articles(visible_only=True) == {}
    assert store.chunks_of(article.meta.id) == []
    assert Catalog(store, ttl=0).outlets() == frozenset()

    report = pipeline_for(store, embedder, settings).run([tmp_path / "marlow.txt"])
    assert report.changed == [article.meta.id]
    found = store.articles(visible_only=True)[article.meta.id]
    assert found.complete and found.chunk_count == total
    assert [c.index for c in store.chunks_of(article.meta.id)] == list(range(total))
    hits = visible_ids(store, embedder, settings, "Marlow tidal barrier sluice gates")
    assert hits and all(h.startswith(article.meta.id) for h in hits)


def test_a_replacement_shows_the_old_version_until_the_switch_and_never_both(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    store = build_store(settings)
    old = marlow(tmp_path)
    pipeline_for(store, embedder, settings).run([tmp_path / "marlow.txt"])
    old_version = version_of_hash(old.content_hash)
    new = marlow(tmp_path, BODY.replace("Tarrant Works", "Quillon Engineering"))
    assert new.meta.id == old.meta.id and new.content_hash != old.content_hash
    total = write_unpublished(store, embedder, settings, new, upto=10_000)

    stored_versions = {version_of_chunk(cid) for cid in store.ids()}
    assert stored_versions == {old_version, version_of_hash(new.content_hash)}  # both on disk
    for query in ("Tarrant Works engineers inspecting", "Quillon Engineering engineers inspecting"):
        assert {version_of_chunk(c) for c in visible_ids(store, embedder, settings, query)} == {old_version}
    assert {version_of_chunk(c.id) for c in store.chunks_of(old.meta.id)} == {old_version}

    store.publish({new.meta.id: new.content_hash})  # the switch; the old chunks are still stored
    new_version = version_of_hash(new.content_hash)
    assert {version_of_chunk(c.id) for c in store.chunks_of(new.meta.id)} == {new_version}
    assert len(store.chunks_of(new.meta.id)) == total
    for query in ("Tarrant Works engineers inspecting", "Quillon Engineering engineers inspecting"):
        assert {version_of_chunk(c) for c in visible_ids(store, embedder, settings, query)} == {new_version}


def test_an_index_without_pointers_is_published_when_opened(settings: Settings, embedder: Embedder) -> None:
    _, store = seed(settings, embedder)
    before = sorted(store.articles(visible_only=True))
    store._client.delete_collection(settings.collection + LIVE_SUFFIX)  # an index from before pointers

    reopened = build_store(settings)
    assert sorted(reopened.articles(visible_only=True)) == before and len(before) == 5


def test_deleting_hides_the_article_before_its_chunks_go(settings: Settings, embedder: Embedder) -> None:
    _, store = seed(settings, embedder)
    victim = sorted(store.articles())[0]
    store.delete_articles([victim])
    assert victim not in store.articles(visible_only=True)
    assert victim not in store.articles()
    assert len(store.articles(visible_only=True)) == 4
