"""Chroma access: the client the settings describe, and a collection handle that survives re-creation."""

from __future__ import annotations

from typing import Any

import httpx

from service.errors import BackendUnavailable
from service.settings import Settings


class ResolvingCollection:
    """A Chroma collection handle that follows its name, for processes that share a Chroma server.

    Chroma addresses a collection by id; when another process re-creates it (``ingest --reset``) the
    old id is gone and every call fails with NotFoundError. Each call here is retried once on the
    collection now bearing the name (all store calls are idempotent). A server that does not answer
    becomes BackendUnavailable (503), not a transport error (500).
    """

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self._name = name
        # embedding_function=None: Chroma's default embedder downloads a model; we pass vectors.
        self._current = client.get_or_create_collection(
            name=name, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )

    def _resolve(self) -> Any:
        from chromadb.errors import NotFoundError

        try:
            return self._client.get_collection(name=self._name, embedding_function=None)
        except NotFoundError as exc:
            raise BackendUnavailable(f"Chroma collection {self._name!r} does not exist") from exc

    def __getattr__(self, attribute: str) -> Any:
        from chromadb.errors import NotFoundError

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                try:
                    return getattr(self._current, attribute)(*args, **kwargs)
                except NotFoundError:
                    self._current = self._resolve()
                    return getattr(self._current, attribute)(*args, **kwargs)
            except (httpx.TransportError, ConnectionError) as exc:
                raise BackendUnavailable(f"Chroma is unreachable: {exc}") from exc

        return call


def build_chroma_client(settings: Settings) -> Any:
    """An embedded Chroma client under data_dir, or an HTTP client when a host is set."""
    import chromadb
    from chromadb.config import Settings as ChromaClientSettings

    client_settings = ChromaClientSettings(anonymized_telemetry=False)
    if settings.chroma.host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma.host,
                port=settings.chroma.port,
                ssl=settings.chroma.ssl,
                headers=settings.chroma.headers or None,
                settings=client_settings,
            )
        except Exception as exc:
            raise BackendUnavailable(
                f"Chroma server at {settings.chroma.host}:{settings.chroma.port} is unreachable: {exc}"
            ) from exc
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=client_settings)
