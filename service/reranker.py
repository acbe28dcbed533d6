"""Cross-encoder re-ranking: an optional model that reads the question and each passage together.

A bi-encoder (the embedder) compares a question's vector with a passage's, computed apart; a
cross-encoder reads both in one pass, so it can tell which of one outlet's articles on a story
states the fact asked about. None ships with newsrag: ``reranker_model`` names a
sentence-transformers ``CrossEncoder`` (a local folder or a model already in the Hugging Face cache,
loaded offline), and the retriever adds its score to the sentence re-sort of the head of each
ranking (service.retrieval, ``reranker_weight``, ``reranker_depth``). Left empty, nothing is loaded.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Protocol

from service.errors import InvalidSettings
from service.models import Chunk, indexed_text
from service.settings import Settings


class Reranker(Protocol):
    """Scores how well each text answers a query, reading the two together."""

    @property
    def name(self) -> str:
        """Model name or path, for reports."""
        ...

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """Relevance of each text to the query, in [0, 1], in the order given."""
        ...


class CrossEncoderReranker:
    """A sentence-transformers ``CrossEncoder`` on the CPU, loaded from local files only.

    Scores go through a sigmoid, so a model trained with one logit (the MS MARCO and BGE rerankers)
    gives [0, 1] whatever its logits' scale. ``CrossEncoder.predict`` tokenises and runs the model in
    one call, and the fast tokenizer is not safe under concurrent calls, so concurrent searches take
    turns at it (a lock).
    """

    def __init__(self, model: str, *, max_length: int = 512, batch_size: int = 16, threads: int = 0) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never a hub download at run time
        import torch
        from sentence_transformers import CrossEncoder

        if threads > 0:
            torch.set_num_threads(threads)
        self._name = model
        self._batch_size = batch_size
        self._model = CrossEncoder(
            model,
            device="cpu",
            local_files_only=True,
            max_length=max_length,
            activation_fn=torch.nn.Sigmoid(),
        )
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Model name or path, for reports."""
        return self._name

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """Relevance of each text to the query, in [0, 1], in the order given."""
        if not texts:
            return []
        with self._lock:
            scores = self._model.predict(
                [(query, text) for text in texts], batch_size=self._batch_size, show_progress_bar=False
            )
        return [float(s) for s in scores]


class QueryReranking:
    """One query's cross-encoder scores, each chunk scored once however many rankings it heads.

    A chunk is read as the encoder and the lexical index read it (``indexed_text``: its title, outlet
    and date, then its text), so a question naming an outlet or a date can match them.
    """

    def __init__(self, reranker: Reranker, query: str) -> None:
        self._reranker = reranker
        self._query = query
        self._scores: dict[str, float] = {}

    def scores(self, chunks: Sequence[Chunk]) -> dict[str, float]:
        """The score of each chunk (by id), scoring only those not scored before for this query."""
        fresh = list({c.id: c for c in chunks if c.id not in self._scores}.values())
        if fresh:
            found = self._reranker.score(self._query, [indexed_text(c) for c in fresh])
            self._scores.update(zip((c.id for c in fresh), found, strict=True))
        return {c.id: self._scores[c.id] for c in chunks}


def build_reranker(settings: Settings) -> Reranker | None:
    """The cross-encoder ``reranker_model`` names, or None when it is empty.

    Raises InvalidSettings naming the variable when the model cannot be loaded from local files.
    """
    model = settings.reranker_model.strip()
    if not model:
        return None
    try:
        return CrossEncoderReranker(
            model,
            max_length=settings.reranker_max_length,
            batch_size=settings.embedding_batch_size,
            threads=settings.embedding_threads,
        )
    except (OSError, ValueError) as exc:  # no such folder, not a model, not in the local cache
        raise InvalidSettings(
            f"RAG_RERANKER_MODEL: cannot load a cross-encoder from {model!r} with local files only: {exc}"
        ) from exc
