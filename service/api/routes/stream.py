"""POST /ask/stream: the answer as Server-Sent Events (sources, deltas, the checked answer, done)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent

from service.api.deps import AnswersDep, CondenserDep, SettingsDep
from service.api.routes.ask import answer_response
from service.conversation import Turn
from service.errors import NewsragError
from service.schemas import AskStreamRequest, ErrorResponse, SearchResult
from service.streaming import Delta, Final, Restart, Sources, StreamEvent, stream_answer

log = logging.getLogger(__name__)

router = APIRouter(tags=["answers"])

_PING_SECONDS = 15


def _event(name: str, payload: object) -> ServerSentEvent:
    return ServerSentEvent(event=name, data=json.dumps(payload, ensure_ascii=False))


def _error(code: str, message: str) -> ServerSentEvent:
    return _event("error", {"error": {"code": code, "message": message}})


def sse_events(events: Iterator[StreamEvent]) -> Iterator[ServerSentEvent]:
    """The domain events as SSE; a failure after the start becomes an ``error`` event."""
    try:
        for event in events:
            if isinstance(event, Sources):
                passages = [
                    SearchResult.of(rank, p).model_dump(mode="json")
                    for rank, p in enumerate(event.passages, start=1)
                ]
                yield _event("sources", {"query": event.query, "passages": passages})
            elif isinstance(event, Delta):
                yield _event("delta", {"text": event.text})
            elif isinstance(event, Restart):
                yield _event("restart", {"reason": event.reason, "generator": event.generator})
            elif isinstance(event, Final):
                yield _event("answer", answer_response(event.answer).model_dump(mode="json"))
    except NewsragError as exc:
        log.warning("stream failed: %s", exc.message)
        yield _error(exc.code, exc.message)
        return
    except Exception:
        log.exception("stream failed")
        yield _error("internal_error", "internal error; see the server log")
        return
    yield _event("done", {})


@router.post(
    "/ask/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "sources, delta…, answer, done"},
        422: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
    },
)
def ask_stream(
    body: AskStreamRequest, answers: AnswersDep, condenser: CondenserDep, settings: SettingsDep
) -> EventSourceResponse:
    """The answer as it is written; a follow-up is read in the context of ``conversation``."""
    history = [Turn(t.role, t.content) for t in body.conversation]
    question = condenser.condense(body.question, history)
    filters = body.filters.to_domain() if body.filters else None
    # Retrieval runs before the response starts, so a failing index is a plain 503.
    events = stream_answer(answers, question, body.top_k or settings.top_k, filters)
    return EventSourceResponse(sse_events(events), ping=_PING_SECONDS)
