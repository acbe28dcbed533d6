"""Tests for service.ingestion.furniture: forms, disclosures and templates cut out of paragraphs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.ingestion.cleaning import clean_document
from service.ingestion.furniture import is_furniture, paragraphs_without_furniture, without_furniture
from service.ingestion.readers import RawDocument, iter_documents
from service.models import Article

SIGNUP_FORM = (
    "Stay ahead of the trend with our free weekly Lifestyle Edit newsletter Please enter a valid email "
    "address Please enter a valid email address SIGN UP I would like to be emailed about offers, events "
    "and updates from The Independent. Read our privacy notice Thanks for signing up to the"
)
TEMPLATE = (
    "Lifestyle Edit email {{ #verifyErrors }} {{ message }} {{ /verifyErrors }} {{ ^verifyErrors }} "
    "Something went wrong. Please try again later {{ /verifyErrors }}"
)
STORY = (
    "The city council approved the new tram line on Tuesday after a four-hour debate. "
    "Construction is expected to begin in March and cost 410 million euros, the mayor said."
)


@pytest.mark.parametrize(
    "sentence",
    [
        "Please enter a valid email address",
        "Our stories may include affiliate links; if you buy through a link, we may earn a commission.",
        "When you buy through these links, TechCrunch may earn an affiliate commission.",
        "Welcome to the weekly roundup. Sign up here to get it in your inbox every Friday.",
        "By submitting your email, you agree to our Terms and Privacy Notice.",
        "This site is protected by reCAPTCHA and the Google Privacy Policy and Terms of Service apply.",
        "Something went wrong {{ /verifyErrors }}",
        "Was this helpful?",
    ],
)
def test_notices_forms_and_templates_are_furniture(sentence: str) -> None:
    assert is_furniture(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Deft doesn't show ads; it relies on affiliate commissions to generate revenue.",
        "By signing up for the free plan with your email, users can access 10GB of data a month.",
        "Meta said it would update its privacy policy in the European Union next year.",
        "The newsletter business grew fast: Substack now has two million paying subscribers.",
        "Was the deal worth it? Analysts were split.",
    ],
)
def test_reporting_about_the_same_words_is_not_furniture(sentence: str) -> None:
    assert not is_furniture(sentence)


def test_a_paragraph_keeps_its_reporting_and_loses_the_disclosure() -> None:
    paragraph = (
        "The game will be released on Oct. 20 on Nintendo Switch. The game was reviewed using a "
        "pre-release code provided by Nintendo. Vox Media has affiliate partnerships. These do not "
        "influence editorial content, though Vox Media may earn commissions for products purchased via "
        "affiliate links."
    )
    assert without_furniture(paragraph) == (
        "The game will be released on Oct. 20 on Nintendo Switch. The game was reviewed using a "
        "pre-release code provided by Nintendo."
    )


def test_a_paragraph_that_is_mostly_form_goes_whole_and_clean_ones_are_untouched() -> None:
    mostly_form = "Sign up to get the weekly newsletter sent to your inbox for free. Loading..."
    assert without_furniture(mostly_form) == ""
    assert without_furniture(STORY) is STORY
    assert paragraphs_without_furniture([SIGNUP_FORM, TEMPLATE, STORY]) == [STORY]


def test_ingested_records_lose_the_form_and_keep_the_story(tmp_path: Path) -> None:
    """A JSON record whose body opens with a sign-up form and a template, through clean_document."""
    record = {
        "title": "Tram line approved",
        "source": "The Independent",
        "published_at": "2023-12-06T10:00:00+00:00",
        "url": "https://example.com/tram",
        "body": f"{SIGNUP_FORM}\n\n{TEMPLATE}\n\n{STORY}\n\nWork on the depot starts first, officials said.",
    }
    (tmp_path / "records.json").write_text(json.dumps([record]), encoding="utf-8")
    [doc] = list(iter_documents([tmp_path]))
    assert isinstance(doc, RawDocument)
    article = clean_document(doc)
    assert isinstance(article, Article)
    assert article.text.split("\n\n") == [STORY, "Work on the depot starts first, officials said."]
