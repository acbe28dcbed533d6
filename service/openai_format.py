"""The OpenAI chat-completions wire format: requests in, completions and chunks out (no FastAPI).

newsrag shows up as one model, ``newsrag``. The last user message is the question, the messages
before it the conversation. The answer text ends with a references list (``[1] Title — Outlet,
date``); the structured citations travel in the extra fields ``citations`` and ``newsrag`` (the
whole ``/ask`` response), which the official client exposes as ``completion.model_extra``.
"""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.conversation import Turn
from service.errors import BadInput, NotFound
from service.schemas import ArticleOut, AskResponse, CitationOut, FiltersIn

MODEL_ID = "newsrag"
_CREATED = 1_767_225_600  # 2026-01-01: when the model "newsrag" first existed, for /v1/models


class ContentPart(BaseModel):
    """A part of a message's content; only text parts carry a question."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """One message of the conversation, as OpenAI clients send it."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Annotated[str, StringConstraints(max_length=20000)] | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        """The message's text, its text parts joined."""
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``; unknown OpenAI options (temperature, …) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description='The model; "newsrag" (see GET /v1/models).')
    # Chat clients send the whole conversation; only its last turns are read (service/conversation.py).
    messages: list[ChatMessage] = Field(min_length=1, max_length=10_000)
    stream: bool = False
    top_k: int | None = Field(default=None, ge=1, le=50, description="newsrag: passages to answer from.")
    filters: FiltersIn | None = Field(default=None, description="newsrag: outlet and date filters.")

    def question_and_history(self) -> tuple[str, list[Turn]]:
        """The last user message, and the user/assistant messages before it."""
        if self.model != MODEL_ID:
            raise NotFound(f"model {self.model!r} does not exist; GET /v1/models lists {MODEL_ID!r}")
        last = self.messages[-1]
        question = last.text.strip()
        if last.role != "user" or not question:
            raise BadInput("the last message must be a user message with text: the question")
        history = [
            Turn(m.role, m.text)
            for m in self.messages[:-1]
            if m.role in ("user", "assistant") and m.text.strip()
        ]
        return question, history


def _human_date(day: date | None) -> str:
    return f"{day.day} {day:%B %Y}" if day else ""


def reference(n: int, article: ArticleOut) -> str:
    """``[n] Title — Outlet, 25 March 2025``, leaving out what is unknown."""
    title = article.title or article.origin or article.id
    where = ", ".join(p for p in (article.source, _human_date(article.published)) if p)
    return f"[{n}] {title} — {where}" if where else f"[{n}] {title}"


def references_text(citations: list[CitationOut]) -> str:
    """The references block appended to an answer (empty without citations)."""
    if not citations:
        return ""
    return "\n\nReferences:\n" + "\n".join(reference(c.n, c.article) for c in citations)


def extras(answer: AskResponse) -> dict[str, Any]:
    """The extra fields of a completion: structured citations and the whole /ask answer."""
    body = answer.model_dump(mode="json")
    return {"citations": body["citations"], "newsrag": body}


def completion_id() -> str:
    """A fresh ``chatcmpl-…`` id."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion(answer: AskResponse) -> dict[str, Any]:
    """A ``chat.completion`` object for a finished answer."""
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer.answer + references_text(answer.citations),
                },
                "finish_reason": "stop",
            }
        ],
        **extras(answer),
    }


def chunk(
    chunk_id: str, delta: dict[str, str], finish_reason: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A ``chat.completion.chunk`` object."""
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        **extra,
    }


def models() -> dict[str, Any]:
    """``GET /v1/models``: the one model newsrag serves."""
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": _CREATED, "owned_by": "newsrag"}],
    }
