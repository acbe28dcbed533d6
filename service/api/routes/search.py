"""POST /search: semantic search over the indexed passages."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import RetrieverDep, SettingsDep
from service.schemas import ErrorResponse, SearchRequest, SearchResponse, SearchResult

router = APIRouter(tags=["search"])


@router.post("/search", response_model=SearchResponse, responses={422: {"model": ErrorResponse}})
def search(body: SearchRequest, retriever: RetrieverDep, settings: SettingsDep) -> SearchResponse:
    """The passages that best match the query, best first."""
    filters = body.filters.to_domain() if body.filters else None
    passages = retriever.search(body.query, body.top_k or settings.top_k, filters)
    return SearchResponse(results=[SearchResult.of(rank, p) for rank, p in enumerate(passages, start=1)])
