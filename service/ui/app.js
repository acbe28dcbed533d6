// The chat page: ask (streamed, with the conversation), search and summarize, filters, articles.

import { ApiError, getJson, postJson, streamAsk } from "./api.js";
import { articleLine, articleTitle, el, renderAnswer, renderPassages, renderResults } from "./render.js";

const $ = (selector) => document.querySelector(selector);

const MODES = {
  ask: { label: "Question", button: "Ask", placeholder: "Who succeeded Soleimani as Quds Force commander?" },
  search: { label: "Search the articles", button: "Search", placeholder: "Qaani visit to Baghdad" },
  summarize: { label: "Topic to summarize (or leave empty and use the filters)", button: "Summarize", placeholder: "Iran's Quds Force in Iraq" },
};

const MAX_TURNS = 10;
const state = { mode: "ask", conversation: [], busy: false, articles: new Map() };

function currentFilters() {
  const sources = [...document.querySelectorAll("#outlets input:checked")].map((box) => box.value);
  const after = $("#date-from").value;
  const before = $("#date-to").value;
  const filters = {};
  if (sources.length) filters.sources = sources;
  if (after) filters.published_after = after;
  if (before) filters.published_before = before;
  const count = Object.keys(filters).length;
  $("#filter-count").textContent = count ? `(${count} active)` : "";
  return count ? filters : null;
}

async function articleDetail(id) {
  if (!state.articles.has(id)) state.articles.set(id, getJson(`/articles/${encodeURIComponent(id)}`));
  return state.articles.get(id);
}

// The dialog with the passage behind a citation (or a search result, or a whole article).
async function openPassage({ article, chunkId = null, quote = "" }, opener) {
  const dialog = $("#passage-dialog");
  $("#passage-title").textContent = articleTitle(article);
  $("#passage-meta").textContent = [articleLine(article) || "Outlet and date unknown", article.origin]
    .filter(Boolean).join(" · ");
  const body = $("#passage-body");
  body.replaceChildren(el("p", { class: "hint" }, "Loading the passage…"));
  dialog.addEventListener("close", () => opener?.focus(), { once: true });
  if (!dialog.open) dialog.showModal();
  try {
    const detail = await articleDetail(article.id);
    body.replaceChildren(...renderPassages(detail, chunkId, quote));
    body.querySelector("mark, .cited")?.scrollIntoView({ block: "center" });
  } catch (error) {
    body.replaceChildren(el("p", { class: "notice error", role: "alert" }, `Could not load the article: ${error.message}`));
  }
}

const openCitation = (citation, opener) =>
  openPassage({ article: citation.article, chunkId: citation.chunk_id, quote: citation.quote }, opener);
const openResult = (result, opener) => openPassage({ article: result.article, chunkId: result.chunk_id }, opener);

function addTurn(kind, text) {
  $("#empty").hidden = true;
  const question = el("li", { class: "turn user" }, el("p", { class: "who" }, kind), el("p", { class: "asked" }, text));
  const reply = el("li", { class: "turn reply", "aria-busy": "true" });
  $("#log").append(question, reply);
  reply.scrollIntoView({ block: "nearest" });
  return reply;
}

function showError(reply, error) {
  const message = error instanceof ApiError ? error.message : `Something went wrong: ${error.message}`;
  reply.append(el("p", { class: "notice error", role: "alert" }, message));
}

async function ask(question) {
  const reply = addTurn("You asked", question);
  const draft = el("p", { class: "answer-text streaming" });
  const note = el("p", { class: "hint searching" }, "Searching the articles…");
  reply.append(note, draft);
  // The last few turns are enough context for a follow-up (and keep the request small).
  const body = { question, conversation: state.conversation.slice(-MAX_TURNS) };
  const filters = currentFilters();
  if (filters) body.filters = filters;
  let final = null;
  try {
    await streamAsk(body, {
      sources: (data) => {
        note.textContent = data.passages.length
          ? `Writing from ${data.passages.length} passage${data.passages.length > 1 ? "s" : ""}…`
          : "No passage is relevant enough.";
      },
      delta: (data) => { draft.textContent += data.text; },
      restart: (data) => {
        draft.textContent = "";
        note.textContent = `The language model failed (${data.reason}); answering from the articles…`;
      },
      answer: (data) => { final = data; },
      error: (data) => { throw new ApiError(0, data.error.code, data.error.message); },
    });
  } finally {
    note.remove();
    draft.classList.remove("streaming");
  }
  if (final) {
    draft.remove();
    reply.append(...renderAnswer(final, openCitation));
    state.conversation.push({ role: "user", content: question }, { role: "assistant", content: final.answer });
  }
}

async function search(query) {
  const reply = addTurn("You searched", query);
  const body = { query };
  const filters = currentFilters();
  if (filters) body.filters = filters;
  const data = await postJson("/search", body);
  reply.append(...renderResults(data.results, openResult));
}

async function summarize(topic) {
  const filters = currentFilters();
  const reply = addTurn("Summary of", topic || "the filtered articles");
  const body = {};
  if (topic) body.topic = topic;
  if (filters) body.filters = filters;
  try {
    reply.append(...renderAnswer(await postJson("/summarize", body), openCitation));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      reply.append(el("p", { class: "notice insufficient", role: "status" },
        "Summaries are not available on this server (POST /summarize is not there)."));
      return;
    }
    throw error;
  }
}

async function submit(event) {
  event.preventDefault();
  if (state.busy) return;
  const box = $("#question");
  const text = box.value.trim();
  if (!text && !(state.mode === "summarize" && currentFilters())) {
    box.focus();
    return;
  }
  state.busy = true;
  $("#submit").disabled = true;
  box.value = "";
  const action = { ask, search, summarize }[state.mode];
  try {
    await action(text);
  } catch (error) {
    showError($("#log").lastElementChild, error);
  } finally {
    $("#log").lastElementChild?.removeAttribute("aria-busy");
    state.busy = false;
    $("#submit").disabled = false;
    box.focus();
  }
}

function setMode(mode) {
  state.mode = mode;
  const info = MODES[mode];
  $("#question-label").textContent = info.label;
  $("#submit").textContent = info.button;
  $("#question").placeholder = info.placeholder;
  $("#question").required = mode !== "summarize";
}

async function loadArticles() {
  let data;
  try {
    data = await getJson("/articles");
  } catch (error) {
    $("#articles").replaceChildren(el("li", { class: "notice error" }, `Could not list the articles: ${error.message}`));
    return;
  }
  const articles = data.articles;
  $("#article-count").textContent = String(articles.length);
  $("#articles").replaceChildren(...articles.map((a) => el("li", {},
    el("button", { type: "button", class: "source-link", onclick: (e) => openPassage({ article: a }, e.currentTarget) },
      articleTitle(a)),
    el("span", { class: "meta" }, ` ${articleLine(a) || "outlet and date unknown"}`))));
  const outlets = [...new Set(articles.map((a) => a.source).filter(Boolean))].sort();
  $("#outlets").append(...outlets.map((name) => el("label", { class: "check" },
    el("input", { type: "checkbox", value: name, onchange: currentFilters }), ` ${name}`)));
  const dates = articles.map((a) => a.published).filter(Boolean).sort();
  for (const input of [$("#date-from"), $("#date-to")]) {
    if (dates.length) {
      input.min = dates[0];
      input.max = dates[dates.length - 1];
    }
    input.addEventListener("change", currentFilters);
  }
}

// Summaries need POST /summarize; a server without it gets the mode switched off, not a 404.
async function checkSummarize() {
  let paths = {};
  try {
    paths = (await getJson("/openapi.json")).paths || {};
  } catch {
    return; // unknown: leave the mode on; a 404 is still handled when it is used
  }
  if (!paths["/summarize"]) {
    const radio = document.querySelector('input[name="mode"][value="summarize"]');
    radio.disabled = true;
    radio.parentElement.classList.add("unavailable");
    radio.parentElement.title = "Summaries are not available on this server";
  }
}

function init() {
  $("#ask-form").addEventListener("submit", submit);
  $("#question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("#ask-form").requestSubmit();
    }
  });
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", () => setMode(radio.value));
  }
  $("#new-conversation").addEventListener("click", () => {
    state.conversation = [];
    $("#log").replaceChildren();
    $("#empty").hidden = false;
    $("#question").focus();
  });
  $("#clear-filters").addEventListener("click", () => {
    for (const box of document.querySelectorAll("#outlets input")) box.checked = false;
    $("#date-from").value = "";
    $("#date-to").value = "";
    currentFilters();
  });
  // Filters open by default on wide screens; folded away on a phone.
  if (window.matchMedia("(min-width: 800px)").matches) $("#filters-box").open = true;
  setMode("ask");
  loadArticles();
  checkSummarize();
}

init();
