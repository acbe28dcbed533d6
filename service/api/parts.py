"""The service's parts, built once per process by the app's lifespan and kept on ``app.state``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from threadpoolctl import threadpool_limits

from service.answering import AnswerService
from service.catalog import Catalog
from service.citations import CitationVerifier
from service.conversation import Condenser, build_condenser
from service.documents import DocumentIntake
from service.embedding_cache import EmbeddingCache
from service.embeddings import Embedder, build_embedder
from service.encoder_choice import resolve_embedding_backend
from service.evidence import EvidenceCheck
from service.generation import Generator
from service.ingestion.pipeline import IngestPipeline
from service.lexical import build_lexical_index
from service.llm import build_extractive, build_generator
from service.reranker import build_reranker
from service.retrieval import Retriever
from service.settings import Settings
from service.store import ChunkStore, build_store
from service.summaries import SummaryService

logger = logging.getLogger("newsrag.startup")  # under the "newsrag" JSON log handler


@dataclass
class Parts:
    """Everything a request handler needs."""

    settings: Settings
    store: ChunkStore
    embedder: Embedder
    retriever: Retriever
    answers: AnswerService
    condenser: Condenser
    catalog: Catalog
    summaries: SummaryService
    intake: DocumentIntake


def build_parts(
    settings: Settings,
    *,
    store: ChunkStore | None = None,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
) -> Parts:
    """Build the parts the caller did not hand in.

    ``embedding_backend=auto`` is resolved here, once, from the collection (``Parts.settings`` holds the
    concrete backend); the encoder and the store are built from the same resolved settings.
    """
    # numpy's BLAS on one thread: the service's products are small (≤ 10 MB), and requests already
    # run side by side; a BLAS pool per product only makes concurrent searches fight for the cores.
    threadpool_limits(1, user_api="blas")
    if store is None or embedder is None:
        settings = resolve_embedding_backend(settings)
    embedder = embedder or build_embedder(settings)
    store = store or build_store(settings)
    logger.info("encoder %s for collection %r (%s)", store.embedder, store.collection_name, embedder.name)
    lexical = build_lexical_index(settings, store)
    # One LRU of embeddings for queries, answer sentences and citation checks (ingest uses the bare
    # encoder: its chunks would only flush the cache): the question embedded by an answer's retrieval
    # is reused by the extractive answer, and passages seen before are not re-embedded.
    cached = EmbeddingCache(embedder, settings.embedding_cache_size)
    retriever = Retriever(store, cached, lexical, settings.retrieval, build_reranker(settings))
    stored = store.sentence_vectors.of  # sentence vectors stored by ingest: answers skip embedding them
    fallback = build_extractive(settings, cached, stored)
    generator = generator or build_generator(settings, cached, stored)
    catalog = Catalog(store)
    answers = AnswerService(
        retriever,
        generator,
        fallback,
        settings.min_relevance,
        verifier=CitationVerifier(cached, settings.min_support),
        evidence=EvidenceCheck(settings.min_evidence_coverage, catalog.outlets),
        reference_date=catalog.newest,
        evidence_passages=settings.evidence_passages,
        source_margin=settings.answer_source_margin,
    )
    summaries = SummaryService(
        store,
        retriever,
        answers,
        max_sentences=settings.summary_max_sentences,
        max_passages=settings.summary_passages,
        min_relevance=settings.min_relevance,
    )
    intake = DocumentIntake(
        IngestPipeline(store, embedder, settings, lexical), settings.max_upload_files, settings.max_file_bytes
    )
    return Parts(
        settings, store, embedder, retriever, answers, build_condenser(generator), catalog, summaries, intake
    )
