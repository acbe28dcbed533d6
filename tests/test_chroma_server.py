"""Chroma as a server (a real ``chroma run``): the same results as embedded, deletes, processes that
share the server, and a server that goes away (503, never 500)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.embeddings import Embedder
from service.errors import BackendUnavailable, EmbedderMismatch
from service.ingestion.pipeline import IngestPipeline
from service.lexical import build_lexical_index
from service.models import Filters
from service.retrieval import Retriever
from service.settings import ChromaSettings, Settings
from service.store import ChunkStore, build_store
from tests.conftest import (
    SEEDS,
    ChromaServer,
    LiveServer,
    extractive_app,
    start_chroma_server,
    stop_chroma_server,
)

QUESTIONS = [
    "Who succeeded Soleimani as Quds Force commander?",
    "When did Qaani visit Baghdad?",
    "What did Hegseth warn al-Sudani about?",
    "What is the capital of Australia?",
]


def test_both_modes_index_the_same_chunks(
    seeded: tuple[Settings, ChunkStore], seeded_server: tuple[Settings, ChunkStore]
) -> None:
    embedded, server = seeded[1], seeded_server[1]
    assert embedded.count() == server.count() > 5
    assert {c for c, _, _ in embedded.iter_records()} == {c for c, _, _ in server.iter_records()}
    assert {a: s.chunk_count for a, s in embedded.articles().items()} == {
        a: s.chunk_count for a, s in server.articles().items()
    }


@pytest.mark.parametrize("question", QUESTIONS)
def test_both_modes_answer_search_and_ask_the_same(
    live_server: LiveServer, live_server_on_chroma_server: LiveServer, question: str
) -> None:
    answers = []
    for server in (live_server, live_server_on_chroma_server):
        search = httpx.post(f"{server.url}/search", json={"query": question, "top_k": 5}, timeout=60).json()
        ask = httpx.post(f"{server.url}/ask", json={"question": question}, timeout=60).json()
        answers.append((search["results"], ask))
    (search_a, ask_a), (search_b, ask_b) = answers
    assert [r["chunk_id"] for r in search_a] == [r["chunk_id"] for r in search_b]
    for a, b in zip(search_a, search_b, strict=True):
        assert a["score"] == pytest.approx(b["score"], abs=1e-4)
    assert ask_a == ask_b


def test_delete_articles_removes_them_from_search(
    settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    IngestPipeline(store, embedder, settings).run([SEEDS])
    victim = next(s for s in store.articles().values() if s.meta.origin.startswith("002_"))
    before = store.count()
    store.delete_articles([victim.meta.id, "no-such-article"])
    assert store.count() == before - victim.chunk_count
    assert victim.meta.id not in store.articles() and store.chunks_of(victim.meta.id) == []
    hits = Retriever(store, embedder).search(QUESTIONS[0], 20, Filters())
    assert hits and victim.meta.id not in {p.chunk.article.id for p in hits}


def test_store_follows_a_collection_recreated_by_another_process(
    chroma_server: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    settings = chroma_server.settings_for(tmp_path / "data")
    serving = build_store(settings)  # the API's store
    IngestPipeline(serving, embedder, settings).run([SEEDS / "000_277ab06f7a8d113b.txt"])
    assert serving.count() > 0
    other = build_store(settings)  # `python -m ingest --reset` elsewhere drops and re-creates it
    IngestPipeline(other, embedder, settings).run([SEEDS / "002_a85a3d831082c514.txt"], reset=True)
    origins = {s.meta.origin for s in serving.articles().values()}
    assert origins == {"002_a85a3d831082c514.txt"}
    assert serving.count() == other.count() and serving.check() == ""


def test_a_process_refuses_a_collection_re_created_for_another_encoder(
    chroma_server: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    settings = chroma_server.settings_for(tmp_path / "data")
    serving = build_store(settings.model_copy(update={"embedding_backend": "torch"}))  # an fp32 API
    assert serving.embedder == "all-MiniLM-L6-v2|torch"
    serving.generation()
    other = build_store(settings, reset=True)  # `ingest --reset` elsewhere, auto: a new collection, int8
    assert other.embedder == "all-MiniLM-L6-v2|onnx-int8"
    IngestPipeline(other, embedder, settings).run([SEEDS / "002_a85a3d831082c514.txt"])
    with pytest.raises(EmbedderMismatch) as raised:
        serving.generation()
    assert raised.value.status_code == 409 and "onnx-int8" in raised.value.message
    retriever = Retriever(serving, embedder, build_lexical_index(settings, serving))
    with pytest.raises(EmbedderMismatch):  # its searches too, instead of torch queries on int8 vectors
        retriever.search(QUESTIONS[0], 5, Filters())


def test_chroma_headers_are_accepted_and_the_ssl_flag_is_used(
    chroma_server: ChromaServer, tmp_path: Path
) -> None:
    chroma = ChromaSettings(host="127.0.0.1", port=chroma_server.port, headers={"X-Chroma-Token": "secret"})
    plain = chroma_server.settings_for(tmp_path, chroma=chroma)
    assert build_store(plain).check() == ""
    tls = plain.model_copy(update={"chroma": plain.chroma.model_copy(update={"ssl": True})})
    with pytest.raises(BackendUnavailable, match="unreachable"):
        build_store(tls)  # https against a plain-HTTP server fails at connect: the flag is used


@pytest.fixture()
def own_chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    """A Chroma server this test may stop."""
    server = start_chroma_server(tmp_path / "db", tmp_path / "chroma.log")
    try:
        yield server
    finally:
        stop_chroma_server(server)


def test_chroma_going_away_gives_503_not_500(
    own_chroma: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    settings = own_chroma.settings_for(tmp_path / "data")
    store = build_store(settings)
    IngestPipeline(store, embedder, settings).run([SEEDS / "000_277ab06f7a8d113b.txt"])
    app = extractive_app(settings, store, embedder)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        assert http.get("/readyz").status_code == 200
        other = build_store(settings)
        other._client.delete_collection(settings.collection)  # someone dropped the collection
        gone = http.get("/readyz")
        assert gone.status_code == 503 and gone.json()["checks"]["chroma"]["ok"] is False
        assert "collection" in gone.json()["checks"]["chroma"]["detail"]
        own_chroma.process.terminate()  # the server dies under the running app
        own_chroma.process.wait(timeout=20)
        down = http.get("/readyz")
        assert down.status_code == 503 and "unreachable" in down.json()["checks"]["chroma"]["detail"]
        assert down.json()["checks"]["embedder"]["ok"] is True
        for path, body in (("/search", {"query": "Qaani"}), ("/ask", {"question": "Who is Qaani?"})):
            response = http.post(path, json=body)
            assert response.status_code == 503, path
            assert response.json()["error"]["code"] == "backend_unavailable"


def test_api_recovers_without_a_restart_when_chroma_comes_back(
    own_chroma: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    settings = own_chroma.settings_for(tmp_path / "data")
    store = build_store(settings)
    IngestPipeline(store, embedder, settings).run([SEEDS / "002_a85a3d831082c514.txt"])
    app = extractive_app(settings, store, embedder)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        query = {"query": "Who succeeded Soleimani?"}
        before = http.post("/search", json=query).json()["results"]
        own_chroma.process.terminate()
        own_chroma.process.wait(timeout=20)
        down = http.post("/search", json=query)
        assert down.status_code == 503 and down.json()["error"]["code"] == "backend_unavailable"
        restarted = start_chroma_server(own_chroma.path, tmp_path / "chroma.log", port=own_chroma.port)
        own_chroma.process = restarted.process  # so the fixture stops the new one
        back = http.post("/search", json=query)
        assert back.status_code == 200
        assert [r["chunk_id"] for r in back.json()["results"]] == [r["chunk_id"] for r in before]
        assert http.get("/readyz").status_code == 200
