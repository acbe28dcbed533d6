"""The refusal decision: outlets the question names, and coverage of what it names by the passages."""

from __future__ import annotations

import httpx
import pytest

from service.evidence import is_indexed, named_outlets


@pytest.mark.parametrize(
    ("question", "outlets"),
    [
        ("What did an article by Forbes say about the merger?", ["Forbes"]),
        (
            "Considering a Guardian piece and another in The Wall Street Journal, who won?",
            ["Guardian", "The Wall Street Journal"],
        ),
        ("According to Reuters, who leads the Quds Force?", ["Reuters"]),
        ("Do reports from The Verge and TechCrunch agree?", ["The Verge", "TechCrunch"]),
        ("Between the report on Sam Altman published in November and the next one, what changed?", []),
    ],
)
def test_outlets_a_question_attributes_reports_to_are_found(question: str, outlets: list[str]) -> None:
    assert named_outlets(question) == outlets


def test_an_outlet_is_indexed_when_its_words_name_an_indexed_outlet() -> None:
    indexed = ["The Guardian", "The New York Times", "Cnbc | World Business News Leader"]
    assert is_indexed("Guardian", indexed) and is_indexed("CNBC", indexed)
    assert not is_indexed("The Wall Street Journal", indexed) and not is_indexed("Times of India", indexed)


def test_question_about_an_outlet_that_is_not_indexed_is_insufficient(client: httpx.Client) -> None:
    body = client.post("/ask", json={"question": "According to Reuters, why did Qaani visit Baghdad?"}).json()
    assert body["insufficient"] is True and body["citations"] == []


def test_question_about_an_indexed_outlet_is_answered_from_it(client: httpx.Client) -> None:
    body = client.post(
        "/ask", json={"question": "According to Shafaq News, why did Qaani visit Baghdad?"}
    ).json()
    assert body["insufficient"] is False
    assert "Shafaq News" in {c["article"]["source"] for c in body["citations"]}


def test_plausible_question_about_an_unreported_event_is_insufficient(client: httpx.Client) -> None:
    question = "Why did Qaani meet Vladimir Putin in Moscow to sign the gas pipeline agreement?"
    body = client.post("/ask", json={"question": question}).json()
    assert body["insufficient"] is True and body["citations"] == [] and "[" not in body["answer"]
