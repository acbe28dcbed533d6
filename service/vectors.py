"""The stored vectors of the lexical snapshot's chunks, held in memory for exact dense scoring.

The index is small (~7k chunks × 384 floats ≈ 10 MB), so scoring a filtered subset with one
matrix product costs well under a millisecond, far less than a Chroma query. The retriever uses
it for the dense leg of every retrieval (the whole query, and each restricted to a named outlet or
date) and for the final cosine scores, so Chroma is only asked which chunks are live. The query's
similarity to every chunk is one matrix-vector product per search (``QueryVectors``), shared by
all of its filters. The matrix follows the snapshot: rebuilt when the snapshot's generation
changes, reusing the vectors of chunks already loaded (ids are content-addressed, so a vector never
changes under its id).
"""

from __future__ import annotations

import logging
import threading

import numpy as np
from numpy.typing import NDArray

from service.lexical import LexicalSnapshot
from service.models import Chunk, Filters, Passage
from service.store import ChunkStore

log = logging.getLogger(__name__)


class SnapshotVectors:
    """A matrix of stored vectors aligned with a snapshot's positions (rows of zeros when unread)."""

    def __init__(
        self, snapshot: LexicalSnapshot, matrix: NDArray[np.float32], known: NDArray[np.bool_]
    ) -> None:
        self.snapshot = snapshot
        self.matrix = matrix
        self.known = known

    def for_query(self, vector: NDArray[np.float32]) -> QueryVectors:
        """The query's similarities to these vectors, computed once for all of a search's filters."""
        return QueryVectors(self, vector)


class QueryVectors:
    """One search's cosine similarity to every held chunk (one matrix-vector product), ranked per filter."""

    def __init__(self, held: SnapshotVectors, vector: NDArray[np.float32]) -> None:
        self._held = held
        # No row read at all (the snapshot's chunks were all deleted since): nothing is known, score 0.
        matrix = held.matrix
        self._scores = matrix @ vector if matrix.size else np.zeros(len(matrix), dtype=np.float32)

    def nearest(self, k: int, filters: Filters) -> list[Passage]:
        """The k chunks within the filters most similar to the query (exact cosine), best first."""
        held = self._held
        keep = held.snapshot.mask(filters)
        allowed = held.known if keep is None else keep & held.known
        positions = np.flatnonzero(allowed)
        if k <= 0 or not len(positions):
            return []
        scores = self._scores[positions]
        k = min(k, len(positions))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        chunks = held.snapshot.chunks
        return [Passage(chunk=chunks[int(positions[i])], score=float(scores[i])) for i in top]

    def similarities(self, chunks: list[Chunk]) -> dict[str, float]:
        """Cosine similarity of the query to each given chunk held here (others left out)."""
        out: dict[str, float] = {}
        for chunk in chunks:
            position = self._held.snapshot.position(chunk.id)
            if position is not None and self._held.known[position]:
                out[chunk.id] = float(self._scores[position])
        return out


class VectorCache:
    """Keeps a SnapshotVectors in step with the lexical snapshot the retriever reads."""

    def __init__(self, store: ChunkStore) -> None:
        self._store = store
        self._current: SnapshotVectors | None = None
        self._lock = threading.Lock()

    def of(self, snapshot: LexicalSnapshot) -> SnapshotVectors | None:
        """The vectors of the snapshot's chunks; None when Chroma cannot give them now."""
        current = self._current
        if current is not None and current.snapshot is snapshot:
            return current
        with self._lock:
            current = self._current
            if current is not None and current.snapshot is snapshot:
                return current
            try:
                built = self._build(snapshot, current)
            except Exception:  # embedded Chroma cannot read vectors another process just wrote
                log.warning("stored vectors unreadable; dense scoring falls back to Chroma", exc_info=True)
                return None
            self._current = built
            return built

    def _build(self, snapshot: LexicalSnapshot, previous: SnapshotVectors | None) -> SnapshotVectors:
        """Rows for the snapshot's chunks: copied from the previous matrix or read from Chroma."""
        ids = [c.id for c in snapshot.chunks]
        reused: dict[str, NDArray[np.float32]] = {}
        if previous is not None:
            for chunk_id in ids:
                position = previous.snapshot.position(chunk_id)
                if position is not None and previous.known[position]:
                    reused[chunk_id] = previous.matrix[position]
        fetched = self._store.embeddings_for([cid for cid in ids if cid not in reused])
        dimension = next((len(v) for v in (*reused.values(), *fetched.values())), 0)
        matrix = np.zeros((len(ids), dimension), dtype=np.float32)
        known = np.zeros(len(ids), dtype=bool)
        for position, chunk_id in enumerate(ids):
            row = reused.get(chunk_id)
            if row is None:
                row = fetched.get(chunk_id)
            if row is not None:
                matrix[position] = row
                known[position] = True
        return SnapshotVectors(snapshot, matrix, known)
