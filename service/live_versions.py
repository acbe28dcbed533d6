"""Which version of each article readers may see: one pointer per article, switched atomically.

Chroma writes chunks in batches and has no transactions, so a reader querying while an article is
written or replaced could see part of it, or its old and new chunks together. Each article therefore
has one pointer record (in a small companion collection, ``<collection>__live``) naming the content
version whose chunks are complete. Ingest writes an article's chunks, then switches its pointer, then
deletes the old chunks; a delete drops the pointer first. Readers keep only chunks of the version the
pointer names, so an article appears whole or not at all — in this process and in any other.

A chunk's version is the second-to-last segment of its id (``{article}-{hash8}-{index}``, see
``service.ingestion.chunking.chunk_id``), so filtering needs no extra metadata read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from service.models import Chunk

LIVE_SUFFIX = "__live"
_PAGE = 1000
_VERSION_LENGTH = 8
# Chroma stores a vector with every record; the pointers need none, so each gets this constant one.
_PLACEHOLDER_VECTOR = [1.0]


def version_of_hash(content_hash: str) -> str:
    """The version segment chunk ids carry for an article's content hash."""
    return content_hash[:_VERSION_LENGTH]


def version_of_chunk(chunk_id: str) -> str:
    """The content version encoded in a chunk id ("" when the id has no version segment)."""
    parts = chunk_id.rsplit("-", 2)
    return parts[1] if len(parts) == 3 else ""


class LiveVersions:
    """The pointer collection: article id → the content version readers see."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    def set(self, content_hashes: Mapping[str, str]) -> None:
        """Point each article at the version of its content hash (one write per batch of articles)."""
        ids = list(content_hashes)
        for start in range(0, len(ids), _PAGE):
            batch = ids[start : start + _PAGE]
            self._collection.upsert(
                ids=batch,
                embeddings=[_PLACEHOLDER_VECTOR] * len(batch),
                metadatas=[
                    {"version": version_of_hash(content_hashes[a]), "content_hash": content_hashes[a]}
                    for a in batch
                ],
            )

    def drop(self, article_ids: Iterable[str]) -> None:
        """Hide the articles from readers (before their chunks are deleted)."""
        ids = list(dict.fromkeys(article_ids))
        for start in range(0, len(ids), _PAGE):
            self._collection.delete(ids=ids[start : start + _PAGE])

    def of(self, article_ids: Iterable[str]) -> dict[str, str]:
        """The live version of each of the given articles that has one."""
        ids = list(dict.fromkeys(article_ids))
        found: dict[str, str] = {}
        for start in range(0, len(ids), _PAGE):
            page = self._collection.get(ids=ids[start : start + _PAGE], include=["metadatas"])
            found.update(_versions(page))
        return found

    def all(self) -> dict[str, str]:
        """The live version of every visible article."""
        found: dict[str, str] = {}
        offset = 0
        while True:
            page = self._collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            found.update(_versions(page))
            if len(page["ids"]) < _PAGE:
                return found
            offset += _PAGE

    def count(self) -> int:
        """Number of visible articles."""
        return int(self._collection.count())

    def visible(self, chunks: Sequence[Chunk]) -> list[Chunk]:
        """The chunks that belong to their article's live version, order kept."""
        live = self.of(c.article.id for c in chunks)
        return [c for c in chunks if live.get(c.article.id) == version_of_chunk(c.id)]


def _versions(page: Mapping[str, Any]) -> dict[str, str]:
    """Article id → version from one page of pointer records."""
    metadatas = page.get("metadatas") or [None] * len(page["ids"])
    return {
        str(article_id): str((metadata or {}).get("version", ""))
        for article_id, metadata in zip(page["ids"], metadatas, strict=True)
    }
