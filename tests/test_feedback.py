"""Name feedback: a question asking for a name gets the name its leading articles share."""

from __future__ import annotations

import json

import pytest

from service.embeddings import Embedder
from service.feedback import asks_for_name, feedback_names
from service.ingestion.pipeline import IngestPipeline
from service.lexical import build_lexical_index
from service.models import ArticleMeta, Chunk
from service.retrieval import Retriever
from service.settings import Settings
from service.store import ChunkStore, build_store
from tests.conftest import make_settings

WIRE, LEDGER, POST = "Tech Wire", "Daily Ledger", "Evening Post"
# Zorvia is the answer: two articles state the facts the question describes, a third says only
# what its chief executive said. Articles about other companies share the question's words.
ARTICLES = [
    (
        WIRE,
        "Zorvia shows a folding phone",
        "Zorvia showed off a folding phone at its annual hardware event "
        "in Berlin. Zorvia said the phone would ship in spring with a larger battery.",
    ),
    (
        WIRE,
        "Publishers sue Zorvia over search",
        "A group of news publishers sued Zorvia in a class action, "
        "saying Zorvia search answers take their readers. Zorvia said the suit had no merit.",
    ),
    (
        LEDGER,
        "Zorvia's chief vows to fight on",
        "Mara Quell, Zorvia's chief executive, told staff in a memo "
        "that Zorvia would contest every claim in court and keep building devices in Berlin.",
    ),
    (
        LEDGER,
        "Brightloom's launch",
        "Brightloom showed a new watch and a speaker at a launch in Oslo. "
        "Brightloom said both would cost less than last year's models.",
    ),
    (
        POST,
        "Kestrel's phone, reviewed",
        "Kestrel's phone has a brighter screen than last year's and "
        "a battery that lasts two days. Kestrel sells it in three colours.",
    ),
    (
        POST,
        "Ostrava settles",
        "Ostrava, a search start-up, settled a claim over summaries of articles. "
        "Ostrava said it would pay the writers.",
    ),
    (
        WIRE,
        "Chip prices rise",
        "Prices of memory chips rose for a third month as makers of servers ordered more, analysts said.",
    ),
]
QUESTION = "Which company showed a phone at its annual hardware event and was sued by news publishers?"
CHIEF = "Zorvia's chief vows to fight on"


def chunk(article: str, text: str, source: str = WIRE) -> Chunk:
    return Chunk(id=f"{article}#0", article=ArticleMeta(id=article, source=source), index=0, text=text)


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Which company was sued by news publishers?", True),
        ("Who took over the Quds Force after Soleimani was killed?", True),
        ("  what did the Verge report about Google?", True),
        ("Whose phone was shown at the event?", True),
        ("Did TechCrunch report that Google was sued?", False),
        ("Was the Fortune article published before the Verge one?", False),
        ("Between the two reports, which came first?", False),
        ("Whoever wins, is the phone cheaper?", False),
    ],
)
def test_a_question_asks_for_a_name_when_it_starts_with_who_which_or_what(question: str, asks: bool) -> None:
    assert asks_for_name(question) is asks


def test_the_names_fed_back_are_those_the_leading_articles_share_outside_the_question() -> None:
    ranked = [
        chunk("a", "Zorvia showed a phone in Berlin. Google was there."),
        chunk("a", "Zorvia's event drew a crowd."),
        chunk("b", "Publishers sued Zorvia in Berlin, said Tech Wire."),
        chunk("c", "Zorvia's chief Mara Quell spoke. Google declined to comment."),
        chunk("d", "Kestrel and Brightloom showed phones; Kestrel led."),  # not a leading article
    ]
    rare = {"zorvia": 5.0, "berlin": 2.0, "googl": 1.0}
    names = feedback_names(
        "Which company showed a phone and was sued by publishers?",
        ranked,
        lambda term: rare.get(term, 3.0),
        excluded={"tech", "wire"},
        articles=3,
        terms=3,
    )
    # Zorvia (3 articles x 5.0) before Google (2 x 1.0)... and Berlin (2 x 2.0) between them; Mara,
    # Quell and Kestrel are in one leading article or none; "Publishers", "Tech", "Wire" are excluded.
    assert names == ["Zorvia", "Berlin", "Google"]
    assert feedback_names("Which company?", ranked, lambda t: 1.0, set(), articles=3, terms=1) == ["Zorvia"]
    assert feedback_names("Which company?", ranked, lambda t: 1.0, set(), articles=1, terms=5) == [
        "Berlin",
        "Google",
        "Zorvia",
    ]
    assert feedback_names("Which Zorvia?", ranked[:1], lambda t: 1.0, set(), articles=3, terms=5) == [
        "Berlin",
        "Google",
    ]


@pytest.fixture(scope="module")
def zorvia(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Settings, ChunkStore]:
    folder = tmp_path_factory.mktemp("zorvia")
    records = [
        {
            "title": title,
            "outlet": outlet,
            "published": f"2025-03-{day + 1:02d}",
            "text": text,
            "url": f"https://example.com/{day}",
        }
        for day, (outlet, title, text) in enumerate(ARTICLES)
    ]
    (folder / "articles.jsonl").write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    settings = make_settings(folder / "data")
    store = build_store(settings)
    assert len(IngestPipeline(store, embedder, settings).run([folder / "articles.jsonl"]).new) == len(
        ARTICLES
    )
    return settings, store


def article_titles(
    zorvia: tuple[Settings, ChunkStore], embedder: Embedder, question: str, weight: float
) -> list[str]:
    settings, store = zorvia
    retrieval = settings.retrieval.model_copy(update={"feedback_weight": weight})
    retriever = Retriever(store, embedder, build_lexical_index(settings, store), retrieval)
    return list(dict.fromkeys(p.chunk.article.title for p in retriever.search(question, len(ARTICLES) * 3)))


def test_name_feedback_brings_up_an_article_about_the_answer_in_other_words(
    zorvia: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    without = article_titles(zorvia, embedder, QUESTION, 0.0)
    with_names = article_titles(zorvia, embedder, QUESTION, 0.25)
    assert sorted(without) == sorted(with_names) == sorted(t for _, t, _ in ARTICLES)
    # The chief's memo holds hardly a word of the question; it shares the answer's name.
    assert with_names.index(CHIEF) < without.index(CHIEF)
    assert with_names.index(CHIEF) < with_names.index("Chip prices rise")


def test_a_yes_or_no_question_gets_no_name_feedback(
    zorvia: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    question = "Did a company show a phone at its annual hardware event and get sued by news publishers?"
    assert article_titles(zorvia, embedder, question, 0.0) == article_titles(zorvia, embedder, question, 5.0)
    # The same words asked for a name do get it, and with this weight it changes the order.
    asked = "Which company showed a phone at its annual hardware event and got sued by news publishers?"
    assert article_titles(zorvia, embedder, asked, 0.0) != article_titles(zorvia, embedder, asked, 5.0)
