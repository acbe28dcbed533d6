"""GET /articles and GET /articles/{id}: what is indexed."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from service.api.deps import StoreDep
from service.errors import NotFound
from service.models import ArticleSummary
from service.schemas import ArticleDetail, ArticleList, ArticleListItem, ArticleOut, ChunkOut, ErrorResponse

router = APIRouter(tags=["articles"])


def _item(summary: ArticleSummary) -> ArticleListItem:
    return ArticleListItem(**ArticleOut.of(summary.meta).model_dump(), chunk_count=summary.chunk_count)


@router.get("/articles", response_model=ArticleList, responses={422: {"model": ErrorResponse}})
def list_articles(
    store: StoreDep,
    limit: Annotated[int | None, Query(ge=1, le=10_000, description="Page size (default: all).")] = None,
    offset: Annotated[int, Query(ge=0, description="Skip this many first.")] = 0,
) -> ArticleList:
    """The indexed articles, newest first (undated last), a page at a time when ``limit`` is given."""
    summaries = sorted(
        store.articles(visible_only=True).values(),
        key=lambda s: (s.meta.published or date.min, s.meta.title),
        reverse=True,
    )
    page = summaries[offset : None if limit is None else offset + limit]
    return ArticleList(articles=[_item(s) for s in page], total=len(summaries))


@router.get("/articles/{article_id}", response_model=ArticleDetail, responses={404: {"model": ErrorResponse}})
def get_article(article_id: str, store: StoreDep) -> ArticleDetail:
    """One article with its passages in reading order."""
    chunks = store.chunks_of(article_id)  # one read: the count and the passages of one version
    if not chunks:
        raise NotFound(f"no article with id {article_id!r}")
    summary = ArticleSummary(meta=chunks[0].article, chunk_count=len(chunks))
    return ArticleDetail(
        **_item(summary).model_dump(),
        chunks=[ChunkOut(chunk_id=c.id, index=c.index, text=c.text) for c in chunks],
    )
