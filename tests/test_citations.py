"""Citation verification over HTTP: a scripted generator writes faulty answers; each fault is caught.

The generator is a real implementation of the Generator protocol that writes a fixed answer from
the passages it is given (where an LLM would); everything else — retrieval on the seeded Chroma,
the MiniLM embedder, the verifier, the app over a socket — is the real thing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

import httpx
import pytest

from service.api.app import create_app
from service.citations import CitationVerifier, draft_sentences
from service.embeddings import Embedder
from service.extractive import cite
from service.generation import Draft
from service.models import Passage
from service.settings import Settings
from service.store import ChunkStore
from tests.conftest import LiveServer

QUESTION = "Who succeeded Soleimani as Quds Force commander?"
APPOINTED = (
    "Within hours of the killing, Ghaani was appointed his successor and commander of the covert Quds Force"
)
DEPUTY = "Ghaani served as Soleimani's deputy since 1997"

Script = Callable[[Sequence[Passage]], str]


class ScriptedGenerator:
    """A generator whose answer is written by a script from the numbered passages it receives."""

    name = "scripted"

    def __init__(self) -> None:
        self.script: Script = lambda passages: ""

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft:
        return Draft(self.script(passages), self.name)

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield self.script(passages)


def number_of(passages: Sequence[Passage], needle: str) -> int:
    """The 1-based number of the first passage containing the text."""
    return next(i for i, p in enumerate(passages, start=1) if needle in p.chunk.text)


def number_without(passages: Sequence[Passage], needle: str) -> int:
    """The 1-based number of the first passage not containing the text."""
    return next(i for i, p in enumerate(passages, start=1) if needle not in p.chunk.text)


@pytest.fixture(scope="module")
def scripted() -> ScriptedGenerator:
    return ScriptedGenerator()


@pytest.fixture(scope="module")
def scripted_server(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder, scripted: ScriptedGenerator
) -> Iterator[LiveServer]:
    settings, store = seeded
    app = create_app(settings, store=store, embedder=embedder, generator=scripted)
    with LiveServer(app) as server:
        yield server


def ask(server: LiveServer, scripted: ScriptedGenerator, script: Script) -> dict[str, object]:
    scripted.script = script
    response = httpx.post(f"{server.url}/ask", json={"question": QUESTION}, timeout=120)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def chunk_text_of(body: dict[str, object], n: int, store: ChunkStore) -> str:
    citation = next(c for c in body["citations"] if c["n"] == n)  # type: ignore[attr-defined, index]
    article_id = citation["article"]["id"]
    return next(c.text for c in store.chunks_of(article_id) if c.id == citation["chunk_id"])


def test_wrong_citation_is_moved_to_the_passage_that_supports_the_sentence(
    scripted_server: LiveServer, scripted: ScriptedGenerator, seeded: tuple[Settings, ChunkStore]
) -> None:
    body = ask(
        scripted_server,
        scripted,
        lambda ps: (
            f"Ghaani was appointed commander of the covert Quds Force within hours of the killing "
            f"[{number_without(ps, 'Ghaani')}]."
        ),
    )
    assert body["insufficient"] is False
    (sentence,) = body["sentences"]  # type: ignore[misc]
    assert sentence["supported"] is True and sentence["citations"] == [1]
    assert APPOINTED in chunk_text_of(body, 1, seeded[1])
    assert len(body["citations"]) == 1  # type: ignore[arg-type]


def test_invented_citation_number_is_removed(
    scripted_server: LiveServer, scripted: ScriptedGenerator, seeded: tuple[Settings, ChunkStore]
) -> None:
    body = ask(scripted_server, scripted, lambda ps: f"{DEPUTY} [7].")
    assert "[7]" not in str(body["answer"])
    (sentence,) = body["sentences"]  # type: ignore[misc]
    assert sentence["supported"] is True and sentence["citations"] == [1]
    assert DEPUTY in chunk_text_of(body, 1, seeded[1])


def test_uncited_claim_gets_the_supporting_citation_and_an_unsupported_one_is_dropped(
    scripted_server: LiveServer, scripted: ScriptedGenerator, seeded: tuple[Settings, ChunkStore]
) -> None:
    invented = "The Quds Force merged with the Lebanese army under a treaty signed in Geneva."
    body = ask(
        scripted_server,
        scripted,
        lambda ps: (
            f"Ghaani was appointed commander of the Quds Force within hours of the killing. {invented}"
        ),
    )
    first, second = body["sentences"]  # type: ignore[misc]
    assert first["supported"] is True and first["citations"] == [1]
    assert APPOINTED in chunk_text_of(body, 1, seeded[1])
    assert second["supported"] is False and second["citations"] == []
    assert "Geneva" not in str(body["answer"])


def test_citation_to_a_passage_stating_another_number_is_caught(
    scripted_server: LiveServer, scripted: ScriptedGenerator
) -> None:
    body = ask(
        scripted_server,
        scripted,
        lambda ps: f"Ghaani served as Soleimani's deputy since 2005 [{number_of(ps, DEPUTY)}].",
    )
    (sentence,) = body["sentences"]  # type: ignore[misc]
    assert sentence["supported"] is False and sentence["citations"] == []
    assert body["insufficient"] is True and body["citations"] == []


def test_supported_and_faulty_sentences_in_one_answer_are_judged_one_by_one(
    scripted_server: LiveServer, scripted: ScriptedGenerator
) -> None:
    body = ask(
        scripted_server,
        scripted,
        lambda ps: (
            f"{DEPUTY} [{number_of(ps, DEPUTY)}]. Ghaani served in the Iran-Iraq War of the 1970s "
            f"[{number_of(ps, DEPUTY)}]. Ghaani was appointed within hours of the killing [9]."
        ),
    )
    verdicts = [(s["supported"], s["citations"]) for s in body["sentences"]]  # type: ignore[attr-defined]
    # Supported sentences come first, in answer order; the dropped one follows.
    assert verdicts == [(True, [1]), (True, [2]), (False, [])]
    answer = str(body["answer"])
    assert "1970s" not in answer and "[9]" not in answer
    assert set(re.findall(r"\[(\d+)\]", answer)) == {"1", "2"}


def test_every_sentence_of_an_extractive_answer_is_supported(client: httpx.Client) -> None:
    for question in [QUESTION, "When did Qaani visit Baghdad?", "What did Hegseth warn al-Sudani about?"]:
        body = client.post("/ask", json={"question": question}).json()
        assert body["sentences"] and all(s["supported"] for s in body["sentences"])
        assert " ".join(s["text"] for s in body["sentences"]) == body["answer"]
        for citation in body["citations"]:
            meta = citation["article"]
            if meta["source"] and meta["published"]:
                assert citation["attribution"].startswith(meta["source"] + ", ")


def test_verifier_scores_an_exact_quote_above_a_paraphrase_above_an_unrelated_claim(
    embedder: Embedder, seeded: tuple[Settings, ChunkStore]
) -> None:
    store = seeded[1]
    chunk = next(
        c for s in store.articles().values() for c in store.chunks_of(s.meta.id) if APPOINTED in c.text
    )
    passages = [Passage(chunk, 1.0)]
    verifier = CitationVerifier(embedder, Settings().min_support)
    exact, paraphrase, unrelated = verifier.check(
        f"{APPOINTED}. [1] Soleimani's successor at the head of the Quds Force was Ghaani. [1] "
        "The price of wheat in Australia fell sharply last spring. [1]",
        passages,
    )
    assert exact.score > paraphrase.score > unrelated.score
    assert exact.supported and paraphrase.supported and not unrelated.supported


def test_extractive_sentences_without_a_full_stop_stay_separate_sentences() -> None:
    answer = " ".join(
        [cite("End of third quarter: 49ers 28, Cowboys 10", 3), cite("49ERS: Are tops in football.", 2)]
    )
    assert draft_sentences(answer) == [
        "End of third quarter: 49ers 28, Cowboys 10 [3].",
        "49ERS: Are tops in football [2].",
    ]
