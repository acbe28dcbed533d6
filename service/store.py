"""The chunk store: one Chroma collection (embedded or server), our own vectors, article bookkeeping.

Each chunk carries its article's metadata plus ``content_hash`` and ``n_chunks``; an article is
complete in the index when exactly ``n_chunks`` chunks of its current hash are present. That makes
ingest crash-safe: new chunks are written before stale ones are deleted, and a re-run repairs any
article left half-written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

import httpx
import numpy as np
from numpy.typing import NDArray

from service.errors import BackendUnavailable
from service.models import ArticleMeta, ArticleSummary, Chunk, Filters, Passage
from service.settings import Settings

_PAGE = 1000


def _day_number(day: date | None) -> int:
    """A date as YYYYMMDD, comparable with $gte/$lte in Chroma; 0 when unknown."""
    return day.year * 10000 + day.month * 100 + day.day if day else 0


def chunk_metadata(chunk: Chunk, content_hash: str, n_chunks: int, source_file: str) -> dict[str, Any]:
    """The flat metadata stored with a chunk in Chroma (no None values allowed there)."""
    meta = chunk.article
    return {
        "article_id": meta.id,
        "chunk_index": chunk.index,
        "n_chunks": n_chunks,
        "content_hash": content_hash,
        "title": meta.title,
        "source": meta.source,
        "source_key": meta.source.casefold(),
        "author": meta.author,
        "published": meta.published.isoformat() if meta.published else "",
        "published_day": _day_number(meta.published),
        "origin": meta.origin,
        "source_file": source_file,
    }


def article_meta_from(metadata: dict[str, Any]) -> ArticleMeta:
    """Rebuild an article's metadata from a stored chunk's metadata."""
    published = str(metadata.get("published") or "")
    return ArticleMeta(
        id=str(metadata["article_id"]),
        title=str(metadata.get("title") or ""),
        source=str(metadata.get("source") or ""),
        author=str(metadata.get("author") or ""),
        published=date.fromisoformat(published) if published else None,
        origin=str(metadata.get("origin") or ""),
    )


def where_clause(filters: Filters) -> dict[str, Any] | None:
    """Translate filters into a Chroma ``where`` clause (None when unrestricted)."""
    clauses: list[dict[str, Any]] = []
    if filters.sources:
        clauses.append({"source_key": {"$in": sorted({s.casefold() for s in filters.sources})}})
    if filters.article_ids:
        clauses.append({"article_id": {"$in": list(dict.fromkeys(filters.article_ids))}})
    if filters.published_after:
        clauses.append({"published_day": {"$gte": _day_number(filters.published_after)}})
    if filters.published_before:
        # Undated articles (0) must not pass an upper bound.
        clauses.append({"published_day": {"$lte": _day_number(filters.published_before)}})
        clauses.append({"published_day": {"$gt": 0}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


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


class ChunkStore:
    """Chunks and their vectors in one Chroma collection."""

    def __init__(self, client: Any, collection_name: str) -> None:
        self._client = client
        self._collection_name = collection_name
        self._collection = ResolvingCollection(client, collection_name)
        self._max_batch = int(client.get_max_batch_size())

    @property
    def collection_name(self) -> str:
        """Name of the Chroma collection."""
        return self._collection_name

    def count(self) -> int:
        """Number of chunks stored."""
        return int(self._collection.count())

    def upsert(
        self,
        chunks: Sequence[Chunk],
        vectors: NDArray[np.float32],
        documents: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        """Write chunks with their vectors, in batches below Chroma's limit."""
        for start in range(0, len(chunks), self._max_batch):
            end = start + self._max_batch
            self._collection.upsert(
                ids=[c.id for c in chunks[start:end]],
                embeddings=vectors[start:end],
                documents=list(documents[start:end]),
                metadatas=list(metadatas[start:end]),
            )

    def delete_chunks(self, ids: Iterable[str]) -> None:
        """Remove the given chunks (unknown ids are ignored)."""
        id_list = list(ids)
        for start in range(0, len(id_list), self._max_batch):
            self._collection.delete(ids=id_list[start : start + self._max_batch])

    def delete_articles(self, article_ids: Iterable[str]) -> None:
        """Remove every chunk of the given articles."""
        ids = list(article_ids)
        if ids:
            self._collection.delete(where={"article_id": {"$in": ids}})

    def reset(self) -> None:
        """Empty the collection (drop and recreate it)."""
        self._client.delete_collection(self._collection_name)
        self._collection = ResolvingCollection(self._client, self._collection_name)

    def iter_records(
        self, where: dict[str, Any] | None = None, with_documents: bool = False
    ) -> Iterator[tuple[str, dict[str, Any], str]]:
        """Every stored chunk as (id, metadata, document), page by page."""
        include = ["metadatas", "documents"] if with_documents else ["metadatas"]
        offset = 0
        while True:
            page = self._collection.get(where=where, include=include, limit=_PAGE, offset=offset)
            ids = page["ids"]
            metadatas = page["metadatas"] or []
            documents = page.get("documents") or [""] * len(ids)
            for chunk_id, metadata, document in zip(ids, metadatas, documents, strict=True):
                yield chunk_id, dict(metadata or {}), document or ""
            if len(ids) < _PAGE:
                return
            offset += _PAGE

    def articles(self, where: dict[str, Any] | None = None) -> dict[str, ArticleSummary]:
        """Indexed articles by id, with chunk counts and whether each is complete."""
        found: dict[str, ArticleSummary] = {}
        hashes: dict[str, set[str]] = {}
        expected: dict[str, set[int]] = {}
        for chunk_id, metadata, _ in self.iter_records(where):
            article_id = str(metadata.get("article_id", ""))
            summary = found.get(article_id)
            if summary is None:
                summary = found[article_id] = ArticleSummary(
                    meta=article_meta_from(metadata),
                    chunk_count=0,
                    content_hash=str(metadata.get("content_hash", "")),
                    source_file=str(metadata.get("source_file", "")),
                )
            summary.chunk_count += 1
            summary.chunk_ids.append(chunk_id)
            hashes.setdefault(article_id, set()).add(str(metadata.get("content_hash", "")))
            expected.setdefault(article_id, set()).add(int(metadata.get("n_chunks", -1)))
        for article_id, summary in found.items():
            counts = expected[article_id]
            summary.complete = (
                len(hashes[article_id]) == 1 and len(counts) == 1 and summary.chunk_count in counts
            )
        return found

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """An article's chunks in reading order."""
        records = list(self.iter_records({"article_id": article_id}, with_documents=True))
        chunks = [
            Chunk(id=cid, article=article_meta_from(meta), index=int(meta.get("chunk_index", 0)), text=doc)
            for cid, meta, doc in records
        ]
        return sorted(chunks, key=lambda c: c.index)

    def query(self, vector: NDArray[np.float32], k: int, filters: Filters) -> list[Passage]:
        """The k chunks nearest the vector (cosine similarity as score), within the filters."""
        if k <= 0:
            return []
        result = self._collection.query(
            query_embeddings=vector.reshape(1, -1),
            n_results=k,
            where=where_clause(filters),
            include=["metadatas", "documents", "distances"],
        )
        ids = result["ids"][0]
        metadatas = (result["metadatas"] or [[]])[0]
        documents = (result["documents"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        passages: list[Passage] = []
        for chunk_id, meta, doc, distance in zip(ids, metadatas, documents, distances, strict=True):
            metadata = dict(meta or {})
            chunk = Chunk(
                id=chunk_id,
                article=article_meta_from(metadata),
                index=int(metadata.get("chunk_index", 0)),
                text=doc or "",
            )
            passages.append(Passage(chunk=chunk, score=1.0 - float(distance)))
        return passages

    def heartbeat(self) -> None:
        """Raise BackendUnavailable when Chroma does not answer."""
        try:
            self._client.heartbeat()
        except Exception as exc:  # chroma raises many transport error types
            raise BackendUnavailable(f"Chroma is unreachable: {exc}") from exc

    def check(self) -> str:
        """Why the store cannot serve (Chroma unreachable, collection gone), or "" when it can."""
        try:
            self.heartbeat()
            self._client.get_collection(name=self._collection_name, embedding_function=None)
        except BackendUnavailable as exc:
            return exc.message
        except Exception as exc:  # NotFoundError, or a server answering something else
            return f"Chroma collection {self._collection_name!r} is not available: {exc}"
        return ""


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


def build_store(settings: Settings) -> ChunkStore:
    """The chunk store the settings describe."""
    return ChunkStore(build_chroma_client(settings), settings.collection)
