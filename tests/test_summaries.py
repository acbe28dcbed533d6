"""POST /summarize over a real socket: one article, several, a topic, nothing, and wire copies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from service.embeddings import Embedder
from service.ingestion.pipeline import IngestPipeline
from service.store import build_store
from service.summaries import NOTHING_TO_SUMMARISE
from tests.conftest import LiveServer, extractive_app, make_settings

WIRE = (
    "The central bank raised its benchmark interest rate by half a percentage point on Thursday, "
    "its third increase this year, citing persistent inflation in food and energy prices."
)


def article_ids(client: httpx.Client) -> dict[str, str]:
    """Seed article ids by the first three characters of their file name."""
    return {a["origin"][:3]: a["id"] for a in client.get("/articles").json()["articles"]}


def first_dates(body: dict[str, object]) -> list[str]:
    """For each answer sentence, the earliest publication date among the articles it cites."""
    published = {c["n"]: c["article"]["published"] for c in body["citations"]}  # type: ignore[attr-defined]
    return [
        min(published[n] for n in s["citations"] if published[n])
        for s in body["sentences"]  # type: ignore[attr-defined]
        if s["supported"] and any(published[n] for n in s["citations"])
    ]


def assert_every_sentence_cited_and_supported(body: dict[str, object]) -> None:
    sentences = body["sentences"]
    assert body["insufficient"] is False and sentences
    assert all(s["supported"] and s["citations"] for s in sentences)  # type: ignore[attr-defined]
    assert " ".join(s["text"] for s in sentences) == body["answer"]  # type: ignore[attr-defined]


def test_summary_of_one_article_cites_only_that_article(client: httpx.Client) -> None:
    seed = article_ids(client)["002"]
    body = client.post("/summarize", json={"article_ids": [seed], "max_sentences": 4}).json()
    assert_every_sentence_cited_and_supported(body)
    assert {c["article"]["id"] for c in body["citations"]} == {seed}
    assert 1 <= len(body["sentences"]) <= 4
    assert body["generator"] == "extractive"


def test_summary_of_several_articles_covers_them_in_date_order(client: httpx.Client) -> None:
    ids = article_ids(client)
    chosen = [ids["000"], ids["001"], ids["003"]]
    body = client.post("/summarize", json={"article_ids": chosen, "max_sentences": 8}).json()
    assert_every_sentence_cited_and_supported(body)
    cited = {c["article"]["id"] for c in body["citations"]}
    assert cited <= set(chosen) and len(cited) >= 2
    dates = first_dates(body)
    assert dates == sorted(dates)
    # More than one outlet: every sentence says which outlet said it, and when.
    for sentence in body["sentences"]:
        assert "(" in sentence["text"] or any(
            o in sentence["text"] for o in ("The National", "Shafaq News", "Click Lancashire")
        )


def test_topic_summary_draws_on_several_articles(client: httpx.Client) -> None:
    body = client.post("/summarize", json={"topic": "Qaani's visits to Iraq"}).json()
    assert_every_sentence_cited_and_supported(body)
    assert len({c["article"]["id"] for c in body["citations"]}) >= 2


def test_filters_alone_summarise_what_they_match(client: httpx.Client) -> None:
    body = client.post("/summarize", json={"filters": {"sources": ["Shafaq News"]}}).json()
    assert_every_sentence_cited_and_supported(body)
    assert {c["article"]["source"] for c in body["citations"]} == {"Shafaq News"}


@pytest.mark.parametrize(
    "body",
    [
        {"topic": "Antarctic penguin breeding colonies and krill stocks"},
        {"topic": "Qaani", "filters": {"sources": ["No Such Outlet"]}},
    ],
)
def test_topic_matching_nothing_is_insufficient(client: httpx.Client, body: dict[str, object]) -> None:
    response = client.post("/summarize", json=body)
    assert response.status_code == 200
    result = response.json()
    assert result["insufficient"] is True and result["citations"] == []
    # says what was not found, not "… the answer to this question"
    assert result["answer"] == NOTHING_TO_SUMMARISE


def test_summarize_without_topic_filters_or_articles_is_a_validation_error(client: httpx.Client) -> None:
    response = client.post("/summarize", json={"max_sentences": 3})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_summarize_of_an_unknown_article_is_not_found(client: httpx.Client) -> None:
    response = client.post("/summarize", json={"article_ids": ["0000000000000000"]})
    assert response.status_code == 404
    assert "0000000000000000" in response.json()["error"]["message"]


@pytest.fixture(scope="module")
def wire_server(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[LiveServer]:
    """Three outlets; two of them ran the same wire sentence."""
    root = tmp_path_factory.mktemp("wire")
    records = [
        ("Daily Ledger", "2024-05-02", f"{WIRE} Analysts had expected a smaller move."),
        ("Morning Courier", "2024-05-03", f"{WIRE} Mortgage lenders said they would pass the rise on."),
        (
            "Harbour Times",
            "2024-05-01",
            "Economists polled before the meeting said the central bank would probably raise rates "
            "again because food prices kept climbing through April.",
        ),
    ]
    folder = root / "articles"
    folder.mkdir()
    for i, (outlet, published, body) in enumerate(records):
        record = {"title": f"Rates story {i}", "source": outlet, "published_at": published, "body": body}
        record["url"] = f"https://example.org/rates/{i}"
        (folder / f"{i}.json").write_text(json.dumps(record), encoding="utf-8")
    settings = make_settings(root / "data")
    store = build_store(settings)
    IngestPipeline(store, embedder, settings).run([folder])
    app = extractive_app(settings, store, embedder)
    with LiveServer(app) as server:
        yield server


def test_wire_copy_in_two_outlets_is_one_sentence_citing_both(wire_server: LiveServer) -> None:
    body = httpx.post(
        f"{wire_server.url}/summarize", json={"topic": "central bank interest rate rise"}, timeout=120
    )
    result = body.json()
    assert_every_sentence_cited_and_supported(result)
    assert result["answer"].count("benchmark interest rate by half a percentage point") == 1
    wire = next(s for s in result["sentences"] if "half a percentage point" in s["text"])
    outlets = {c["article"]["source"] for c in result["citations"] if c["n"] in wire["citations"]}
    assert outlets == {"Daily Ledger", "Morning Courier"}
    assert first_dates(result) == sorted(first_dates(result))
    assert all(date.fromisoformat(d) for d in first_dates(result))
