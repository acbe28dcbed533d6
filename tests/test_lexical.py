"""The BM25 leg stays in step with ingest (add, change, prune, reset) and is persisted and shared."""

from __future__ import annotations

import json
from pathlib import Path

from service.embeddings import Embedder
from service.ingestion.pipeline import IngestPipeline
from service.lexical import LexicalIndex, build_lexical_index, lexical_path, tokenize
from service.retrieval import Retriever
from service.settings import RetrievalSettings, Settings
from service.store import ChunkStore


def write_articles(path: Path, bodies: dict[str, str]) -> Path:
    """A JSON file of records, one per (url, body)."""
    records = [
        {
            "title": f"Report {i}",
            "source": "Example News",
            "published_at": f"2024-05-0{i + 1}",
            "url": url,
            "body": body,
        }
        for i, (url, body) in enumerate(bodies.items())
    ]
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def lexical_retriever(store: ChunkStore, embedder: Embedder, settings: Settings) -> Retriever:
    """A BM25-only retriever with its own index instance, checking for changes on every query."""
    index = LexicalIndex(store, lexical_path(settings.data_dir, store.collection_name), check_seconds=0)
    return Retriever(store, embedder, index, RetrievalSettings(mode="lexical"))


def origins(retriever: Retriever, query: str) -> set[str]:
    return {p.chunk.article.origin for p in retriever.search(query, 5)}


ZEBRA = "Keepers at the city zoo counted eleven zebras grazing in the new savanna enclosure this spring."
GIRAFFE = "A giraffe calf was born overnight, and the keepers said mother and calf are doing well."
OKAPI = "The zoo unveiled an okapi house, the first of its kind in the region, after years of planning."


def test_bm25_follows_added_changed_pruned_and_reset_articles(
    tmp_path: Path, store: ChunkStore, embedder: Embedder, settings: Settings
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    feed = folder / "feed.json"
    retriever = lexical_retriever(store, embedder, settings)
    pipeline = IngestPipeline(store, embedder, settings)

    pipeline.run([write_articles(feed, {"https://a.example/1": ZEBRA, "https://a.example/2": GIRAFFE})])
    assert origins(retriever, "zebras in the savanna") == {"https://a.example/1"}
    assert origins(retriever, "giraffe calf") == {"https://a.example/2"}

    pipeline.run([write_articles(feed, {"https://a.example/1": OKAPI, "https://a.example/2": GIRAFFE})])
    assert origins(retriever, "zebras in the savanna") == set()
    assert origins(retriever, "okapi house") == {"https://a.example/1"}

    pipeline.run([write_articles(feed, {"https://a.example/1": OKAPI})], prune=True)
    assert origins(retriever, "giraffe calf") == set()
    assert origins(retriever, "okapi house") == {"https://a.example/1"}

    other = write_articles(tmp_path / "other.json", {"https://b.example/9": ZEBRA})
    pipeline.run([other], reset=True)
    assert origins(retriever, "okapi house") == set()
    assert origins(retriever, "zebras in the savanna") == {"https://b.example/9"}


def test_snapshot_is_persisted_and_reused_until_the_store_changes(
    tmp_path: Path, store: ChunkStore, embedder: Embedder, settings: Settings
) -> None:
    feed = write_articles(tmp_path / "feed.json", {"https://a.example/1": ZEBRA})
    IngestPipeline(store, embedder, settings).run([feed])
    path = lexical_path(settings.data_dir, store.collection_name)
    assert path.exists()
    written = path.stat().st_mtime_ns

    index = build_lexical_index(settings, store)
    first = index.sync()
    assert index.sync() is first  # an unchanged generation keeps the loaded index
    assert len(first) == store.count()
    assert path.stat().st_mtime_ns == written  # loading from disk rewrote nothing

    IngestPipeline(store, embedder, settings).run([write_articles(feed, {"https://a.example/1": GIRAFFE})])
    second = index.sync()
    assert second is not first
    assert [r.tokens for r in second.records] == [tokenize("Report 0 | Example News, 2024-05-01\n" + GIRAFFE)]


def test_missing_or_corrupt_snapshot_is_rebuilt_from_chroma(
    tmp_path: Path, store: ChunkStore, embedder: Embedder, settings: Settings
) -> None:
    IngestPipeline(store, embedder, settings).run(
        [write_articles(tmp_path / "f.json", {"https://a.example/1": ZEBRA})]
    )
    path = lexical_path(settings.data_dir, store.collection_name)
    path.write_text("{not json", encoding="utf-8")
    retriever = lexical_retriever(store, embedder, settings)
    assert origins(retriever, "zebras") == {"https://a.example/1"}
    assert json.loads(path.read_text(encoding="utf-8"))["records"]
