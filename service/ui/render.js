// DOM building for answers, search results and passages. Text always goes in as text, never HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December"];

export function humanDate(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-").map(Number);
  return `${d} ${MONTHS[m - 1]} ${y}`;
}

export function articleLine(article) {
  return [article.source, article.author && `by ${article.author}`, humanDate(article.published)]
    .filter(Boolean).join(" · ");
}

export function articleTitle(article) {
  return article.title || article.origin || article.id;
}

// The other outlets carrying the same passage (wire copy), or nothing.
function alsoIn(copies) {
  if (!copies || !copies.length) return null;
  const where = copies.map((c) => [c.article.source || articleTitle(c.article), humanDate(c.article.published)]
    .filter(Boolean).join(", "));
  return el("span", { class: "also-in" }, ` · also in ${where.join("; ")}`);
}

// Text with [n] markers turned into buttons that open citation n.
function withCitations(text, citations, openCitation) {
  const byN = new Map(citations.map((c) => [c.n, c]));
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    parts.push(text.slice(last, match.index));
    const citation = byN.get(Number(match[1]));
    if (citation) {
      const label = `Citation ${citation.n}: ${articleTitle(citation.article)}, ${articleLine(citation.article)}`;
      parts.push(el("button", {
        type: "button", class: "cite", "aria-label": label, title: label,
        onclick: (event) => openCitation(citation, event.currentTarget),
      }, `[${citation.n}]`));
    } else {
      parts.push(match[0]);
    }
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

function sentenceNodes(answer, openCitation) {
  if (!Array.isArray(answer.sentences) || !answer.sentences.length) {
    return [el("p", { class: "answer-text" }, withCitations(answer.answer, answer.citations, openCitation))];
  }
  const spans = answer.sentences.map((sentence) => {
    const supported = sentence.supported !== false;
    const label = supported ? null : "Not supported by the passages it cites";
    // Sentences may carry their markers in the text or only in `citations`: show them either way.
    const hasMarkers = /\[\d+\]/.test(sentence.text);
    const markers = hasMarkers ? "" : (sentence.citations || []).map((n) => ` [${n}]`).join("");
    return [
      el("span", { class: supported ? "sentence" : "sentence unsupported", title: label },
        withCitations(sentence.text + markers, answer.citations, openCitation),
        supported ? null : el("span", { class: "badge" }, " (unsupported)")),
      " ",
    ];
  });
  return [el("p", { class: "answer-text" }, spans)];
}

// How the server read the question's time ("in March 2025" → published from 1 March 2025).
export function timeFrameNode(frame) {
  if (!frame) return null;
  const after = humanDate(frame.published_after);
  const before = humanDate(frame.published_before);
  const range = after && before ? (after === before ? `published on ${after}` : `published ${after} to ${before}`)
    : after ? `published from ${after} on` : before ? `published up to ${before}` : "";
  const read = [range, frame.newest_first && "newest first"].filter(Boolean).join(", ");
  return el("p", { class: "notice time-frame", role: "note" },
    `Time read: “${frame.expression}” as ${read}.`);
}

// The final answer: notices, text with clickable citations, the cited sources.
export function renderAnswer(answer, openCitation) {
  const nodes = [];
  const frame = timeFrameNode(answer.time_frame);
  if (answer.insufficient) {
    // The server says what was not found (an answer, or a summary's topic and filters).
    const said = answer.answer || "The indexed articles don't contain the answer to this question.";
    nodes.push(el("p", { class: "notice insufficient", role: "status" },
      el("strong", {}, "Not in the articles. "),
      `${said} Try search mode, other words, or wider filters.`));
    if (frame) nodes.push(frame);
    return nodes;
  }
  if (frame) nodes.push(frame);
  if (answer.degraded) {
    nodes.push(el("p", { class: "notice degraded", role: "status" },
      "The language model was unavailable",
      answer.reason ? ` (${answer.reason})` : "",
      "; this answer is made of sentences taken from the articles."));
  }
  nodes.push(...sentenceNodes(answer, openCitation));
  const leftOut = answer.outlets_left_out || [];
  if (leftOut.length) {
    nodes.push(el("p", { class: "notice left-out", role: "note" },
      `Not covered: ${leftOut.join(", ")}. `,
      leftOut.length > 1
        ? "Each of these outlets has several articles that fit the question and none clearly matches, "
        : "Several articles of this outlet fit the question and none clearly matches, ",
      "so none is cited; name the article's date or subject to include it."));
  }
  if (answer.citations.length) {
    nodes.push(el("h3", { class: "sources-title" }, "Sources"));
    nodes.push(el("ol", { class: "sources" }, answer.citations.map((c) =>
      el("li", {},
        el("button", {
          type: "button", class: "source-link",
          onclick: (event) => openCitation(c, event.currentTarget),
        }, `[${c.n}] ${articleTitle(c.article)}`),
        el("span", { class: "meta" }, ` ${articleLine(c.article)}`),
        alsoIn(c.also_in)))));
  }
  nodes.push(el("p", { class: "generator" }, `Answered by: ${answer.generator}`));
  return nodes;
}

export function renderResults(results, openResult) {
  if (!results.length) {
    return [el("p", { class: "notice insufficient", role: "status" }, "No passage matches this search and these filters.")];
  }
  return [el("ol", { class: "results" }, results.map((r) =>
    el("li", { class: "result" },
      el("button", { type: "button", class: "source-link", onclick: (e) => openResult(r, e.currentTarget) },
        articleTitle(r.article)),
      el("span", { class: "meta" }, ` ${[articleLine(r.article), `score ${r.score.toFixed(2)}`].filter(Boolean).join(" · ")}`),
      alsoIn(r.also_in),
      el("p", { class: "snippet" }, r.text.length > 320 ? `${r.text.slice(0, 320)}…` : r.text))))];
}

// Where the quote sits in the passage, tolerant of whitespace differences; null when absent.
function findQuote(text, quote) {
  if (!quote) return null;
  const at = text.indexOf(quote);
  if (at >= 0) return [at, at + quote.length];
  const pattern = quote.trim().split(/\s+/).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("\\s+");
  const match = pattern && new RegExp(pattern).exec(text);
  return match ? [match.index, match.index + match[0].length] : null;
}

// An article's passages; the cited one highlighted, its quote marked, neighbours as context.
export function renderPassages(article, chunkId, quote) {
  const chunks = article.chunks || [];
  const at = chunks.findIndex((c) => c.chunk_id === chunkId);
  const shown = at < 0 ? chunks : chunks.slice(Math.max(0, at - 1), at + 2);
  return shown.map((chunk) => {
    if (chunk.chunk_id !== chunkId) return el("p", { class: "context" }, chunk.text);
    const span = findQuote(chunk.text, quote);
    const body = span
      ? [chunk.text.slice(0, span[0]), el("mark", {}, chunk.text.slice(span[0], span[1])), chunk.text.slice(span[1])]
      : [chunk.text];
    return el("p", { class: "cited", "aria-label": "Cited passage" }, body);
  });
}
