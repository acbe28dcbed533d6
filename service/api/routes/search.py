"""POST /search: semantic search over the indexed passages."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import RetrieverDep, SettingsDep
from service.copies import fold_copies
from service.schemas import ErrorResponse, SearchRequest, SearchResponse, SearchResult

router = APIRouter(tags=["search"])
_CANDIDATES = 2  # passages searched per result wanted when copies were folded, to fill their places


@router.post("/search", response_model=SearchResponse, responses={422: {"model": ErrorResponse}})
def search(body: SearchRequest, retriever: RetrieverDep, settings: SettingsDep) -> SearchResponse:
    """The passages that best match the query, best first; a passage other articles carry too (wire
    copy) is one result listing them in ``also_in``, and the next passages fill its place."""
    filters = body.filters.to_domain() if body.filters else None
    top_k = body.top_k or settings.top_k
    passages = retriever.search(body.query, top_k, filters)
    groups = fold_copies(passages, top_k)
    if len(groups) < top_k and len(passages) == top_k:  # copies were folded: search on to fill in
        groups = fold_copies(retriever.search(body.query, top_k * _CANDIDATES, filters), top_k)
    return SearchResponse(
        results=[SearchResult.of(rank, g.passage, g.copies) for rank, g in enumerate(groups, start=1)]
    )
