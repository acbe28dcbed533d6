"""POST /ask: answer a question from the articles, with citations."""

from __future__ import annotations

from fastapi import APIRouter

from service.answer_assembly import Answer, attribution
from service.api.deps import AnswersDep, MetricsDep, SettingsDep
from service.schemas import (
    ArticleOut,
    AskRequest,
    AskResponse,
    CitationOut,
    CopyOut,
    ErrorResponse,
    SentenceOut,
    TimeFrameOut,
)

router = APIRouter(tags=["answers"])


def answer_response(answer: Answer) -> AskResponse:
    """The API shape of a domain answer: every endpoint that answers serialises through here."""
    return AskResponse(
        answer=answer.text,
        citations=[
            CitationOut(
                n=c.n,
                chunk_id=c.passage.chunk.id,
                quote=c.quote,
                article=ArticleOut.of(c.passage.chunk.article),
                attribution=attribution(c.passage.chunk.article),
                also_in=[CopyOut.of(p) for p in c.copies],
            )
            for c in answer.citations
        ],
        sentences=[
            SentenceOut(text=s.text, citations=s.citations, supported=s.supported, score=s.score)
            for s in answer.sentences
        ],
        generator=answer.generator,
        insufficient=answer.insufficient,
        degraded=answer.degraded,
        reason=answer.reason or None,
        outlets_left_out=answer.outlets_left_out,
        time_frame=TimeFrameOut.of(answer.time_frame) if answer.time_frame else None,
    )


@router.post("/ask", response_model=AskResponse, responses={422: {"model": ErrorResponse}})
def ask(body: AskRequest, answers: AnswersDep, settings: SettingsDep, metrics: MetricsDep) -> AskResponse:
    """An answer whose claims cite the passages they come from."""
    filters = body.filters.to_domain() if body.filters else None
    answer = answers.ask(body.question, body.top_k or settings.top_k, filters, body.as_of)
    metrics.count_answer(answer.generator, answer.degraded, answer.insufficient)
    return answer_response(answer)
