"""Split a cleaned article into overlapping passages with LlamaIndex's sentence splitter."""

from __future__ import annotations

from functools import lru_cache

from llama_index.core.node_parser import SentenceSplitter

from service.models import Article, Chunk


@lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int) -> SentenceSplitter:
    """One splitter per (size, overlap); building one loads a tokenizer."""
    return SentenceSplitter(chunk_size=chunk_size, chunk_overlap=min(chunk_overlap, chunk_size // 2))


def chunk_id(article: Article, index: int) -> str:
    """Deterministic id: the article, the version of its content, the position."""
    return f"{article.meta.id}-{article.content_hash[:8]}-{index:04d}"


def chunk_article(article: Article, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """The article's passages in reading order, each carrying the article's metadata."""
    pieces = [p.strip() for p in _splitter(chunk_size, chunk_overlap).split_text(article.text)]
    pieces = [p for p in pieces if p]
    return [
        Chunk(id=chunk_id(article, i), article=article.meta, index=i, text=piece)
        for i, piece in enumerate(pieces)
    ]
