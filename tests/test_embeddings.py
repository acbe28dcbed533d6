"""The encoders: int8 ONNX agrees with fp32, thread safety, one encoder per collection."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from service.embeddings import (
    Embedder,
    SentenceTransformerEmbedder,
    build_embedder,
    embedder_identity,
)
from service.errors import EmbedderMismatch
from service.ingestion.pipeline import IngestPipeline
from service.store import EMBEDDER_KEY, ChunkStore, build_store
from tests.conftest import SEEDS, make_settings

SAMPLES = [
    "Who succeeded Qassem Soleimani as commander of the Quds Force?",
    "The central bank raised interest rates by a quarter point on Wednesday.",
    "Apple unveiled a new iPhone with a faster chip and a better camera at its autumn event.",
    *(path.read_text(encoding="utf-8")[:1200] for path in sorted(SEEDS.glob("*.txt"))),
]


@pytest.fixture(scope="module")
def int8_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("int8") / "data"


@pytest.fixture(scope="module")
def int8(int8_dir: Path) -> Embedder:
    return build_embedder(make_settings(int8_dir, embedding_backend="onnx-int8"))


def test_int8_vectors_are_close_to_fp32(int8: Embedder, embedder: SentenceTransformerEmbedder) -> None:
    fp32 = embedder.embed(SAMPLES)
    quantized = int8.embed(SAMPLES)
    assert quantized.shape == fp32.shape
    assert np.allclose(np.linalg.norm(quantized, axis=1), 1.0, atol=1e-4)
    cosines = (fp32 * quantized).sum(axis=1)
    assert cosines.min() > 0.97 and cosines.mean() > 0.98


def test_int8_model_is_exported_once_and_reused(int8: Embedder, int8_dir: Path) -> None:
    exported = list((int8_dir / "models").glob("*-int8.onnx"))
    assert len(exported) == 1
    modified = exported[0].stat().st_mtime_ns
    again = build_embedder(make_settings(int8_dir, embedding_backend="onnx-int8"))
    assert np.allclose(again.embed(SAMPLES[:2]), int8.embed(SAMPLES[:2]), atol=1e-6)
    assert exported[0].stat().st_mtime_ns == modified


def test_batched_and_single_vectors_agree(embedder: Embedder) -> None:
    batched = embedder.embed(SAMPLES)
    for text, row in zip(SAMPLES, batched, strict=True):
        assert np.allclose(embedder.embed([text])[0], row, atol=1e-5)


def test_concurrent_queries_get_the_same_vectors_as_sequential_ones(embedder: Embedder) -> None:
    expected = {text: embedder.embed([text])[0] for text in SAMPLES}
    got: dict[str, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(text: str) -> None:
        try:
            got[text] = embedder.embed([text])[0]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in SAMPLES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(np.allclose(got[t], expected[t], atol=1e-5) for t in SAMPLES)


def test_collection_records_its_encoder_and_refuses_another(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    settings = make_settings(tmp_path / "data")
    store = build_store(settings)
    IngestPipeline(store, embedder, settings).run([SEEDS / "000_277ab06f7a8d113b.txt"])
    metadata = store._client.get_collection(settings.collection).metadata
    assert metadata[EMBEDDER_KEY] == embedder_identity(settings) == "all-MiniLM-L6-v2|torch"
    assert build_store(settings).embedder == "all-MiniLM-L6-v2|torch"
    with pytest.raises(EmbedderMismatch) as raised:
        build_store(settings.model_copy(update={"embedding_backend": "onnx-int8"}))
    assert raised.value.status_code == 409 and "onnx-int8" in raised.value.message
    other = settings.model_copy(update={"embedding_backend": "onnx-int8", "collection": "test-int8"})
    assert build_store(other).embedder == "all-MiniLM-L6-v2|onnx-int8"


def test_an_index_without_the_record_counts_as_the_fp32_encoder(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    settings = make_settings(tmp_path / "data")
    store = build_store(settings)
    IngestPipeline(store, embedder, settings).run([SEEDS / "000_277ab06f7a8d113b.txt"])
    store._collection.modify(metadata={"newsrag_generation": "legacy"})  # as written before the record
    assert ChunkStore(store._client, settings.collection).embedder == "all-MiniLM-L6-v2|torch"
    with pytest.raises(EmbedderMismatch):
        build_store(settings.model_copy(update={"embedding_backend": "onnx-int8"}))
