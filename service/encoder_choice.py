"""Which encoder a process uses: ``RAG_EMBEDDING_BACKEND=auto`` follows what the collection records.

A Chroma collection records the encoder whose vectors it holds (``newsrag_embedder`` in its
metadata, see service.store); vectors of two encoders must never mix. ``auto`` is resolved once per
process, before the encoder and the store are built: an existing collection keeps the encoder it was
built with (an index built with torch stays torch), a new or empty one gets ``DEFAULT_BACKEND``. An
explicit backend is kept as it is; the store then refuses a collection of another encoder (409).
"""

from __future__ import annotations

from typing import Any, get_args

import httpx

from service.chroma import build_chroma_client
from service.errors import BackendUnavailable
from service.settings import EmbeddingBackend, Settings

# Collection metadata key naming the encoder whose vectors the collection holds (see
# service.embeddings.embedder_identity).
EMBEDDER_KEY = "newsrag_embedder"
# What an index written before the key existed holds: the only encoder there was then.
LEGACY_EMBEDDER = "all-MiniLM-L6-v2|torch"
# The encoder of new collections under ``auto``: as good as fp32 on the eval, about twice as fast.
DEFAULT_BACKEND: EmbeddingBackend = "onnx-int8"


def recorded_embedder(collection: Any) -> str:
    """The encoder identity a Chroma collection records ("" when it records none and is empty)."""
    recorded = str((collection.metadata or {}).get(EMBEDDER_KEY) or "")
    if not recorded and collection.count():
        return LEGACY_EMBEDDER
    return recorded


def backend_of(identity: str) -> EmbeddingBackend | None:
    """The backend named by an encoder identity such as ``all-MiniLM-L6-v2|torch`` (None if unknown)."""
    backend = identity.rpartition("|")[2]
    for known in get_args(EmbeddingBackend):
        if backend == known:
            return known  # type: ignore[no-any-return]
    return None


def existing_embedder(settings: Settings, client: Any | None = None) -> str:
    """The encoder identity the settings' collection records, read without creating the collection."""
    from chromadb.errors import NotFoundError

    client = client if client is not None else build_chroma_client(settings)
    try:
        collection = client.get_collection(settings.collection, embedding_function=None)
        return recorded_embedder(collection)
    except NotFoundError:
        return ""
    except (httpx.TransportError, ConnectionError) as exc:
        raise BackendUnavailable(f"Chroma is unreachable: {exc}") from exc


def resolve_embedding_backend(
    settings: Settings, *, new_collection: bool = False, client: Any | None = None
) -> Settings:
    """The settings with a concrete encoder backend: ``auto`` follows the collection's record.

    With ``new_collection`` (the caller is about to empty it, e.g. ``ingest --reset``) the record is
    not read: ``auto`` gives ``DEFAULT_BACKEND``. A record naming an unknown backend also gives it (the
    store then refuses the collection). ``client`` is a Chroma client to reuse.
    """
    if settings.embedding_backend != "auto":
        return settings
    backend = DEFAULT_BACKEND
    if not new_collection:
        backend = backend_of(existing_embedder(settings, client)) or DEFAULT_BACKEND
    return settings.model_copy(update={"embedding_backend": backend})
