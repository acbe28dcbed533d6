"""Sentence vectors written by ingest: the chunk vector is their mean, answers reuse them, and they
follow the chunks through replace, delete and reset (embedded Chroma and a Chroma server)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from service.api.parts import build_parts
from service.embeddings import Embedder
from service.ingestion.pipeline import IngestPipeline
from service.models import passage_header
from service.sentence_vectors import SentenceVectors, chunk_vectors, pack, unpack
from service.sentences import split_sentences
from service.settings import Settings
from service.store import ChunkStore, build_store
from tests.conftest import SEEDS, CountingEmbedder

QUESTION = "Who did Qaani meet in Baghdad?"


def ingest_seeds(store: ChunkStore, embedder: Embedder, settings: Settings, seeds: Path = SEEDS) -> None:
    IngestPipeline(store, embedder, settings).run([seeds])


def test_each_chunk_stores_its_sentences_vectors_and_its_vector_is_their_weighted_mean(
    store: ChunkStore, embedder: Embedder, settings: Settings
) -> None:
    ingest_seeds(store, embedder, settings)
    chunks = [c for a in store.articles() for c in store.chunks_of(a)]
    stored = store.sentence_vectors.of([c.id for c in chunks])
    assert set(stored) == {c.id for c in chunks}
    held = store.embeddings_for([c.id for c in chunks])
    for chunk in chunks[:6]:
        sentences = split_sentences(chunk.text)
        rows = stored[chunk.id]
        assert rows.shape == (len(sentences), 384)
        # Each row is the sentence embedded on its own (float16 storage; int8 batch effects).
        alone = embedder.embed(sentences)
        assert float((rows * alone).sum(axis=1).min()) > 0.98
        # The chunk's vector: its header's and sentences' vectors, weighted by their words.
        header = passage_header(chunk.article)
        parts = np.vstack([embedder.embed([header]), rows])
        words = np.array([len(t.split()) for t in (header, *sentences)], dtype=np.float32)
        mean = words @ parts
        assert float(np.dot(mean / np.linalg.norm(mean), held[chunk.id])) > 0.995


def test_an_answer_embeds_only_the_question_when_sentences_are_stored(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = Settings(data_dir=tmp_path / "data", generator="extractive", collection="sentences")
    store = build_store(settings)
    ingest_seeds(store, embedder, settings)
    counting = CountingEmbedder(embedder)
    answers = build_parts(settings, store=store, embedder=counting).answers
    answer = answers.ask(QUESTION, 5)
    assert not answer.insufficient and answer.citations
    assert counting.texts_embedded == 1  # the question; every candidate sentence came from the index

    # Without the stored vectors (an index written before them) the candidate sentences are
    # embedded at question time; the answer rests on the same passages.
    store.sentence_vectors.delete([c.id for a in store.articles() for c in store.chunks_of(a)])
    fresh = CountingEmbedder(embedder)
    again = build_parts(settings, store=build_store(settings), embedder=fresh).answers.ask(QUESTION, 5)
    assert fresh.texts_embedded > 1
    assert not again.insufficient
    assert {c.passage.chunk.id for c in again.citations} & {c.passage.chunk.id for c in answer.citations}


def test_sentence_vectors_follow_replaced_deleted_and_reset_articles(
    store: ChunkStore, embedder: Embedder, settings: Settings, seeds_copy: Path
) -> None:
    ingest_seeds(store, embedder, settings, seeds_copy)
    first = {a: [c.id for c in store.chunks_of(a)] for a in store.articles()}
    changed = seeds_copy / "001_77993525a4a13c9e.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\n\nA new closing paragraph.\n", encoding="utf-8"
    )
    ingest_seeds(store, embedder, settings, seeds_copy)
    now = {a: [c.id for c in store.chunks_of(a)] for a in store.articles()}
    replaced = [a for a in now if now[a] != first[a]]
    assert len(replaced) == 1
    stale = [c for c in first[replaced[0]] if c not in now[replaced[0]]]
    assert stale and not store.sentence_vectors.of(stale)  # the replaced version's records are gone
    assert set(store.sentence_vectors.of(now[replaced[0]])) == set(now[replaced[0]])

    other = next(a for a in now if a not in replaced)
    store.delete_articles([other])
    assert not stored_records(store, now[other])
    store.reset()
    assert not stored_records(store, [c for ids in now.values() for c in ids])


def stored_records(store: ChunkStore, chunk_ids: list[str]) -> dict[str, object]:
    """What the store's companion collection holds for the chunks, read past any cache."""
    fresh = type(store.sentence_vectors)(store.sentence_vectors._collection)
    return dict(fresh.of(chunk_ids))


def test_vectors_of_a_chunk_without_sentences_come_from_its_whole_text(embedder: Embedder) -> None:
    from datetime import date

    from service.models import ArticleMeta, Chunk

    meta = ArticleMeta(id="a1", title="Markets rally", source="Reuters", published=date(2025, 1, 2))
    chunks = [
        Chunk(id="a1-x-0", article=meta, index=0, text=" "),
        Chunk(id="a1-x-1", article=meta, index=1, text="Stocks rose. Bonds fell."),
    ]
    built = chunk_vectors(embedder, chunks)
    assert built.vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(built.vectors, axis=1), 1.0, atol=1e-5)
    assert [len(s) for s in built.sentences] == [0, 2]


def test_packed_vectors_round_trip_within_float16() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(5, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    back = unpack(pack(vectors), 5)
    assert back.shape == (5, 384) and float(np.abs(back - vectors).max()) < 1e-3


def test_warming_reads_each_chunk_once_up_to_the_cache_size(
    store: ChunkStore, embedder: Embedder, settings: Settings
) -> None:
    ingest_seeds(store, embedder, settings)
    ids = [c.id for a in store.articles() for c in store.chunks_of(a)]
    stored = store.sentence_vectors.of(ids)  # read from Chroma
    small = SentenceVectors(store.sentence_vectors._collection, cache_size=3)
    assert small.warm(ids) == 3  # no more than the cache holds
    assert small.warm(ids[3:]) == 0  # and it never evicts to warm more
    warmed = SentenceVectors(store.sentence_vectors._collection)
    assert warmed.warm([*ids, *ids]) == len(ids)
    assert warmed.warm(ids) == 0  # already held: nothing read again
    again = warmed.of(ids)
    assert set(again) == set(stored) and all(np.array_equal(again[c], stored[c]) for c in ids)
