"""The official ``openai`` client against the live server: models, completions, streamed chunks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.conftest import LiveServer
from tests.fakes import FakeOllama

pytestmark = pytest.mark.e2e

SOLEIMANI = "Who succeeded Soleimani as Quds Force commander?"
SEED_002_TITLE = "Soleimani's Successor Visits Iraq As Trump Threatens Retaliation for Embassy Attack"
REFERENCE = re.compile(r"^\[(\d+)\] (.+?)(?: — (.+))?$")


@pytest.fixture()
def oai(live_server: LiveServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{live_server.url}/v1", api_key="unused", max_retries=0, timeout=120) as client:
        yield client


def split_references(content: str) -> tuple[str, list[str]]:
    """The answer body and its reference lines."""
    body, _, refs = content.partition("\n\nReferences:\n")
    return body, refs.splitlines()


def check_references(content: str, citations: list[dict[str, Any]]) -> None:
    """Every [n] in the body has a reference line naming its article, and the citation behind it."""
    body, lines = split_references(content)
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    assert markers and markers == {c["n"] for c in citations}
    assert len(lines) == len(citations)
    for line, citation in zip(lines, citations, strict=True):
        match = REFERENCE.match(line)
        assert match, line
        assert int(match.group(1)) == citation["n"]
        assert match.group(2) == (citation["article"]["title"] or citation["article"]["origin"])


def test_models_lists_newsrag(oai: OpenAI) -> None:
    assert [m.id for m in oai.models.list().data] == ["newsrag"]


def test_completion_ends_with_references_and_carries_structured_citations(oai: OpenAI) -> None:
    done = oai.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": SOLEIMANI}])
    content = done.choices[0].message.content or ""
    assert done.choices[0].finish_reason == "stop"
    extra = done.model_extra or {}
    check_references(content, extra["citations"])
    assert SEED_002_TITLE in {c["article"]["title"] for c in extra["citations"]}
    assert extra["newsrag"]["generator"] == "extractive" and extra["newsrag"]["insufficient"] is False
    assert content.startswith(extra["newsrag"]["answer"])


def test_reference_lines_name_outlet_and_publication_date(oai: OpenAI) -> None:
    question = "When did Qaani visit Baghdad?"
    done = oai.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": question}])
    content = done.choices[0].message.content or ""
    dated = {
        c["n"]: f"{c['article']['source']}, {int(c['article']['published'][8:])} March 2025"
        for c in (done.model_extra or {})["citations"]
        if c["article"]["source"] and c["article"]["published"]
    }
    assert dated, "the seeds from The National and Shafaq News carry outlet and date"
    _, lines = split_references(content)
    for n, where in dated.items():
        assert any(line.startswith(f"[{n}] ") and line.endswith(f" — {where}") for line in lines)


def test_streamed_completion_ends_with_references_and_citations(oai: OpenAI) -> None:
    stream = oai.chat.completions.create(
        model="newsrag", messages=[{"role": "user", "content": SOLEIMANI}], stream=True
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content or "" for c in chunks]
    assert sum(1 for p in pieces if p) >= 3  # sentences arrive one by one, then the references
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    extra = last.model_extra or {}
    content = "".join(pieces)
    check_references(content, extra["citations"])
    assert "Checked answer" not in content  # the streamed text was the checked answer


def test_earlier_messages_are_the_conversation(oai: OpenAI) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "What did Qaani discuss in Baghdad?"},
        {"role": "assistant", "content": "He met faction leaders [1].\n\nReferences:\n[1] X — Y, 2025"},
        {"role": "user", "content": [{"type": "text", "text": "And what did he say about Israel?"}]},
    ]
    done = oai.chat.completions.create(model="newsrag", messages=messages)
    extra = done.model_extra or {}
    quotes = " ".join(c["quote"] for c in extra["citations"])
    assert "Israeli strikes" in quotes


def test_a_long_chat_is_answered_from_its_last_turns(oai: OpenAI) -> None:
    earlier: list[Any] = []
    for n in range(150):  # a chat client sends the whole conversation, however long it has grown
        earlier += [
            {"role": "user", "content": f"Tell me about the weather on day {n}."},
            {"role": "assistant", "content": "The indexed articles do not contain the answer."},
        ]
    messages = [
        *earlier,
        {"role": "user", "content": "What did Qaani discuss in Baghdad?"},
        {"role": "assistant", "content": "He met faction leaders [1].\n\nReferences:\n[1] X — Y, 2025"},
        {"role": "user", "content": "And what did he say about Israel?"},
    ]
    done = oai.chat.completions.create(model="newsrag", messages=messages)
    quotes = " ".join(c["quote"] for c in (done.model_extra or {})["citations"])
    assert "Israeli strikes" in quotes


def test_question_the_articles_cannot_answer_has_no_references(oai: OpenAI) -> None:
    done = oai.chat.completions.create(
        model="newsrag", messages=[{"role": "user", "content": "What is the capital of Australia?"}]
    )
    extra = done.model_extra or {}
    assert extra["newsrag"]["insufficient"] is True and extra["citations"] == []
    assert "References:" not in (done.choices[0].message.content or "")


def test_unknown_model_is_a_404_the_client_understands(oai: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        oai.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "hi"}])
    assert "newsrag" in str(caught.value)


def test_conversation_ending_with_an_assistant_message_is_a_422(client: httpx.Client) -> None:
    body = {"model": "newsrag", "messages": [{"role": "user", "content": "a"}, {"role": "assistant"}]}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "bad_input"


def streamed_content(server: LiveServer) -> tuple[str, dict[str, Any]]:
    """The joined content of a streamed completion and the extras of its last chunk."""
    with OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=120) as client:
        chunks = list(
            client.chat.completions.create(
                model="newsrag", messages=[{"role": "user", "content": SOLEIMANI}], stream=True
            )
        )
    return "".join(c.choices[0].delta.content or "" for c in chunks), chunks[-1].model_extra or {}


def test_streamed_llm_answer_keeps_only_real_citations_and_lists_their_references(
    ollama_server: tuple[FakeOllama, LiveServer],
) -> None:
    fake, server = ollama_server
    # Claims of at least three content words: a bare "Iran [1]." is dropped as a fragment.
    fake.replies = [
        [
            "Within hours of the killing, Ghaani was appointed ",
            "his successor [",
            "2]. He came from [9",
            "] Iran, where Ghaani served as Soleimani's deputy since 1997 [1].",
        ]
    ]
    content, extra = streamed_content(server)
    # The invented [9] never reaches the client; the citation check may then rewrite the answer
    # ("Checked answer: …"), and the references list exactly the citations of the checked answer.
    assert "[9]" not in content
    check_references(content.split("Checked answer:", 1)[-1], extra["citations"])
    assert extra["newsrag"]["generator"] == f"ollama:{fake.models[0]}"


def test_llm_failing_mid_stream_says_so_and_ends_with_the_extractive_answer(
    ollama_server: tuple[FakeOllama, LiveServer],
) -> None:
    fake, server = ollama_server
    fake.replies = [["Esmail ", "Ghaani ", "succeeded ", "him [1]."]]
    fake.cut_after = 2
    content, extra = streamed_content(server)
    assert "language model failed" in content
    after = content.split("language model failed", 1)[1]
    assert extra["newsrag"]["degraded"] is True and extra["newsrag"]["generator"] == "extractive"
    check_references(after.split(")", 1)[1], extra["citations"])
