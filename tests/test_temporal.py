"""Time in questions: parsed into date ranges or newest-first ordering, and applied by /ask."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import httpx
import pytest

from service.api.parts import build_parts
from service.embeddings import Embedder
from service.ingestion.pipeline import IngestPipeline
from service.models import Filters
from service.query_analysis import split_clauses
from service.settings import Settings
from service.store import ChunkStore, build_store
from service.temporal import TimeIntent, apply_intent, parse_time
from tests.conftest import SEEDS, LiveServer, extractive_app, make_settings

REFERENCE = date(2025, 3, 25)


@pytest.mark.parametrize(
    ("question", "after", "before", "newest"),
    [
        ("What is the latest on Qaani?", None, None, True),
        ("What is the most recent news from Baghdad?", None, None, True),
        # a month or year dates what happened: reported then or later
        ("What happened in March 2025?", date(2025, 3, 1), None, False),
        ("What was published in March 2025?", date(2025, 3, 1), date(2025, 3, 31), False),
        ("Which articles were posted during 2024?", date(2024, 1, 1), date(2024, 12, 31), False),
        ("How much did Google spend in 2021, as reported by TechCrunch?", date(2021, 1, 1), None, False),
        ("What did Qaani do last week?", date(2025, 3, 18), REFERENCE, False),
        ("Any news from the past 3 days?", date(2025, 3, 22), REFERENCE, False),
        ("What happened yesterday?", date(2025, 3, 24), date(2025, 3, 24), False),
        ("What happened in May?", date(2024, 5, 1), None, False),
        ("What was reported in May?", date(2024, 5, 1), date(2024, 5, 31), False),
        ("What has happened since 19 March 2025?", date(2025, 3, 18), None, False),
        ("What happened before March 2025?", None, date(2025, 2, 28), False),
        ("What happened after February 2025?", date(2025, 3, 1), None, False),
        # a day keeps its slack at the strict bounds (dated a day off in another time zone)
        ("What was published after 16 March 2025?", date(2025, 3, 16), None, False),
        ("What was published before 20 March 2025?", None, date(2025, 3, 20), False),
        ("Who reported on it during 2024?", date(2024, 1, 1), None, False),
        ("Which articles in 2024 covered Iran?", date(2024, 1, 1), date(2024, 12, 31), False),
        ("What did Fortune say about spending in 2021 and 2023?", date(2021, 1, 1), None, False),
        (
            "What did Fortune report on 19 March 2025 about spending in 2021?",
            date(2021, 1, 1),
            None,
            False,
        ),
        (
            "Between the report of November 1, 2023, and the one of December 15, 2023, what changed?",
            date(2023, 10, 31),
            date(2023, 12, 16),
            False,
        ),
        ("May I ask who won the 2022 World Cup?", None, None, False),
    ],
)
def test_time_expressions_become_ranges_or_ordering(
    question: str, after: date | None, before: date | None, newest: bool
) -> None:
    intent = parse_time(question, REFERENCE)
    assert (intent.published_after, intent.published_before, intent.newest_first) == (after, before, newest)


@pytest.mark.parametrize(
    "question",
    ["Any news from the past 100000000 days?", "What changed in the last 99999999999999999999 weeks?"],
)
def test_a_range_longer_than_the_calendar_starts_at_its_first_day(question: str) -> None:
    intent = parse_time(question, REFERENCE)
    assert (intent.published_after, intent.published_before) == (date.min, REFERENCE)
    assert parse_time("What happened yesterday?", date.min).published_before == date.min


def test_relative_expressions_need_a_reference_date() -> None:
    assert parse_time("What did Qaani do last week?", None).restricts is False


@pytest.mark.parametrize(
    ("question", "after", "before"),
    [
        # the date is the Fortune article's: the TechCrunch one may be of any day
        (
            "Between the Fortune article on October 4, 2023, and the TechCrunch article on the trial, "
            "was the portrayal consistent?",
            None,
            None,
        ),
        # each report has its date: the range spans them
        (
            "Between the report of November 1, 2023, and the one of December 15, 2023, what changed?",
            date(2023, 10, 31),
            date(2023, 12, 16),
        ),
    ],
)
def test_a_date_of_one_of_several_reports_does_not_restrict_the_others(
    question: str, after: date | None, before: date | None
) -> None:
    reports = split_clauses(question)
    assert len(reports) == 2
    intent = parse_time(question, REFERENCE, reports)
    assert (intent.published_after, intent.published_before) == (after, before)
    assert parse_time(question, REFERENCE).published_after is not None  # read as one report


def test_the_answers_read_a_date_per_report_of_a_named_outlet(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    settings, store = seeded
    answers = build_parts(settings, store=store, embedder=embedder).answers
    national = "What did The National report on 25 March 2025"
    one_dated = f"{national}, and what did Shafaq News say about Qaani's visit?"
    assert answers.time_intent(one_dated).restricts is False
    both_dated = f"{national}, and what did Shafaq News report on 19 March 2025?"
    intent = answers.time_intent(both_dated)
    assert (intent.published_after, intent.published_before) == (date(2025, 3, 18), date(2025, 3, 26))
    # clauses naming no outlet are not reports: the date still dates the whole question
    no_outlet = "Did Qaani visit Baghdad, and did he meet Iraqi leaders, in March 2025?"
    assert answers.time_intent(no_outlet).published_after == date(2025, 3, 1)


def test_intent_narrows_the_request_filters() -> None:
    filters = Filters(sources=("The National",), published_after=date(2025, 3, 20))
    intent = TimeIntent(date(2025, 3, 1), date(2025, 3, 31))
    narrowed = apply_intent(filters, intent)
    assert narrowed.sources == ("The National",)
    assert (narrowed.published_after, narrowed.published_before) == (date(2025, 3, 20), date(2025, 3, 31))


def cited_dates_in_answer_order(body: dict[str, object]) -> list[str | None]:
    published = {c["n"]: c["article"]["published"] for c in body["citations"]}  # type: ignore[attr-defined]
    return [published[s["citations"][0]] for s in body["sentences"] if s["supported"]]  # type: ignore[attr-defined]


def test_latest_question_answers_newest_first(client: httpx.Client) -> None:
    body = client.post("/ask", json={"question": "What is the latest on Qaani?"}).json()
    assert body["insufficient"] is False
    dates = cited_dates_in_answer_order(body)
    assert dates[0] == "2025-03-25"  # The National's report is the newest on Qaani
    known = [d for d in dates if d]
    assert known == sorted(known, reverse=True)


def test_month_in_question_filters_by_publication_date(client: httpx.Client) -> None:
    body = client.post("/ask", json={"question": "What did Qaani discuss in Baghdad in March 2025?"}).json()
    assert body["insufficient"] is False
    assert all(d and d.startswith("2025-03") for d in cited_dates_in_answer_order(body))


def test_the_answer_says_how_it_read_the_questions_time(client: httpx.Client) -> None:
    month = client.post("/ask", json={"question": "What did Qaani discuss in Baghdad in March 2025?"}).json()
    assert month["time_frame"] == {
        "expression": "March 2025",
        "published_after": "2025-03-01",
        "published_before": None,
        "newest_first": False,
    }
    latest = client.post("/ask", json={"question": "What is the latest on Qaani?"}).json()
    assert latest["time_frame"]["newest_first"] is True and latest["time_frame"]["published_after"] is None
    assert client.post("/ask", json={"question": "Why did Qaani visit Baghdad?"}).json()["time_frame"] is None
    # a refusal says it too: nothing was published in the week before 10 January 2024
    empty = client.post(
        "/ask", json={"question": "What did Qaani do in Iraq last week?", "as_of": "2024-01-10"}
    ).json()
    assert empty["insufficient"] is True
    assert (empty["time_frame"]["published_after"], empty["time_frame"]["published_before"]) == (
        "2024-01-03",
        "2024-01-10",
    )
    streamed = client.post("/ask/stream", json={"question": "What is the latest on Qaani?"}).text
    final = json.loads(streamed.split("event: answer\r\ndata: ", 1)[1].split("\r\n", 1)[0])
    assert final["time_frame"] == latest["time_frame"]


def test_a_huge_relative_range_is_answered_not_an_error(client: httpx.Client) -> None:
    response = client.post(
        "/ask", json={"question": "What did Qaani do in Iraq in the past 99999999999999999999 days?"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["insufficient"] is False and body["citations"]


def test_last_week_counts_from_the_newest_article_or_the_given_date(client: httpx.Client) -> None:
    question = "What did Qaani do in Iraq last week?"
    body = client.post("/ask", json={"question": question}).json()
    # The newest seed is of 2025-03-25: last week is 18-25 March, both Qaani reports fall in it.
    assert body["insufficient"] is False
    assert all(d and "2025-03-18" <= d <= "2025-03-25" for d in cited_dates_in_answer_order(body))
    shifted = client.post("/ask", json={"question": question, "as_of": "2025-03-21"}).json()
    assert shifted["insufficient"] is False
    assert set(cited_dates_in_answer_order(shifted)) == {"2025-03-19"}
    empty = client.post("/ask", json={"question": question, "as_of": "2024-01-10"}).json()
    assert empty["insufficient"] is True and empty["citations"] == []


BUSINESS_TODAY = "Business Today | Latest Stock Market And Economy News India"
OIL = {
    "headline": "India's crude imports from Iraq climb as refiners seek discounted barrels",
    "outlet": BUSINESS_TODAY,
    "pubDate": "2025-03-10",
    "link": "https://example.com/business-today/iraq-crude-imports",
    "content": (
        "Indian refiners bought 1.1 million barrels a day of Iraqi crude in February, up 12 per cent "
        "from January, according to shipping data compiled by analysts. Iraq remained India's second "
        "largest supplier of crude oil after Russia. Refiners said the Basrah Medium grade was offered "
        "at a discount to Middle Eastern benchmarks, which made the cargoes attractive. State-run "
        "Indian Oil Corporation and Bharat Petroleum took most of the Iraqi barrels. Traders expect "
        "the imports to stay high through April as refineries return from maintenance."
    ),
}


def test_an_outlet_named_today_or_latest_is_not_a_time_expression(tmp_path: Path, embedder: Embedder) -> None:
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    (articles / "business-today.json").write_text(json.dumps(OIL), encoding="utf-8")
    settings = make_settings(tmp_path / "data")
    store = build_store(settings)
    assert len(IngestPipeline(store, embedder, settings).run([articles]).new) == 6
    # Read as time, "Today" would keep only the newest seed's day (25 March) and "Latest" would
    # order by date: the 10 March article the question asks about would be filtered out.
    question = f"What did {BUSINESS_TODAY} report about India's crude oil imports from Iraq?"
    app = extractive_app(settings, store, embedder)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        body = http.post("/ask", json={"question": question}).json()
    assert body["insufficient"] is False and body["citations"]
    assert {c["article"]["source"] for c in body["citations"]} == {BUSINESS_TODAY}
    assert {c["article"]["published"] for c in body["citations"]} == {"2025-03-10"}
