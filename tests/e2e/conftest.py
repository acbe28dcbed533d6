"""Fixtures of the server tests: the app with the real Ollama generator talking to the fake Ollama."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.api.app import create_app
from service.embeddings import SentenceTransformerEmbedder
from service.llm import OllamaGenerator
from service.settings import OllamaSettings, Settings
from service.store import ChunkStore
from tests.conftest import LiveServer
from tests.fakes import FakeOllama


@pytest.fixture()
def ollama_server(
    seeded: tuple[Settings, ChunkStore], embedder: SentenceTransformerEmbedder
) -> Iterator[tuple[FakeOllama, LiveServer]]:
    """The seeded app whose generator is the real OllamaGenerator pointed at the fake server."""
    settings, store = seeded
    with FakeOllama(models=("fake:1b",)) as fake:
        generator = OllamaGenerator(OllamaSettings(base_url=fake.url, model="fake:1b"))
        app = create_app(settings, store=store, embedder=embedder, generator=generator)
        with LiveServer(app) as server:
            yield fake, server
