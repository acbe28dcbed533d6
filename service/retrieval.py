"""Retrieval: find the passages that best match a query, within filters."""

from __future__ import annotations

from service.embeddings import Embedder
from service.models import Filters, Passage
from service.store import ChunkStore


class Retriever:
    """Dense retrieval over the chunk store."""

    def __init__(self, store: ChunkStore, embedder: Embedder) -> None:
        self._store = store
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        """The encoder queries are embedded with."""
        return self._embedder

    def search(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        """The top_k passages for the query, best first."""
        vector = self._embedder.embed([query])[0]
        return self._store.query(vector, top_k, filters or Filters())
