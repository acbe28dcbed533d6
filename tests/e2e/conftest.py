"""Fixtures of the server tests: the app with the fake Ollama behind it, and servers of a test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.api.app import create_app
from service.embeddings import Embedder
from service.ingestion.pipeline import IngestPipeline
from service.llm import OllamaGenerator
from service.settings import OllamaSettings, Settings
from service.store import ChunkStore, build_store
from tests.conftest import SEEDS, LiveServer, extractive_app, make_settings
from tests.fakes import FakeOllama


@pytest.fixture()
def ollama_server(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> Iterator[tuple[FakeOllama, LiveServer]]:
    """The seeded app whose generator is the real OllamaGenerator pointed at the fake server."""
    settings, store = seeded
    with FakeOllama(models=("fake:1b",)) as fake:
        generator = OllamaGenerator(OllamaSettings(base_url=fake.url, model="fake:1b"))
        app = create_app(settings, store=store, embedder=embedder, generator=generator)
        with LiveServer(app) as server:
            yield fake, server


@pytest.fixture()
def own_server(tmp_path: Path, embedder: Embedder) -> Iterator[LiveServer]:
    """A seeded server of the test's own, for tests that upload and delete articles."""
    settings = make_settings(tmp_path / "data")
    store = build_store(settings)
    IngestPipeline(store, embedder, settings).run([SEEDS])
    app = extractive_app(settings, store, embedder)
    with LiveServer(app) as server:
        yield server
