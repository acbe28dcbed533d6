"""The chunk store: one Chroma collection (embedded or server), our own vectors, article bookkeeping.

Each chunk carries its article's metadata plus ``content_hash`` and ``n_chunks``; an article is
complete in the index when exactly ``n_chunks`` chunks of its current hash are present. That makes
ingest crash-safe: new chunks are written before stale ones are deleted, and a re-run repairs any
article left half-written. Readers see only the version each article's live pointer names
(``service.live_versions``), so a half-written or half-replaced article is never visible.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from uuid import uuid4

import httpx
import numpy as np
from numpy.typing import NDArray

from service.chroma import ResolvingCollection, build_chroma_client
from service.chunk_metadata import article_meta_from, where_clause
from service.embeddings import embedder_identity
from service.encoder_choice import EMBEDDER_KEY, recorded_embedder, resolve_embedding_backend
from service.errors import BackendUnavailable, EmbedderMismatch
from service.live_versions import LIVE_SUFFIX, LiveVersions, version_of_hash
from service.models import ArticleSummary, Chunk, Filters, Passage
from service.sentence_vectors import SENTENCES_SUFFIX, SentenceVectors
from service.settings import Settings

_PAGE = 1000
_VISIBLE_READS = 3  # reads of records and pointers before a partial article is left out
# Collection metadata key whose value changes on every write; derived indexes (the lexical
# snapshot) compare it to know whether they are stale, in this process or any other.
GENERATION_KEY = "newsrag_generation"
# EMBEDDER_KEY (service.encoder_choice) names the encoder whose vectors the collection holds; vectors
# of two encoders must never mix in one collection.


def _is_live(metadata: dict[str, Any], live: dict[str, str]) -> bool:
    """True when a chunk's metadata names the version its article's live pointer names."""
    article_id = str(metadata.get("article_id", ""))
    return live.get(article_id) == version_of_hash(str(metadata.get("content_hash", "")))


class ChunkStore:
    """Chunks and their vectors in one Chroma collection."""

    def __init__(self, client: Any, collection_name: str, embedder: str = "") -> None:
        self._client = client
        self._collection_name = collection_name
        self._collection = ResolvingCollection(client, collection_name)
        self._max_batch = int(client.get_max_batch_size())
        self._embedder = self._claim(embedder)
        self._live = self._open_live()
        self._sentences = SentenceVectors(ResolvingCollection(client, collection_name + SENTENCES_SUFFIX))

    def _claim(self, embedder: str) -> str:
        """The collection's encoder identity, recorded when new; EmbedderMismatch when it differs.

        An empty ``embedder`` (a tool that writes no vectors) adopts whatever the collection holds.
        """
        collection = self._client.get_collection(self._collection_name, embedding_function=None)
        metadata = dict(collection.metadata or {})
        recorded = recorded_embedder(collection)
        if embedder and recorded and recorded != embedder:
            raise EmbedderMismatch(
                f"collection {self._collection_name!r} holds vectors of {recorded!r}, but the configured "
                f"encoder is {embedder!r}: use another collection (RAG_COLLECTION) or re-ingest with --reset"
            )
        identity = embedder or recorded
        if identity and metadata.get(EMBEDDER_KEY) != identity:
            self._embedder = identity
            self._touch()
        return identity

    @property
    def embedder(self) -> str:
        """Identity of the encoder whose vectors the collection holds ("" when not recorded)."""
        return self._embedder

    def _open_live(self) -> LiveVersions:
        """The live-pointer collection; created with pointers for every complete article if missing.

        An index written before pointers existed would otherwise look empty until the next ingest.
        """
        from chromadb.errors import NotFoundError

        name = self._collection_name + LIVE_SUFFIX
        try:
            self._client.get_collection(name=name, embedding_function=None)
            existed = True
        except NotFoundError:
            existed = False
        live = LiveVersions(ResolvingCollection(self._client, name))
        if not existed and self.count():
            live.set({a: s.content_hash for a, s in self.articles().items() if s.complete})
        return live

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
        self._touch()

    @property
    def sentence_vectors(self) -> SentenceVectors:
        """The chunks' sentence vectors stored by ingest (see service.sentence_vectors)."""
        return self._sentences

    def delete_chunks(self, ids: Iterable[str]) -> None:
        """Remove the given chunks (unknown ids are ignored), and their sentence vectors."""
        id_list = list(ids)
        for start in range(0, len(id_list), self._max_batch):
            self._collection.delete(ids=id_list[start : start + self._max_batch])
        if id_list:
            self._sentences.delete(id_list)
            self._touch()

    def publish(self, content_hashes: dict[str, str]) -> None:
        """Make the given versions of articles (id → content hash) the ones readers see."""
        if content_hashes:
            self._live.set(content_hashes)

    def publish_missing(self, content_hashes: dict[str, str]) -> int:
        """Publish the given versions where the live pointer is missing or differs; how many were."""
        live = self._live.of(content_hashes)
        missing = {a: h for a, h in content_hashes.items() if live.get(a) != version_of_hash(h)}
        self.publish(missing)
        return len(missing)

    def visible(self, chunks: Sequence[Chunk]) -> list[Chunk]:
        """The chunks readers may see: those of their article's live version, order kept."""
        return self._live.visible(chunks) if chunks else []

    def delete_articles(self, article_ids: Iterable[str]) -> None:
        """Hide the given articles from readers, then remove every chunk of theirs."""
        ids = list(article_ids)
        if ids:
            self._live.drop(ids)
            self._collection.delete(where={"article_id": {"$in": ids}})
            self._sentences.delete_articles(ids)
            self._touch()

    def reset(self) -> None:
        """Empty the collection and its live pointers (drop and recreate both)."""
        drop_collection(self._client, self._collection_name)
        self._collection = ResolvingCollection(self._client, self._collection_name)
        self._live = LiveVersions(ResolvingCollection(self._client, self._collection_name + LIVE_SUFFIX))
        self._sentences = SentenceVectors(
            ResolvingCollection(self._client, self._collection_name + SENTENCES_SUFFIX)
        )
        self._touch()

    def _touch(self) -> None:
        """Record that the collection changed (a new generation token in its metadata)."""
        # modify() replaces the whole metadata: the encoder identity is written again each time.
        metadata = {GENERATION_KEY: uuid4().hex}
        if self._embedder:
            metadata[EMBEDDER_KEY] = self._embedder
        self._collection.modify(metadata=metadata)

    def generation(self) -> str:
        """A token that changes whenever any process writes to the collection.

        EmbedderMismatch (409) once the collection records another encoder than this store's: another
        process re-created it (searches check the generation at most every lexical_check_seconds).
        """
        from chromadb.errors import NotFoundError

        try:
            collection = self._client.get_collection(self._collection_name, embedding_function=None)
        except (httpx.TransportError, ConnectionError, NotFoundError) as exc:
            message = f"Chroma collection {self._collection_name!r} unavailable: {exc}"
            raise BackendUnavailable(message) from exc
        metadata = collection.metadata or {}
        recorded = str(metadata.get(EMBEDDER_KEY) or "")
        if self._embedder and recorded and recorded != self._embedder:
            # Another process re-created the collection for another encoder (ingest --reset under auto).
            raise EmbedderMismatch(
                f"collection {self._collection_name!r} now holds vectors of {recorded!r}, but this "
                f"process encodes with {self._embedder!r}: restart it to follow the collection"
            )
        return f"{collection.id}:{metadata.get(GENERATION_KEY, '')}"

    def ids(self) -> list[str]:
        """Every stored chunk id."""
        out: list[str] = []
        offset = 0
        while True:
            page = self._collection.get(include=[], limit=_PAGE, offset=offset)
            out.extend(page["ids"])
            if len(page["ids"]) < _PAGE:
                return out
            offset += _PAGE

    def records_for(self, ids: Sequence[str]) -> Iterator[tuple[str, dict[str, Any], str]]:
        """The given chunks as (id, metadata, document); ids no longer stored are skipped."""
        for start in range(0, len(ids), _PAGE):
            page = self._collection.get(
                ids=list(ids[start : start + _PAGE]), include=["metadatas", "documents"]
            )
            documents = page.get("documents") or [""] * len(page["ids"])
            for chunk_id, metadata, document in zip(
                page["ids"], page["metadatas"] or [], documents, strict=True
            ):
                yield chunk_id, dict(metadata or {}), document or ""

    def embeddings_for(self, ids: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        """The stored vectors of the given chunks, by id (read in pages below Chroma's limit)."""
        found: dict[str, NDArray[np.float32]] = {}
        for start in range(0, len(ids), _PAGE):
            page = self._collection.get(ids=list(ids[start : start + _PAGE]), include=["embeddings"])
            vectors = page.get("embeddings")
            if vectors is None:
                continue
            found.update(
                {cid: np.asarray(v, dtype=np.float32) for cid, v in zip(page["ids"], vectors, strict=True)}
            )
        return found

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

    def articles(
        self, where: dict[str, Any] | None = None, *, visible_only: bool = False
    ) -> dict[str, ArticleSummary]:
        """Indexed articles by id, with chunk counts and whether each is complete.

        With ``visible_only``, only what readers see: each article's live version, whole, and only
        articles that have one. Without it, every stored chunk (what ingest needs to repair).
        """
        records = self._visible_records(where) if visible_only else list(self.iter_records(where))
        found: dict[str, ArticleSummary] = {}
        hashes: dict[str, set[str]] = {}
        expected: dict[str, set[int]] = {}
        for chunk_id, metadata, _ in records:
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
        """The chunks of an article's live version, whole, in reading order (none when hidden)."""
        records = self._visible_records({"article_id": article_id}, with_documents=True)
        chunks = [
            Chunk(id=cid, article=article_meta_from(meta), index=int(meta.get("chunk_index", 0)), text=doc)
            for cid, meta, doc in records
        ]
        return sorted(chunks, key=lambda c: c.index)

    def _visible_records(
        self, where: dict[str, Any] | None, with_documents: bool = False
    ) -> list[tuple[str, dict[str, Any], str]]:
        """The records of each article's live version, and only of versions read whole.

        Records are read before the pointers. A version can then look partial only when its pointer
        was switched while the records were being read (the writer finished in between): read again.
        An article still partial after a few reads is left out rather than shown in part.
        """
        kept: list[tuple[str, dict[str, Any], str]] = []
        partial: set[str] = set()
        for _ in range(_VISIBLE_READS):
            records = list(self.iter_records(where, with_documents=with_documents))
            live = self._live.of(str(m.get("article_id", "")) for _, m, _ in records)
            kept = [r for r in records if _is_live(r[1], live)]
            count: dict[str, int] = defaultdict(int)
            for _, metadata, _ in kept:
                count[str(metadata.get("article_id", ""))] += 1
            partial = {
                str(m.get("article_id", ""))
                for _, m, _ in kept
                if count[str(m.get("article_id", ""))] != int(m.get("n_chunks", -1))
            }
            if not partial:
                break
        return [r for r in kept if str(r[1].get("article_id", "")) not in partial]

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


def drop_collection(client: Any, name: str) -> None:
    """Delete a collection, its live pointers and its sentence vectors (any may be missing)."""
    from chromadb.errors import NotFoundError

    for dropped in (name + LIVE_SUFFIX, name + SENTENCES_SUFFIX, name):
        with contextlib.suppress(NotFoundError):
            client.delete_collection(dropped)


def build_store(settings: Settings, *, reset: bool = False) -> ChunkStore:
    """The chunk store the settings describe; with ``reset``, on the collection emptied first.

    Emptying before the store opens lets ``ingest --reset`` switch a collection to another encoder.
    ``embedding_backend=auto`` is resolved as ``resolve_embedding_backend`` does; a process that also
    builds an encoder resolves once itself and hands both the same settings.
    """
    client = build_chroma_client(settings)
    if reset:
        drop_collection(client, settings.collection)
    resolved = resolve_embedding_backend(settings, new_collection=reset, client=client)
    return ChunkStore(client, settings.collection, embedder_identity(resolved))
