"""The service's parts, built once per process by the app's lifespan and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from service.answering import AnswerService
from service.conversation import Condenser, build_condenser
from service.embeddings import Embedder, build_embedder
from service.generation import Generator
from service.lexical import build_lexical_index
from service.llm import build_extractive, build_generator
from service.retrieval import Retriever
from service.settings import Settings
from service.store import ChunkStore, build_store


@dataclass
class Parts:
    """Everything a request handler needs."""

    settings: Settings
    store: ChunkStore
    embedder: Embedder
    retriever: Retriever
    answers: AnswerService
    condenser: Condenser


def build_parts(
    settings: Settings,
    *,
    store: ChunkStore | None = None,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
) -> Parts:
    """Build the parts the caller did not hand in."""
    embedder = embedder or build_embedder(settings)
    store = store or build_store(settings)
    retriever = Retriever(store, embedder, build_lexical_index(settings, store), settings.retrieval)
    fallback = build_extractive(settings, embedder)
    generator = generator or build_generator(settings, embedder)
    answers = AnswerService(retriever, generator, fallback, settings.min_relevance)
    return Parts(settings, store, embedder, retriever, answers, build_condenser(generator))
