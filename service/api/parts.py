"""The service's parts, built once per process by the app's lifespan and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from service.answering import AnswerService
from service.documents import DocumentIntake
from service.embeddings import Embedder, build_embedder
from service.generation import Generator
from service.ingestion.pipeline import IngestPipeline
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
    intake: DocumentIntake


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
    retriever = Retriever(store, embedder)
    fallback = build_extractive(settings, embedder)
    generator = generator or build_generator(settings, embedder)
    answers = AnswerService(retriever, generator, fallback, settings.min_relevance)
    intake = DocumentIntake(
        IngestPipeline(store, embedder, settings), settings.max_upload_files, settings.max_file_bytes
    )
    return Parts(settings, store, embedder, retriever, answers, intake)
