"""POST /ask/stream over a real socket: SSE events parsed with httpx-sse, on the seeded index."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from httpx_sse import connect_sse
from numpy.typing import NDArray

from service.api.app import create_app
from service.embeddings import Embedder
from service.generation import Draft
from service.models import Passage
from service.settings import Settings
from service.store import ChunkStore
from tests.conftest import LiveServer, make_settings, seed
from tests.fakes import FakeOllama

pytestmark = pytest.mark.e2e

SOLEIMANI = "Who succeeded Soleimani as Quds Force commander?"
QAANI_BAGHDAD = "What did Qaani discuss in Baghdad?"
ISRAEL_FOLLOW_UP = "And what did he say about Israel?"


def stream_events(base_url: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every (event, parsed data) of one /ask/stream request, in order."""
    with (
        httpx.Client(base_url=base_url, timeout=120) as http,
        connect_sse(http, "POST", "/ask/stream", json=body) as source,
    ):
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return [(sse.event, json.loads(sse.data)) for sse in source.iter_sse()]


def names(events: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in events]


def payload(events: list[tuple[str, Any]], name: str) -> Any:
    found = [data for event, data in events if event == name]
    assert len(found) == 1, f"expected one {name} event in {names(events)}"
    return found[0]


def streamed_text(events: list[tuple[str, Any]]) -> str:
    """The deltas after the last restart, joined."""
    text = ""
    for name, data in events:
        if name == "restart":
            text = ""
        elif name == "delta":
            text += data["text"]
    return text


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_stream_sends_sources_deltas_the_answer_then_done(live_server: LiveServer) -> None:
    events = stream_events(live_server.url, {"question": SOLEIMANI})
    order = names(events)
    assert order[0] == "sources" and order[-2:] == ["answer", "done"]
    assert set(order[1:-2]) == {"delta"} and len(order[1:-2]) >= 2  # sentence by sentence
    sources = payload(events, "sources")
    assert sources["query"] == SOLEIMANI
    assert sources["passages"] and sources["passages"][0]["article"]["title"]
    answer = payload(events, "answer")
    assert answer["generator"] == "extractive" and answer["insufficient"] is False
    assert squash(streamed_text(events)) == squash(answer["answer"])


def test_streamed_answer_is_serialised_like_ask(live_server: LiveServer, client: httpx.Client) -> None:
    answer = payload(stream_events(live_server.url, {"question": SOLEIMANI}), "answer")
    assert answer == client.post("/ask", json={"question": SOLEIMANI}).json()
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])}
    assert markers == {c["n"] for c in answer["citations"]}


def test_stream_of_a_question_the_seeds_cannot_answer_ends_insufficient(live_server: LiveServer) -> None:
    events = stream_events(live_server.url, {"question": "What is the capital of Australia?"})
    assert names(events)[-1] == "done"
    answer = payload(events, "answer")
    assert answer["insufficient"] is True and answer["citations"] == []


def test_invalid_stream_request_is_a_json_422_before_any_event(client: httpx.Client) -> None:
    response = client.post("/ask/stream", json={"question": "  ", "conversation": [{"role": "x"}]})
    assert response.status_code == 422
    fields = {f["field"] for f in response.json()["error"]["fields"]}
    assert "question" in fields and any(f.startswith("conversation") for f in fields)


def test_follow_up_question_retrieves_with_the_previous_questions_entities(live_server: LiveServer) -> None:
    conversation = [
        {"role": "user", "content": QAANI_BAGHDAD},
        {"role": "assistant", "content": "Qaani met leaders of the Coordination Framework [1]."},
    ]
    alone = payload(stream_events(live_server.url, {"question": ISRAEL_FOLLOW_UP}), "sources")
    followed = payload(
        stream_events(live_server.url, {"question": ISRAEL_FOLLOW_UP, "conversation": conversation}),
        "sources",
    )
    assert "Qaani" in followed["query"] and followed["query"].startswith(ISRAEL_FOLLOW_UP)
    # Seed 001 reports what Qaani said about Israeli strikes: the carried names bring it to the top.
    assert any("Israeli strikes" in p["text"] for p in followed["passages"][:3])
    assert not any("Israeli strikes" in p["text"] for p in alone["passages"][:3])


def test_ollama_token_deltas_arrive_as_written_with_citations_numbered_as_in_the_answer(
    ollama_server: tuple[FakeOllama, LiveServer],
) -> None:
    fake, server = ollama_server
    # The model cites passage 2 first; a marker is split across two tokens.
    fake.replies = [["Esmail ", "Ghaani succeeded ", "him [", "2]. He visited Baghdad [1", "]."]]
    events = stream_events(server.url, {"question": SOLEIMANI})
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) >= 4
    answer = payload(events, "answer")
    assert answer["generator"] == f"ollama:{fake.models[0]}" and answer["degraded"] is False
    # Markers are renumbered in order of first use as they stream: the model's [2] shows as [1].
    assert squash("".join(deltas)) == squash("Esmail Ghaani succeeded him [1]. He visited Baghdad [2].")
    # The checked answer (which supersedes the streamed text) cites only passages that were sent.
    sources = {p["chunk_id"] for p in payload(events, "sources")["passages"]}
    assert all(c["chunk_id"] in sources for c in answer["citations"])
    sent = fake.chat_requests()[-1]
    assert sent["stream"] is True and sent["messages"][0]["role"] == "system"


def test_llm_failing_mid_stream_restarts_extractively_and_marks_the_answer_degraded(
    ollama_server: tuple[FakeOllama, LiveServer],
) -> None:
    fake, server = ollama_server
    fake.replies = [["Esmail ", "Ghaani ", "succeeded ", "him [1]."]]
    fake.cut_after = 2
    events = stream_events(server.url, {"question": SOLEIMANI})
    order = names(events)
    assert order[0] == "sources" and order[-2:] == ["answer", "done"]
    restart = payload(events, "restart")
    assert restart["generator"] == "extractive" and restart["reason"]
    assert order.index("restart") > order.index("delta")  # the LLM had started writing
    answer = payload(events, "answer")
    assert answer["degraded"] is True and answer["generator"] == "extractive"
    assert answer["reason"] == restart["reason"] and answer["citations"]
    assert squash(streamed_text(events)) == squash(answer["answer"])


def test_follow_up_is_condensed_by_the_llm_when_there_is_one(
    ollama_server: tuple[FakeOllama, LiveServer],
) -> None:
    fake, server = ollama_server
    standalone = "What did Esmail Qaani say about Israel?"
    fake.replies = [[standalone], ["He warned Iran would not stay silent [1]."]]
    conversation = [
        {"role": "user", "content": QAANI_BAGHDAD},
        {"role": "assistant", "content": "Qaani met faction leaders [1].\n\nReferences:\n[1] A — B, 2025"},
    ]
    events = stream_events(server.url, {"question": ISRAEL_FOLLOW_UP, "conversation": conversation})
    assert payload(events, "sources")["query"] == standalone
    condense_request = fake.chat_requests()[0]
    prompt = condense_request["messages"][-1]["content"]
    assert QAANI_BAGHDAD in prompt and ISRAEL_FOLLOW_UP in prompt
    assert "References" not in prompt and "[1]" not in prompt
    assert condense_request["stream"] is False


class BreaksAfterOneSentence:
    """A generator whose stream fails with an unexpected error after its first sentence."""

    name = "breaks"

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft:
        raise AssertionError("the stream endpoint must not call generate")

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield "A first sentence [1]."
        raise RuntimeError("disk on fire")


class EmbedsOnce:
    """The real embedder for the first call (the query), then broken (the extractive fallback)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.calls = 0

    @property
    def name(self) -> str:
        return self.inner.name

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("embedder died")
        return self.inner.embed(texts)


def test_generator_bug_mid_stream_costs_only_the_llm_answer(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    settings, store = seeded
    app = create_app(settings, store=store, embedder=embedder, generator=BreaksAfterOneSentence())
    with LiveServer(app) as server:
        events = stream_events(server.url, {"question": SOLEIMANI})
    assert names(events)[:3] == ["sources", "delta", "restart"] and names(events)[-1] == "done"
    answer = payload(events, "answer")
    assert answer["degraded"] is True and answer["generator"] == "extractive" and answer["citations"]
    assert "disk on fire" not in answer["reason"]


def test_error_after_the_stream_started_arrives_as_an_error_event(tmp_path: Path, embedder: Embedder) -> None:
    # An index without stored sentence vectors (as one written before them): the extractive
    # fallback then embeds its candidate sentences (answer_candidates), and that fails.
    settings, store = seed(make_settings(tmp_path / "data"), embedder)
    store.sentence_vectors.delete([c.id for a in store.articles() for c in store.chunks_of(a)])
    broken = EmbedsOnce(embedder)
    app = create_app(settings, store=store, embedder=broken, generator=BreaksAfterOneSentence())  # type: ignore[arg-type]
    with LiveServer(app) as server:
        events = stream_events(server.url, {"question": SOLEIMANI})
    assert names(events) == ["sources", "delta", "restart", "error"]
    error = payload(events, "error")["error"]
    assert error["code"] == "internal_error" and "embedder died" not in error["message"]
