"""Chunk metadata in Chroma: how a chunk and its article are stored, read back and filtered.

Chroma metadata is flat and holds no None, so dates are kept twice: ISO text to read back, and a
YYYYMMDD number that ``$gte``/``$lte`` filters compare (0 when the article has no date).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from service.models import ArticleMeta, Chunk, Filters


def day_number(day: date | None) -> int:
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
        "published_day": day_number(meta.published),
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
        clauses.append({"published_day": {"$gte": day_number(filters.published_after)}})
    if filters.published_before:
        # Undated articles (0) must not pass an upper bound.
        clauses.append({"published_day": {"$lte": day_number(filters.published_before)}})
        clauses.append({"published_day": {"$gt": 0}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
