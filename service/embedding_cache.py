"""An embedder that remembers: an LRU of vectors keyed by text, in front of any Embedder.

Answers and citation checks embed the sentences of retrieved passages, and the same passages come
back across questions, so a sentence seen before is not encoded again. Texts missing from the cache
are encoded in one batched call per request; the cache is safe to share between threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from service.embeddings import Embedder


class EmbeddingCache:
    """An Embedder that returns remembered vectors and encodes only the texts it has not seen."""

    def __init__(self, embedder: Embedder, size: int = 20_000) -> None:
        self._embedder = embedder
        self._size = max(size, 0)
        self._vectors: OrderedDict[str, NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()
        self.encoded = 0  # texts actually sent to the encoder, for tests and benchmarks

    @property
    def name(self) -> str:
        """The wrapped encoder's name."""
        return self._embedder.name

    def __len__(self) -> int:
        with self._lock:
            return len(self._vectors)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit vectors for the texts, in order; unseen texts are encoded in one batch."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        found: dict[str, NDArray[np.float32]] = {}
        with self._lock:
            for text in texts:
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vector
        todo = list(dict.fromkeys(t for t in texts if t not in found))
        if todo:
            fresh = self._embedder.embed(todo)
            with self._lock:
                self.encoded += len(todo)
                for text, vector in zip(todo, fresh, strict=True):
                    found[text] = vector
                    if self._size:
                        self._vectors[text] = vector
                        self._vectors.move_to_end(text)
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)
