"""POST /summarize: a cited summary of one article, a set of articles, or a topic/filters."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import SummariesDep
from service.api.routes.ask import answer_response
from service.schemas import AskResponse, ErrorResponse, SummarizeRequest

router = APIRouter(tags=["answers"])


@router.post(
    "/summarize",
    response_model=AskResponse,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def summarize(body: SummarizeRequest, summaries: SummariesDep) -> AskResponse:
    """A summary whose every sentence is cited and verified, in the shape of an answer."""
    filters = body.filters.to_domain() if body.filters else None
    summary = summaries.summarize(body.topic, filters, body.article_ids, body.max_sentences)
    return answer_response(summary)
