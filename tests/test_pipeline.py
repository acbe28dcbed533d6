"""The ingest pipeline on the seeds with the real embedder and embedded Chroma."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from service.ingestion.pipeline import IngestPipeline
from service.settings import Settings
from service.store import ChunkStore
from tests.conftest import SEEDS, CountingEmbedder

BOILERPLATE = [
    "Try Our AI Features",
    "No comments yet",
    "DOWNLOAD THE APP",
    "app-storeplay-store",
    "Orange background",
    "Other reports by",
    "Discuss This Article",
    "Related Articles",
    "Iran launches missile barrage",  # a related story of another outlet, not part of 000
    "Houthis confirm launching missiles",
]


def by_origin(store: ChunkStore) -> dict[str, object]:
    return {s.meta.origin[:3]: s for s in store.articles().values()}


def test_metadata_of_every_seed_is_extracted(
    store: ChunkStore, counting_embedder: CountingEmbedder, settings: Settings
) -> None:
    IngestPipeline(store, counting_embedder, settings).run([SEEDS])
    articles = {s.meta.origin: s.meta for s in store.articles().values()}
    assert len(articles) == 5
    m000 = articles["000_277ab06f7a8d113b.txt"]
    assert (
        m000.title
        == "Iranian commander visits Iraq to preserve truce with US before potential landmark talks"
    )
    assert (m000.source, m000.published, m000.author) == ("The National", date(2025, 3, 25), "")
    m001 = articles["001_77993525a4a13c9e.txt"]
    assert (m001.source, m001.published, m001.title) == ("Shafaq News", date(2025, 3, 19), "")
    m002 = articles["002_a85a3d831082c514.txt"]
    assert m002.title == "Soleimani's Successor Visits Iraq As Trump Threatens Retaliation for Embassy Attack"
    assert m002.published is None
    m003 = articles["003_10efbc8b03f4fe1d.txt"]
    assert m003.title == "US General Slips into Iraq for Talks to Salvage Relations"
    assert (m003.author, m003.published) == ("Elias Hubbard", date(2020, 2, 5))
    m004 = articles["004_aee8e9cc88fbb562.txt"]
    assert m004.title == "The Intricate Dance: Qasem Soleimani and U.S. Foreign Relations"
    assert (m004.author, m004.published) == ("", None)
    assert len({m.id for m in articles.values()}) == 5


def test_boilerplate_is_not_indexed(
    store: ChunkStore, counting_embedder: CountingEmbedder, settings: Settings
) -> None:
    IngestPipeline(store, counting_embedder, settings).run([SEEDS])
    indexed = "\n".join(doc for _, _, doc in store.iter_records(with_documents=True))
    for phrase in BOILERPLATE:
        assert phrase.casefold() not in indexed.casefold(), phrase
    assert "Esmail Qaani visited Baghdad on the 19th" in indexed


def test_reingest_of_unchanged_seeds_embeds_nothing(
    store: ChunkStore, counting_embedder: CountingEmbedder, settings: Settings
) -> None:
    pipeline = IngestPipeline(store, counting_embedder, settings)
    first = pipeline.run([SEEDS])
    count = store.count()
    ids = {cid for cid, _, _ in store.iter_records()}
    embedded = counting_embedder.texts_embedded
    assert first.chunks_written == count > 5
    second = pipeline.run([SEEDS])
    assert counting_embedder.texts_embedded == embedded
    assert (len(second.unchanged), second.new, second.changed, second.chunks_written) == (5, [], [], 0)
    assert store.count() == count
    assert {cid for cid, _, _ in store.iter_records()} == ids


def test_changed_file_replaces_its_chunks(
    store: ChunkStore, counting_embedder: CountingEmbedder, settings: Settings, seeds_copy: Path
) -> None:
    pipeline = IngestPipeline(store, counting_embedder, settings)
    pipeline.run([seeds_copy])
    target = seeds_copy / "001_77993525a4a13c9e.txt"
    article_id = next(s.meta.id for s in store.articles().values() if s.meta.origin == target.name)
    old_ids = set(store.articles()[article_id].chunk_ids)
    target.write_text(target.read_text(encoding="utf-8") + "\n\nA new paragraph about pomegranate exports.\n")
    report = pipeline.run([seeds_copy])
    assert report.changed == [article_id] and len(report.unchanged) == 4
    after = store.articles()[article_id]
    assert after.complete and not (set(after.chunk_ids) & old_ids)
    text = " ".join(c.text for c in store.chunks_of(article_id))
    assert "pomegranate exports" in text
    assert len(store.articles()) == 5


def test_prune_removes_articles_whose_files_are_gone(
    store: ChunkStore, counting_embedder: CountingEmbedder, settings: Settings, seeds_copy: Path
) -> None:
    pipeline = IngestPipeline(store, counting_embedder, settings)
    pipeline.run([seeds_copy])
    (seeds_copy / "004_aee8e9cc88fbb562.txt").unlink()
    kept = pipeline.run([seeds_copy])
    assert len(store.articles()) == 5 and kept.pruned == []
    report = pipeline.run([seeds_copy], prune=True)
    assert len(report.pruned) == 1
    origins = {s.meta.origin for s in store.articles().values()}
    assert "004_aee8e9cc88fbb562.txt" not in origins and len(origins) == 4


def test_prune_keeps_articles_of_a_file_that_became_unreadable(
    store: ChunkStore, counting_embedder: CountingEmbedder, settings: Settings, seeds_copy: Path
) -> None:
    pipeline = IngestPipeline(store, counting_embedder, settings)
    pipeline.run([seeds_copy])
    (seeds_copy / "003_10efbc8b03f4fe1d.txt").write_bytes(b"\x00\x01\x02garbage\xff\xfe")
    report = pipeline.run([seeds_copy], prune=True)
    assert report.pruned == [] and len(store.articles()) == 5
    assert any("003" in s.origin for s in report.skipped)


def test_prune_keeps_the_articles_of_a_feed_with_a_line_it_cannot_parse(
    store: ChunkStore, counting_embedder: CountingEmbedder, settings: Settings, tmp_path: Path
) -> None:
    feed = tmp_path / "feed" / "wire.jsonl"
    feed.parent.mkdir()
    records = [
        {"title": f"Story {n}", "body": f"Story {n} tells of the harbour strike on day {n} and its end."}
        for n in (1, 2, 3)
    ]
    feed.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    pipeline = IngestPipeline(store, counting_embedder, settings)
    assert len(pipeline.run([feed.parent]).new) == 3
    lines = feed.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1][:20]  # a write cut short: line 2 is no longer JSON
    feed.write_text("\n".join(lines), encoding="utf-8")

    report = pipeline.run([feed.parent], prune=True)

    assert report.pruned == [] and len(store.articles()) == 3
    assert [s.origin for s in report.skipped] == ["wire.jsonl#2"]
    del lines[1]  # the record removed for good: the file is read whole again, and it goes
    feed.write_text("\n".join(lines), encoding="utf-8")
    assert len(pipeline.run([feed.parent], prune=True).pruned) == 1


def test_corrupt_and_empty_files_are_skipped_with_a_reason(
    store: ChunkStore, counting_embedder: CountingEmbedder, settings: Settings, seeds_copy: Path
) -> None:
    (seeds_copy / "empty.txt").write_text("")
    (seeds_copy / "broken.json").write_text('{"title": "half a record", "body": ')
    (seeds_copy / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    report = IngestPipeline(store, counting_embedder, settings).run([seeds_copy])
    reasons = {s.origin: s.reason for s in report.skipped}
    assert set(reasons) >= {"empty.txt", "broken.json", "picture.png"}
    assert all(reasons[name] for name in ("empty.txt", "broken.json", "picture.png"))
    assert len(report.new) == 5


def test_json_records_keep_their_given_metadata(
    store: ChunkStore, counting_embedder: CountingEmbedder, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    record = {
        "title": "Harbour reopens after storm",
        "source": "Coastal Times",
        "author": "Ana Ruiz",
        "published_at": "2024-02-03T10:00:00+00:00",
        "url": "https://example.org/harbour",
        "body": "The harbour reopened on Saturday after a week of storms closed it to shipping traffic.",
    }
    (folder / "feed.jsonl").write_text(json.dumps(record) + "\n")
    IngestPipeline(store, counting_embedder, settings).run([folder])
    (meta,) = [s.meta for s in store.articles().values()]
    assert (meta.title, meta.source, meta.author) == (
        "Harbour reopens after storm",
        "Coastal Times",
        "Ana Ruiz",
    )
    assert meta.published == date(2024, 2, 3) and meta.origin == "https://example.org/harbour"


def test_reset_empties_the_collection_first(
    store: ChunkStore, counting_embedder: CountingEmbedder, settings: Settings, seeds_copy: Path
) -> None:
    pipeline = IngestPipeline(store, counting_embedder, settings)
    pipeline.run([SEEDS])
    report = pipeline.run([seeds_copy / "002_a85a3d831082c514.txt"], reset=True)
    assert len(report.new) == 1 and len(store.articles()) == 1


def test_half_written_article_is_repaired_by_the_next_run(
    store: ChunkStore, counting_embedder: CountingEmbedder, settings: Settings
) -> None:
    pipeline = IngestPipeline(store, counting_embedder, settings)
    pipeline.run([SEEDS])
    full = store.count()
    victim = next(s for s in store.articles().values() if s.chunk_count > 1)
    store.delete_chunks(victim.chunk_ids[:1])  # as if the run had died mid-article
    assert not store.articles()[victim.meta.id].complete
    report = pipeline.run([SEEDS])
    assert report.changed == [victim.meta.id]
    assert store.count() == full and store.articles()[victim.meta.id].complete
