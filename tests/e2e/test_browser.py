"""The chat page in real headless Chromium (Debian's), driven by Playwright, on the seeded server."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)

from service.embeddings import Embedder
from service.settings import Settings
from service.store import ChunkStore
from tests.conftest import LiveServer, extractive_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
RESULTS = Path(__file__).resolve().parents[2] / "test-results" / "browser"
WHEN = "When did Qaani visit Baghdad?"
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]  # fmt: skip


def human_date(iso: str) -> str:
    year, month, day = (int(p) for p in iso.split("-"))
    return f"{day} {MONTHS[month - 1]} {year}"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield chromium
    chromium.close()


@pytest.fixture()
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh page on the chat UI; the test fails if the page logs any console error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(live_server.url + "/")
    expect(tab.locator("#article-count")).to_have_text("5")
    yield tab
    context.close()
    assert errors == [], f"console errors: {errors}"


def count_streamed_updates(page: Page) -> None:
    """Count text appended to the answer while it streams (read back from window.__updates)."""
    page.evaluate(
        """() => {
        window.__updates = 0;
        new MutationObserver((records) => {
          for (const r of records) {
            const node = r.target.nodeType === 3 ? r.target.parentElement : r.target;
            if (node && node.classList && node.classList.contains("streaming")) window.__updates += 1;
          }
        }).observe(document.querySelector("#log"), { subtree: true, childList: true, characterData: true });
      }"""
    )


def ask(page: Page, question: str) -> None:
    page.fill("#question", question)
    page.press("#question", "Enter")


def test_question_streams_an_answer_whose_citation_opens_the_passage(
    page: Page, client: httpx.Client
) -> None:
    expected = client.post("/ask", json={"question": WHEN}).json()
    first = expected["citations"][0]
    article = first["article"]
    assert article["source"] and article["published"], "citation [1] should carry outlet and date"

    count_streamed_updates(page)
    ask(page, WHEN)
    reply = page.locator(".turn.reply").last
    expect(reply.locator(".cite").first).to_be_visible(timeout=60_000)
    assert page.evaluate("window.__updates") >= 2  # the answer arrived in pieces
    expect(reply.locator(".answer-text")).to_contain_text("Qaani")
    assert reply.locator(".cite").count() >= len(expected["citations"])
    expect(reply.locator(".sources li")).to_have_count(len(expected["citations"]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RESULTS / "answered-question.png"), full_page=True)

    reply.locator(".cite", has_text="[1]").first.click()
    dialog = page.locator("#passage-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#passage-title")).to_have_text(article["title"])
    expect(dialog.locator("#passage-meta")).to_contain_text(article["source"])
    expect(dialog.locator("#passage-meta")).to_contain_text(human_date(article["published"]))
    expect(dialog.locator(".cited mark")).to_have_text(first["quote"])
    page.screenshot(path=str(RESULTS / "citation-passage.png"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_follow_up_question_is_answered_in_the_conversations_context(page: Page) -> None:
    ask(page, "What did Qaani discuss in Baghdad?")
    expect(page.locator(".turn.reply").last.locator(".cite").first).to_be_visible(timeout=60_000)
    ask(page, "And what did he say about Israel?")
    second = page.locator(".turn.reply").nth(1)
    expect(second.locator(".cite").first).to_be_visible(timeout=60_000)
    expect(second.locator(".answer-text")).to_contain_text("Israeli strikes")


def test_question_the_articles_cannot_answer_says_so(page: Page) -> None:
    ask(page, "What is the capital of Australia?")
    notice = page.locator(".turn.reply .notice.insufficient")
    expect(notice).to_be_visible(timeout=60_000)
    expect(notice).to_contain_text("do not contain the answer to this question")
    expect(page.locator(".turn.reply .cite")).to_have_count(0)


def test_the_time_a_question_names_is_shown_as_read(page: Page) -> None:
    ask(page, "What did Qaani discuss in Baghdad in March 2025?")
    reply = page.locator(".turn.reply").last
    expect(reply.locator(".cite").first).to_be_visible(timeout=60_000)
    expect(reply.locator(".notice.time-frame")).to_have_text(
        "Time read: “March 2025” as published from 1 March 2025 on."
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RESULTS / "time-frame.png"), full_page=True)
    ask(page, "What did Qaani discuss in Baghdad?")
    second = page.locator(".turn.reply").nth(1)
    expect(second.locator(".cite").first).to_be_visible(timeout=60_000)
    expect(second.locator(".notice.time-frame")).to_have_count(0)


def test_summary_of_a_topic_nothing_matches_says_what_was_not_found(page: Page, client: httpx.Client) -> None:
    assert has_summarize(client)
    page.locator(".modes label", has_text="Summarize").click()
    ask(page, "Antarctic penguin breeding colonies and krill stocks")
    notice = page.locator(".turn.reply .notice.insufficient")
    expect(notice).to_be_visible(timeout=60_000)
    expect(notice).to_contain_text("No indexed article matches this topic or these filters.")
    expect(notice).not_to_contain_text("answer to this question")


def test_search_mode_lists_passages_and_filters_restrict_them(page: Page) -> None:
    page.locator(".modes label", has_text="Search").click()
    expect(page.locator("#submit")).to_have_text("Search")
    ask(page, "Qaani visit to Baghdad")
    results = page.locator(".turn.reply").last.locator(".result")
    expect(results.first).to_be_visible(timeout=60_000)
    outlets = set(results.locator(".meta").all_inner_texts())
    assert any("The National" in m for m in outlets) and any("Shafaq News" in m for m in outlets)

    page.locator("#outlets label", has_text="Shafaq News").click()
    ask(page, "Qaani visit to Baghdad")
    filtered = page.locator(".turn.reply").last.locator(".result")
    expect(filtered.first).to_be_visible(timeout=60_000)
    assert all("Shafaq News" in m for m in filtered.locator(".meta").all_inner_texts())

    page.click("#clear-filters")
    page.fill("#date-from", "2025-03-20")
    ask(page, "Qaani visit to Baghdad")
    dated = page.locator(".turn.reply").last.locator(".result")
    expect(dated.first).to_be_visible(timeout=60_000)
    assert all("25 March 2025" in m for m in dated.locator(".meta").all_inner_texts())

    dated.first.locator(".source-link").click()
    expect(page.locator("#passage-dialog .cited")).to_be_visible()


def test_indexed_articles_are_listed_and_open_with_their_passages(page: Page) -> None:
    page.locator("#articles-box summary").click()
    items = page.locator("#articles li")
    expect(items).to_have_count(5)
    expect(items.first).to_contain_text("25 March 2025")  # newest first
    items.first.locator("button").click()
    expect(page.locator("#passage-body p").first).to_be_visible()
    expect(page.locator("#passage-meta")).to_contain_text("The National")


def add_sentence_verdicts(route: Route) -> None:
    """Pass the real /ask/stream response on, with its second sentence's verdict set to unsupported.

    The extractive generator quotes passages, so its sentences always pass the citation check; to see
    how the page renders a failed check, the real verdicts are replaced in their documented shape.
    """
    response = route.fetch()

    def with_verdicts(match: re.Match[str]) -> str:
        answer = json.loads(match.group(1))
        sentences = re.split(r"(?<=\.)\s+", answer["answer"])
        answer["sentences"] = [
            {"text": text, "citations": [int(n) for n in re.findall(r"\[(\d+)\]", text)],
             "supported": i != 1, "score": 0.5}
            for i, text in enumerate(sentences)
        ]  # fmt: skip
        return "event: answer\r\ndata: " + json.dumps(answer) + "\r"

    body = re.sub(r"event: answer\r\ndata: (.*)\r", with_verdicts, response.text())
    route.fulfill(response=response, body=body)


def test_unsupported_sentences_are_marked_when_the_answer_carries_verdicts(page: Page) -> None:
    page.route("**/ask/stream", add_sentence_verdicts)
    ask(page, WHEN)
    reply = page.locator(".turn.reply").last
    unsupported = reply.locator(".sentence.unsupported")
    expect(unsupported).to_have_count(1, timeout=60_000)
    expect(unsupported).to_contain_text("(unsupported)")
    expect(unsupported).to_have_attribute("title", re.compile("Not supported"))
    assert reply.locator(".sentence:not(.unsupported)").count() >= 1
    assert reply.locator(".cite").count() >= 2  # markers stay clickable inside sentences


def has_summarize(client: httpx.Client) -> bool:
    return "/summarize" in client.get("/openapi.json").json()["paths"]


def test_summary_mode_shows_a_cited_summary(page: Page, client: httpx.Client) -> None:
    assert has_summarize(client)
    page.locator(".modes label", has_text="Summarize").click()
    ask(page, "Qaani's visits to Iraq")
    reply = page.locator(".turn.reply").last
    expect(reply.locator(".cite").first).to_be_visible(timeout=120_000)
    reply.locator(".cite").first.click()
    expect(page.locator("#passage-dialog .cited")).to_be_visible()


def without_summarize(route: Route) -> None:
    """The real OpenAPI document, as an older server without POST /summarize would send it."""
    response = route.fetch()
    schema = response.json()
    schema["paths"].pop("/summarize", None)
    route.fulfill(response=response, json=schema)


def test_summary_mode_is_switched_off_on_a_server_without_the_endpoint(page: Page) -> None:
    page.route("**/openapi.json", without_summarize)
    page.reload()
    summarize = page.locator('input[name="mode"][value="summarize"]')
    expect(summarize).to_be_disabled()
    expect(page.locator(".modes label.unavailable")).to_have_attribute("title", re.compile("not available"))


def test_phone_width_reads_without_sideways_scrolling_and_citations_work_by_keyboard(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    phone = context.new_page()
    errors: list[str] = []
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    phone.goto(live_server.url + "/")
    phone.keyboard.press("Tab")  # the skip link
    phone.keyboard.press("Enter")
    phone.keyboard.type(WHEN)
    phone.keyboard.press("Enter")
    cite = phone.locator(".turn.reply .cite").first
    expect(cite).to_be_visible(timeout=60_000)
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    phone.screenshot(path=str(RESULTS / "phone.png"), full_page=True)
    cite.focus()
    phone.keyboard.press("Enter")
    expect(phone.locator("#passage-dialog")).to_be_visible()
    phone.keyboard.press("Escape")
    expect(phone.locator("#passage-dialog")).to_be_hidden()
    assert phone.evaluate("document.activeElement.classList.contains('cite')")  # focus returned
    context.close()
    assert errors == []


@pytest.fixture(scope="session", autouse=True)
def _fresh_results() -> None:
    shutil.rmtree(RESULTS, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)


def test_page_asks_for_the_api_key_once_and_keeps_it_for_the_session(
    browser: Browser, seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    base, store = seeded
    settings = Settings.model_validate(base.model_dump() | {"api_key": "page-key"})
    app = extractive_app(settings, store, embedder)
    with LiveServer(app) as server:
        context = browser.new_context()
        tab = context.new_page()
        prompts: list[str] = []
        errors: list[str] = []

        def on_dialog(dialog: Dialog) -> None:
            prompts.append(dialog.message)
            dialog.accept("page-key")

        tab.on("dialog", on_dialog)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        # The first calls are refused (401) before the key is asked for: the only console errors allowed.
        tab.on("console", lambda m: m.type == "error" and "401" not in m.text and errors.append(m.text))
        tab.goto(server.url + "/")
        expect(tab.locator("#article-count")).to_have_text("5")
        ask(tab, WHEN)
        expect(tab.locator(".turn.reply").last.locator(".cite").first).to_be_visible(timeout=120_000)
        assert len(prompts) == 1 and "API key" in prompts[0]
        assert tab.evaluate("sessionStorage.getItem('newsrag-api-key')") == "page-key"
        tab.reload()
        expect(tab.locator("#article-count")).to_have_text("5")
        assert len(prompts) == 1  # kept for the session: not asked again
        assert errors == []
        context.close()


@contextmanager
def page_on_index(
    browser: Browser, index: tuple[Settings, ChunkStore], embedder: Embedder, articles: int
) -> Iterator[Page]:
    """A fresh page on the chat UI of a server over another index; fails on any page error."""
    settings, store = index
    with LiveServer(extractive_app(settings, store, embedder)) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("console", lambda m: m.type == "error" and errors.append(m.text))
        tab.goto(server.url + "/")
        expect(tab.locator("#article-count")).to_have_text(str(articles))
        yield tab
        assert errors == []
        context.close()


def test_a_named_outlet_left_out_of_the_answer_is_said_so(
    browser: Browser, national_twice: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    # The National has two articles on the visit, alike
    with page_on_index(browser, national_twice, embedder, articles=6) as tab:
        ask(tab, "What did The National and Shafaq News report about Esmail Qaani's visit to Baghdad?")
        reply = tab.locator(".turn.reply").last
        notice = reply.locator(".notice.left-out")
        expect(notice).to_contain_text("Not covered: The National", timeout=120_000)
        expect(reply.locator(".sources li")).to_contain_text(["Shafaq News"])
        tab.screenshot(path=str(RESULTS / "outlet-left-out.png"), full_page=True)


def test_a_wire_copy_is_shown_once_with_the_outlet_that_reprinted_it(
    browser: Browser, wire_reprint: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    # seed 001 (Shafaq News) reprinted word for word by Gulf Wire
    with page_on_index(browser, wire_reprint, embedder, articles=6) as tab:
        question = "What did Ghaani tell Iraqi leaders about Israeli strikes?"
        ask(tab, question)
        sources = tab.locator(".turn.reply").last.locator(".sources li")
        expect(sources.first).to_be_visible(timeout=120_000)
        story = sources.filter(has_text=re.compile("Shafaq News|Gulf Wire"))
        expect(story.first.locator(".also-in")).to_contain_text(re.compile("also in (Gulf Wire|Shafaq News)"))

        tab.locator(".modes label", has_text="Search").click()
        ask(tab, question)
        results = tab.locator(".turn.reply").last.locator(".result")
        expect(results.first).to_be_visible(timeout=60_000)
        copied = results.filter(has=tab.locator(".also-in"))
        expect(copied).to_have_count(1)
        reprinted = re.compile("also in (Gulf Wire, 20|Shafaq News, 19) March 2025")
        expect(copied.locator(".also-in")).to_contain_text(reprinted)
        tab.screenshot(path=str(RESULTS / "wire-copy.png"), full_page=True)
