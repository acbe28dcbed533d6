"""OpenAI-compatible API: POST /v1/chat/completions (streaming and not) and GET /v1/models."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from service.api.deps import AnswersDep, CondenserDep, SettingsDep
from service.api.routes.ask import answer_response
from service.errors import NewsragError
from service.openai_format import (
    ChatRequest,
    chunk,
    completion,
    completion_id,
    extras,
    models,
    references_text,
)
from service.schemas import ErrorResponse
from service.streaming import Delta, Final, Restart, StreamEvent, stream_answer

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["openai"])

_RESTART_NOTE = "\n\n(The language model failed; answering from the articles instead.)\n\n"


def _data(payload: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(payload, ensure_ascii=False))


def _squash(text: str) -> str:
    """The text with each run of whitespace made one space, none before punctuation, for comparison."""
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s+", " ", text)).strip()


def openai_chunks(events: Iterator[StreamEvent]) -> Iterator[ServerSentEvent]:
    """Domain events as ``chat.completion.chunk`` frames, then ``[DONE]``; errors as an error frame."""
    cid = completion_id()
    yield _data(chunk(cid, {"role": "assistant", "content": ""}))
    streamed = ""
    try:
        for event in events:
            if isinstance(event, Delta):
                streamed += event.text
                yield _data(chunk(cid, {"content": event.text}))
            elif isinstance(event, Restart):
                streamed = ""
                yield _data(chunk(cid, {"content": _RESTART_NOTE}))
            elif isinstance(event, Final):
                answer = answer_response(event.answer)
                tail = ""
                # Citation checks may change the text: then the checked answer follows in full.
                if _squash(streamed) != _squash(answer.answer):
                    tail += f"\n\nChecked answer: {answer.answer}"
                tail += references_text(answer.citations)
                if tail:
                    yield _data(chunk(cid, {"content": tail}))
                yield _data(chunk(cid, {}, "stop", **extras(answer)))
    except NewsragError as exc:
        log.warning("chat completion stream failed: %s", exc.message)
        yield _data({"error": {"code": exc.code, "message": exc.message, "type": exc.code}})
        return
    except Exception:
        log.exception("chat completion stream failed")
        message = "internal error; see the server log"
        yield _data({"error": {"code": "internal_error", "message": message, "type": "internal_error"}})
        return
    yield ServerSentEvent(data="[DONE]")


@router.get("/models")
def list_models() -> dict[str, Any]:
    """The models this server answers as: one, ``newsrag``."""
    return models()


@router.post(
    "/chat/completions",
    response_model=None,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "A completion, or chunks when stream"},
        404: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
    },
)
def chat_completions(
    body: ChatRequest, answers: AnswersDep, condenser: CondenserDep, settings: SettingsDep
) -> JSONResponse | EventSourceResponse:
    """The last user message answered from the articles, with references and citations."""
    question, history = body.question_and_history()
    question = condenser.condense(question, history)
    filters = body.filters.to_domain() if body.filters else None
    top_k = body.top_k or settings.top_k
    if body.stream:
        return EventSourceResponse(openai_chunks(stream_answer(answers, question, top_k, filters)))
    return JSONResponse(completion(answer_response(answers.ask(question, top_k, filters))))
