"""Tests for service.ingestion.cleaning: seed metadata; boilerplate and other stories kept out of text."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import trafilatura

from service.ingestion.cleaning import clean_document, parse_date
from service.ingestion.furniture import paragraphs_without_furniture
from service.ingestion.readers import RawDocument, Skipped, iter_documents, read_record
from service.models import Article, stable_hash

SEEDS = Path(__file__).parent.parent / "seeds"


@pytest.fixture(scope="module")
def seeds() -> dict[str, Article]:
    """The five seed articles, cleaned, keyed by their number ("000" ... "004")."""
    out: dict[str, Article] = {}
    for doc in iter_documents([SEEDS]):
        assert isinstance(doc, RawDocument)
        article = clean_document(doc)
        assert isinstance(article, Article)
        out[doc.origin[:3]] = article
    return out


def clean_text(text: str, kind: str = "txt", origin: str = "doc.txt") -> Article:
    assert kind in ("txt", "md", "html")
    doc = RawDocument(text=text, origin=origin, source_file=f"/data/{origin}", kind=kind)  # type: ignore[arg-type]
    article = clean_document(doc)
    assert isinstance(article, Article)
    return article


def clean_file(path: Path) -> list[Article | Skipped]:
    return [clean_document(d) if isinstance(d, RawDocument) else d for d in iter_documents([path])]


def paragraphs(article: Article) -> list[str]:
    return article.text.split("\n\n")


BODY = (
    "The first paragraph of the story explains what happened in the city yesterday, officials said.\n\n"
    "A second paragraph adds more detail about the events and what comes next for the residents."
)


# --- the five seeds --------------------------------------------------------------------------------


def test_000_title_is_deduplicated_and_outlet_glued_to_date_gives_source_and_date(
    seeds: dict[str, Article],
) -> None:
    meta = seeds["000"].meta
    assert (
        meta.title
        == "Iranian commander visits Iraq to preserve truce with US before potential landmark talks"
    )
    assert meta.source == "The National"
    assert meta.published == date(2025, 3, 25)
    assert meta.author == ""
    assert meta.title not in seeds["000"].text
    assert "The National25-03-2025" not in seeds["000"].text


def test_001_dateline_gives_source_and_date_and_no_title_is_invented(seeds: dict[str, Article]) -> None:
    article = seeds["001"]
    assert article.meta.source == "Shafaq News"
    assert article.meta.published == date(2025, 3, 19)
    assert article.meta.title == ""
    assert article.meta.author == ""
    assert article.text.startswith("Iran\u2019s Quds Force Commander")


def test_002_title_only_and_unknown_fields_stay_empty(seeds: dict[str, Article]) -> None:
    meta = seeds["002"].meta
    assert meta.title == "Soleimani's Successor Visits Iraq As Trump Threatens Retaliation for Embassy Attack"
    assert (meta.source, meta.author, meta.published) == ("", "", None)
    assert seeds["002"].text.startswith("The commander of Iran's covert Quds Force")


def test_003_byline_date_and_footer_source(seeds: dict[str, Article]) -> None:
    article = seeds["003"]
    assert article.meta.title == "US General Slips into Iraq for Talks to Salvage Relations"
    assert article.meta.author == "Elias Hubbard"
    assert article.meta.published == date(2020, 2, 5)
    assert article.meta.source == "Click Lancashire"
    assert "Other reports by" not in article.text
    assert "Discuss This Article" not in article.text
    assert "Elias Hubbard" not in article.text
    assert article.text.startswith("After Soleimani's killing")
    assert article.text.endswith("expressing wish that Iraq could mediate between them.")


def test_004_title_and_empty_written_on_label_is_removed(seeds: dict[str, Article]) -> None:
    article = seeds["004"]
    assert article.meta.title == "The Intricate Dance: Qasem Soleimani and U.S. Foreign Relations"
    assert (article.meta.source, article.meta.author, article.meta.published) == ("", "", None)
    assert "Written on" not in article.text
    assert paragraphs(article)[0] == "Chapter 1: The Background of U.S.-Iran Relations"
    assert "Historical Context" in paragraphs(article)  # section headings are text, not metadata


def test_related_articles_block_is_not_part_of_host_article(seeds: dict[str, Article]) -> None:
    text = seeds["000"].text
    assert "Esmail Qaani visited Baghdad on the 19th" in text
    for other_story in (
        "Iran launches missile barrage",
        "Houthis confirm launching",
        "Netanyahu's political survival",
    ):
        assert other_story not in text
    assert "Related Articles" not in text
    assert "Al Etihad" not in text
    assert text.endswith("it does not dictate actions to Ansar Allah'.")


@pytest.mark.parametrize(
    "boilerplate",
    [
        "logo",
        "Orange background",
        "Try Our AI Features",
        "Explore what Daily8 AI can do for you:",
        "Comments",
        "No comments yet...",
        "DOWNLOAD THE APP",
        "Get Started Now: Download the App",
        "Ready to dive into the world of global news and events?",
        "app-storeplay-store",
        "Other reports by Click Lancashire",
        "Discuss This Article",
        "Written on",
        "time44 minutes ago",
    ],
)
def test_site_boilerplate_is_not_indexed_in_any_seed(seeds: dict[str, Article], boilerplate: str) -> None:
    for number, article in seeds.items():
        for paragraph in paragraphs(article):
            assert boilerplate.lower() not in paragraph.lower() or len(paragraph) > 300, (number, paragraph)


def test_seed_text_has_blank_line_paragraphs_and_normalised_whitespace(seeds: dict[str, Article]) -> None:
    for article in seeds.values():
        assert article.text == article.text.strip()
        assert "\n\n\n" not in article.text
        assert all(p and p == p.strip() and "  " not in p and "\n" not in p for p in paragraphs(article))
    assert len(paragraphs(seeds["002"])) > 10


def test_article_id_is_the_stable_hash_of_origin_and_source_file_is_kept(seeds: dict[str, Article]) -> None:
    article = seeds["003"]
    assert article.meta.origin == "003_10efbc8b03f4fe1d.txt"
    assert article.meta.id == stable_hash("003_10efbc8b03f4fe1d.txt")
    assert article.source_file == str((SEEDS / "003_10efbc8b03f4fe1d.txt").resolve())


# --- plain-text heuristics on other shapes ------------------------------------------------------------


def test_share_subscribe_and_cookie_lines_are_dropped() -> None:
    text = (
        "Council Approves New Budget\n\nShare this article\n\nFacebook\n\n"
        f"{BODY}\n\nWe use cookies to improve your experience. Accept all cookies\n\n"
        "Subscribe to our newsletter\n\nAdvertisement\n\n\u00a9 2024 Example Media. All rights reserved."
    )
    article = clean_text(text)
    assert article.meta.title == "Council Approves New Budget"
    assert article.text == BODY


@pytest.mark.parametrize(
    "furniture",
    [
        "Facebook Twitter Whatsapp Reddit Email Share",
        "Share | Tweet | Email",
        "ADVERTISEMENT Article continues below this ad",
        "LIKE WHAT YOU\u2019RE READING? CLICK HERE FOR MORE ENTERTAINMENT NEWS",
        "APP USERS CLICK HERE TO VIEW POST",
        "(Getty Images)",
        "(AFP via Getty Images)",
    ],
)
def test_share_rows_ad_markers_link_prompts_and_photo_credits_are_dropped(furniture: str) -> None:
    article = clean_text(f"Council Approves New Budget\n\n{BODY}\n\n{furniture}\n\n{BODY}")
    assert article.text == f"{BODY}\n\n{BODY}"


def test_a_sentence_before_a_link_prompt_keeps_its_line() -> None:
    line = "The AFL Draft will be shown on Fox Footy and Kayo. CLICK HERE for a seven-day free trial."
    assert line in clean_text(f"Draft Night\n\n{BODY}\n\n{line}").text


@pytest.mark.parametrize(
    "marker", ["Related Stories", "More from Example Times", "Read more", "You may also like:"]
)
def test_related_block_markers_cut_the_rest_of_the_document(marker: str) -> None:
    other = "Another story body that is not part of this article at all and must be dropped entirely."
    article = clean_text(
        f"Council Approves New Budget\n\n{BODY}\n\n{marker}\n\nOther Story Headline\n\n{other}"
    )
    assert article.text == BODY


@pytest.mark.parametrize("heading", ["Most read", "More from hardware land:", "Top stories"])
def test_a_heading_followed_by_a_full_paragraph_is_a_section_of_the_article(heading: str) -> None:
    section = (
        "Turmoil at Flexport: Dave Clark, the former Amazon executive who was ousted as CEO of Flexport "
        "just a year into the job, fired back at its founder and board, calling recent reporting on the "
        "logistics company deeply concerning, in a lengthy post on social media."
    )
    article = clean_text(f"Week in Review\n\n{BODY}\n\n{heading}\n\n{section}\n\n{BODY}")
    assert article.text == f"{BODY}\n\n{heading}\n\n{section}\n\n{BODY}"


def test_no_multihop_article_loses_text_to_cleaning() -> None:
    """Every article of the eval corpus keeps at least 90% of its words besides furniture sentences
    (digests once lost 89%), and furniture is under 1% of the corpus (no pattern eats reporting)."""
    corpus = json.loads((Path(__file__).parent.parent / "bench/data/multihop/corpus.json").read_text("utf-8"))
    words = furniture = 0
    for record in corpus:
        doc = read_record(record, record["url"])
        assert isinstance(doc, RawDocument)
        article = clean_document(doc)
        assert isinstance(article, Article), record["url"]
        body = len(record["body"].split())
        reporting = len(" ".join(paragraphs_without_furniture(record["body"].split("\n"))).split())
        assert len(article.text.split()) >= 0.9 * reporting, record["title"]
        words, furniture = words + body, furniture + body - reporting
    assert 0 < furniture < 0.01 * words


def test_related_marker_before_the_article_begins_only_drops_that_line() -> None:
    article = clean_text(f"Read more\n\n{BODY}")
    assert article.text == BODY


def test_byline_with_date_in_the_header_gives_author_and_date() -> None:
    article = clean_text(f"Council Approves New Budget\n\nBy Jane Doe and John Roe | March 5, 2024\n\n{BODY}")
    assert article.meta.author == "Jane Doe, John Roe"
    assert article.meta.published == date(2024, 3, 5)
    assert article.meta.source == ""
    assert article.text == BODY


def test_labelled_date_line_gives_date_only() -> None:
    article = clean_text(f"Council Approves New Budget\n\nPublished: 5 February 2020 10:30 GMT\n\n{BODY}")
    assert (article.meta.published, article.meta.source, article.meta.author) == (date(2020, 2, 5), "", "")


def test_short_name_line_without_a_date_beside_it_is_not_taken_as_author() -> None:
    article = clean_text(f"Council Approves New Budget\n\nCity Hall\n\n{BODY}")
    assert article.meta.author == ""
    assert paragraphs(article)[0] == "City Hall"


def test_no_title_when_the_first_line_is_a_sentence() -> None:
    article = clean_text(f"Officials said the budget passed late on Monday night.\n\n{BODY}")
    assert article.meta.title == ""
    assert article.text.startswith("Officials said")


def test_no_title_when_there_is_no_body_after_the_first_line() -> None:
    article = clean_text("Just A Short Note")
    assert article.meta.title == ""
    assert article.text == "Just A Short Note"


def test_hard_wrapped_lines_are_joined_into_paragraphs() -> None:
    text = (
        "Wrapped Story Title\n\n"
        "This is a paragraph of a hard-wrapped plain text file, where lines were\n"
        "broken at about seventy characters, as old newsletters and emails often\n"
        "do. The cleaner should join these lines back into one paragraph.\n\n"
        "A second paragraph follows after a blank line and is also wrapped at the\n"
        "same width, so that it too ends up as one single line in the output.\n"
    )
    article = clean_text(text)
    assert article.meta.title == "Wrapped Story Title"
    assert len(paragraphs(article)) == 2
    assert paragraphs(article)[0].endswith(
        "emails often do. The cleaner should join these lines back into one paragraph."
    )


def test_markdown_front_matter_and_markup() -> None:
    text = (
        '---\ntitle: "Front Matter Title"\nauthor: Jane Doe\ndate: 2024-05-06\nsource: Example Wire\n---\n'
        "# Front Matter Title\n\nSome **bold** text with a [link](http://example.com) in a long sentence.\n"
    )
    article = clean_text(text, kind="md", origin="story.md")
    assert (article.meta.title, article.meta.author, article.meta.source) == (
        "Front Matter Title",
        "Jane Doe",
        "Example Wire",
    )
    assert article.meta.published == date(2024, 5, 6)
    assert article.text == "Some bold text with a link in a long sentence."


def test_document_with_nothing_but_boilerplate_is_skipped() -> None:
    doc = RawDocument(text="logo\n\nComments\n\nShare", origin="x.txt", source_file="/x.txt", kind="txt")
    assert clean_document(doc) == Skipped("x.txt", "no article text after cleaning")


# --- records ------------------------------------------------------------------------------------------


def test_record_fields_become_metadata_and_the_body_is_still_cleaned(tmp_path: Path) -> None:
    records = [
        {
            "headline": "Big Story",
            "outlet": "Example Wire",
            "authors": ["Jane Doe", "John Roe"],
            "pubDate": "Tue, 05 Feb 2020 10:00:00 GMT",
            "url": "https://example.com/big",
            "body": f"Big Story\n\nShare this article\n\n{BODY}\n\nRelated Articles\n\nSomething else.",
        },
        {"title": "Small Story", "published_at": "2024-06-01T08:30:00Z", "text": "Short body."},
        {"title": "Undated", "date": "sometime soon", "content": "Body."},
    ]
    (tmp_path / "records.json").write_text(json.dumps(records), encoding="utf-8")

    big, small, undated = clean_file(tmp_path)

    assert isinstance(big, Article) and isinstance(small, Article) and isinstance(undated, Article)
    assert (big.meta.title, big.meta.source, big.meta.author) == (
        "Big Story",
        "Example Wire",
        "Jane Doe, John Roe",
    )
    assert big.meta.published == date(2020, 2, 5)
    assert big.meta.origin == "https://example.com/big"
    assert big.meta.id == stable_hash("https://example.com/big")
    assert big.text == BODY
    assert small.meta.published == date(2024, 6, 1)
    assert small.meta.origin == "records.json#2"
    assert undated.meta.published is None


def test_html_entities_in_record_fields_are_decoded(tmp_path: Path) -> None:
    record = {
        "title": "&#039;Massive intel failure by Mossad&#039;: Hamas&#039; surprise attack",
        "source": "Times &amp; Star",
        "author": "Ana&iuml;s Nin",
        "body": BODY,
    }
    (tmp_path / "record.json").write_text(json.dumps(record), encoding="utf-8")
    (article,) = clean_file(tmp_path)
    assert isinstance(article, Article)
    assert article.meta.title == "'Massive intel failure by Mossad': Hamas' surprise attack"
    assert (article.meta.source, article.meta.author) == ("Times & Star", "Ana\u00efs Nin")


def test_jsonl_records_are_cleaned_and_an_html_body_is_turned_into_text(tmp_path: Path) -> None:
    lines = [
        json.dumps({"title": "Html Body", "body": "<p>First <b>para</b>.</p><p>Second para.</p>"}),
        json.dumps({"title": "Only Furniture", "body": "Share\n\nComments"}),
    ]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines), encoding="utf-8")

    html_body, furniture = clean_file(tmp_path)

    assert isinstance(html_body, Article)
    assert html_body.text == "First para.\n\nSecond para."
    assert furniture == Skipped("feed.jsonl#2", "no article text after cleaning")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-25", date(2025, 3, 25)),
        ("2025-03-25T10:00:00+04:00", date(2025, 3, 25)),
        ("25-03-2025", date(2025, 3, 25)),
        ("05/02/2020", date(2020, 2, 5)),
        ("03/25/2025", date(2025, 3, 25)),
        ("Tue, 05 Feb 2020 10:00:00 GMT", date(2020, 2, 5)),
        ("February 5, 2020", date(2020, 2, 5)),
        ("5th February 2020", date(2020, 2, 5)),
        ("1580860800", date(2020, 2, 5)),
        ("March 2020", None),
        ("2025-02-30", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_parse_date_accepts_common_formats_and_refuses_partial_dates(
    value: str, expected: date | None
) -> None:
    assert parse_date(value) == expected


# --- HTML ---------------------------------------------------------------------------------------------

PAGE = """<!doctype html>
<html><head>
  <title>Council Approves New Budget | Example Times</title>
  <meta property="og:site_name" content="Example Times">
  <meta property="og:title" content="Council Approves New Budget">
  <meta name="author" content="Jane Doe">
  <meta property="article:published_time" content="2024-03-05T09:00:00Z">
</head><body>
  <nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
  <article>
    <h1>Council Approves New Budget</h1>
    <!-- ad slot: not text a reader sees -->
    <p>The city council approved the new budget on Monday after a long debate about spending on schools,
       roads and the public library, officials said.</p>
    <p>The budget now goes to the mayor, who is expected to sign it before the end of the month and has
       said she supports most of its measures.</p>
  </article>
  <footer><p>Subscribe to our newsletter</p><p>&copy; 2024 Example Times</p></footer>
</body></html>"""


def test_html_is_extracted_with_trafilatura_including_metadata(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")

    (article,) = clean_file(tmp_path)

    assert isinstance(article, Article)
    assert article.meta.title == "Council Approves New Budget"
    assert article.meta.source == "Example Times"
    assert article.meta.author == "Jane Doe"
    assert article.meta.published == date(2024, 3, 5)
    assert article.meta.origin == "page.html"
    assert len(paragraphs(article)) == 2
    assert article.text.startswith("The city council approved the new budget on Monday")
    for furniture in ("Home", "Subscribe", "Example Times", "<p>"):
        assert furniture not in article.text


def test_html_falls_back_to_beautifulsoup_when_trafilatura_finds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # trafilatura extracts something from nearly any page, so its "nothing found" answer is simulated here.
    monkeypatch.setattr(trafilatura, "bare_extraction", lambda *args, **kwargs: None)
    (tmp_path / "page.htm").write_text(PAGE, encoding="utf-8")

    (article,) = clean_file(tmp_path)

    assert isinstance(article, Article)
    assert article.meta.title == "Council Approves New Budget"
    assert paragraphs(article)[0].startswith(
        "The city council approved the new budget on Monday after a long"
    )
    assert "Home" not in article.text and "Subscribe" not in article.text and "<!--" not in article.text


def test_html_without_any_text_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "blank.html").write_text(
        "<html><body><script>var x = 1;</script></body></html>", encoding="utf-8"
    )

    assert clean_file(tmp_path) == [Skipped("blank.html", "no article text after cleaning")]
