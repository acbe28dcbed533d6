"""Domain records shared by the ingest job and the service: articles, chunks, passages, filters."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date


def stable_hash(*parts: str, length: int = 16) -> str:
    """A short, deterministic hex digest of the given strings."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


@dataclass(frozen=True)
class ArticleMeta:
    """What we know about an article; unknown fields are empty, never guessed."""

    id: str
    title: str = ""
    source: str = ""
    author: str = ""
    published: date | None = None
    origin: str = ""


@dataclass(frozen=True)
class Article:
    """A cleaned article ready for chunking."""

    meta: ArticleMeta
    text: str
    source_file: str = ""  # absolute path it was read from; used by --prune, never shown

    @property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index, so any change is seen."""
        m = self.meta
        published = m.published.isoformat() if m.published else ""
        return stable_hash(m.title, m.source, m.author, published, m.origin, self.text)


@dataclass(frozen=True)
class Chunk:
    """One passage of an article as stored in the index."""

    id: str
    article: ArticleMeta
    index: int
    text: str


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its relevance score (higher is better)."""

    chunk: Chunk
    score: float


@dataclass(frozen=True)
class Filters:
    """Restrictions applied to retrieval; empty fields restrict nothing."""

    sources: tuple[str, ...] = ()
    published_after: date | None = None
    published_before: date | None = None
    article_ids: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing is restricted."""
        return not (self.sources or self.published_after or self.published_before or self.article_ids)


@dataclass
class ArticleSummary:
    """An indexed article with its chunk count, as listed by the store."""

    meta: ArticleMeta
    chunk_count: int
    content_hash: str = ""
    source_file: str = ""
    complete: bool = True
    chunk_ids: list[str] = field(default_factory=list)


def passage_header(meta: ArticleMeta) -> str:
    """The title/outlet/date line set before a chunk's text when it is embedded and indexed."""
    dated = ", ".join(p for p in (meta.source, meta.published.isoformat() if meta.published else "") if p)
    return " | ".join(p for p in (meta.title, dated) if p)


def indexed_text(chunk: Chunk) -> str:
    """What the encoder and the lexical index read for a chunk: its header, then its text."""
    header = passage_header(chunk.article)
    return f"{header}\n{chunk.text}" if header else chunk.text
