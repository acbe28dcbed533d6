"""Clean raw documents into articles: drop site boilerplate and related-story blocks, find the metadata.

Plain text gets conservative line-level heuristics (unknown metadata stays empty); HTML goes to trafilatura.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import trafilatura
from bs4 import BeautifulSoup
from bs4.element import NavigableString
from dateutil import parser as date_parser

from service.ingestion.furniture import paragraphs_without_furniture
from service.ingestion.readers import RawDocument, Skipped
from service.models import Article, ArticleMeta, stable_hash

NO_TEXT = "no article text after cleaning"

_I = re.IGNORECASE
# Whole lines that are site furniture, not article text (matched case-insensitively, whole line).
_BOILERPLATE = re.compile(
    r"[\w .'-]{0,20}\blogo"  # "logo", "site logo"
    r"|(\w+ ){1,2}background( image)?"  # image alt text such as "Orange background"
    r"|try our .{0,40}features?|explore what .{0,60} can do for you:?"
    r"|(\d+ )?comments?( \(\d+\))?:?|no comments yet.*"
    r"|(be the first to|leave a|add a|post a|show|view|load) (comment|reply|comments)\b.{0,40}"
    r"|.{0,150}\bdownload our app\b.{0,150}|(get started now:? )?download the app.{0,40}"
    r"|((download on the |get it on )?(app[- ]?store|play[- ]?store|google[- ]play)[ ,|/-]*)+"
    r"|other reports by .{1,80}|discuss this article"
    r"|share( this( article| story| page)?| on \w+| via \w+)?:?|copy link"
    # a row of share buttons: "Facebook Twitter Whatsapp Reddit Email Share", or one of them alone
    r"|((facebook|twitter|whatsapp|linkedin|telegram|reddit|pinterest|flipboard|e-?mail|share|tweet|print)[\s,|/·•]*)+"
    r"|(subscribe|sign up|sign in|log in)\b.{0,80}(?<!\.)|.{0,60}\bnewsletters?\b.{0,60}(?<!\.)"
    r"|.{0,150}\b(we use cookies|accept (all )?cookies|cookie (policy|settings|preferences|consent)).{0,150}"
    r"|(advertisement|advert)(\s*[-–:]?\s*(the )?(story|article) continues below( this ad(vertisement)?)?)?"
    r"|sponsored( content)?|skip to (main )?content|[^.]{0,60}\b(click|tap) here (to|for) .{0,80}"
    r"|\((getty images|ap photo|reuters|afp)[^)]{0,60}\)"  # a photo credit on its own line
    r"|.{0,100}all rights reserved\.?|(©|copyright ©|copyright \d{4}).{0,100}"
    r"|(time\s*)?(\d+|an?|one) (second|minute|min|hour|hr|day|week|month|year)s? ago"
    r"|(written|posted|published|updated|last updated)( on| at| by)?:?|by:?|date:?"  # labels with no value
    r"|(read more|also read|related|see also): .{1,200}",  # inline cross-links to other stories
    _I,
)
# A line opening a block of other stories: it and everything after it is not the host article.
_RELATED = re.compile(
    r"((related|more|other|latest|top)"
    r" (articles|stories|news|coverage|reading|content|reports|pages|links|posts)"
    r"|more from .{1,60}|read more|you (may|might) also like|recommended( for you| stories| articles)?"
    r"|most (read|popular)"
    r"|trending( now| stories)?)\s*:?(?<![.!?])",
    _I,
)
# A paragraph this long after a related-stories heading means the heading is the article's own.
_SECTION_PARAGRAPH_WORDS = 30
_FOOTER_SOURCE = re.compile(r"other reports by (?P<name>.{1,80}?)[.\s]*", _I)
_DATE_TOKEN = (
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|[A-Z][a-z]{2,8}\.? \d{1,2}(st|nd|rd|th)?,? \d{4}"
    r"|\d{1,2}(st|nd|rd|th)? [A-Z][a-z]{2,8}\.?,? \d{4}"
)
# "The National25-03-2025", "By Jane Doe | March 5, 2024", "Published: 5 March 2024 10:30", "February 5, 2020"
_DATED_LINE = re.compile(
    rf"((?P<prefix>.{{0,80}}?\D)\s*)?(?P<date>{_DATE_TOKEN})(\s*[,|•·-]?\s*\d{{1,2}}:\d{{2}}.*)?"
)
_DATE_LABEL = re.compile(r"(published|posted|updated|last updated|date|dated|written on|on)?\s*:?", _I)
_BYLINE = re.compile(
    r"(written |posted |reported )?by[:\s]+(?P<names>.{2,120})|author:\s*(?P<author>.{2,120})", _I
)
# "date 2025-03-19 Shafaq News/ Iran's ..." at the start of the first paragraph.
_DATELINE = re.compile(
    r"(date\s*)?(?P<date>\d{4}-\d{2}-\d{2})\s+"
    r"(?P<outlet>[A-Z][\w&.'\u2019-]*( [A-Z][\w&.'\u2019-]*){0,4})\s*/\s*"
)
_NOT_NAME = re.compile(r"the|news|daily|times|post|press|agency|media|report|network|online", _I)
_PARTICLES = re.compile(r"al|el|bin|ibn|de|da|del|der|di|du|la|le|van|von", _I)
# Markdown comments, code fences, link definitions and horizontal rules.
_MD_NOISE = re.compile(
    r"<!--.*?-->|^```.*$|^\s*\[[^\]]+\]:\s*\S+.*$|^\s*([-*_]\s*){3,}$", re.DOTALL | re.MULTILINE
)
_LIST_ITEM = re.compile(r"([-*+•]|\d+[.)])\s")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\x00-\x08\x0b-\x1f\x7f]")


@dataclass
class _Meta:
    title: str = ""
    source: str = ""
    author: str = ""
    published: date | None = None


def clean_document(doc: RawDocument) -> Article | Skipped:
    """Clean one raw document into an Article, or skip it when no article text remains."""
    if doc.kind == "html":
        meta, paras = _clean_html(doc.text)
    elif doc.kind == "record":
        meta = _meta_from_fields(doc.fields)
        body = _html_text(doc.text)[1] if _HTML_TAG.search(doc.text) else doc.text
        paras = _without_boilerplate(_paragraphs(body))
    else:
        meta, paras = _clean_plain(doc.text, markdown=doc.kind == "md")
    paras = _dedupe(paragraphs_without_furniture(paras), meta.title)
    if not paras:
        return Skipped(doc.origin, NO_TEXT)
    article_meta = ArticleMeta(
        id=stable_hash(doc.origin), title=meta.title, source=meta.source, author=meta.author,
        published=meta.published, origin=doc.origin,
    )  # fmt: skip
    return Article(meta=article_meta, text="\n\n".join(paras), source_file=doc.source_file)


def parse_date(value: str) -> date | None:
    """A date from ISO, numeric (day first), RFC 822, epoch or written forms; None if any part is missing."""
    s = value.strip()
    if re.fullmatch(r"\d{10}(\d{3})?(\.\d+)?", s):  # epoch seconds or milliseconds
        seconds = float(s) / (1000 if len(s.split(".")[0]) == 13 else 1)
        return datetime.fromtimestamp(seconds, tz=UTC).date()
    if m := re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})", s):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    # Numeric dates with the year last are read day first (25-03-2025), as most non-US outlets write them.
    dayfirst = re.match(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{4}", s) is not None
    try:  # parse against two different defaults: a part missing from the text shows up as a disagreement
        first: datetime = date_parser.parse(s, dayfirst=dayfirst, default=datetime(2000, 1, 1))
        second: datetime = date_parser.parse(s, dayfirst=dayfirst, default=datetime(2001, 2, 2))
    except (ValueError, OverflowError, TypeError):
        return None
    ok = first.date() == second.date() and 1900 <= first.year <= 2100
    return first.date() if ok else None


def _clean_plain(text: str, markdown: bool) -> tuple[_Meta, list[str]]:
    meta = _Meta()
    if markdown:
        text, front = _strip_markdown(text)
        meta = _meta_from_fields(front)
    paras = _paragraphs(text)
    footer = next((m["name"] for p in paras[-3:] if (m := _FOOTER_SOURCE.fullmatch(p))), "")
    paras = _read_header(_without_boilerplate(paras), meta)
    if paras and (m := _DATELINE.match(paras[0])):
        paras[0] = paras[0][m.end() :]
        meta.source = meta.source or m["outlet"]
        meta.published = meta.published or parse_date(m["date"])
    meta.source = meta.source or footer.strip()
    return meta, paras


def _read_header(paras: list[str], meta: _Meta) -> list[str]:
    """Take title, outlet, byline and date from the lines above the first body paragraph."""
    body_at = next((i for i, p in enumerate(paras) if _is_body(p)), len(paras))
    start = 0
    if not meta.title and 0 < body_at < len(paras) and _is_title(paras[0]):
        meta.title, start = paras[0], 1
    header = paras[start:body_at][:8]
    kinds = [_header_kind(p, meta.title) for p in header]
    kept: list[str] = []
    for i, (p, kind) in enumerate(zip(header, kinds, strict=True)):
        near_date = "dated" in kinds[max(i - 1, 0) : i + 2]
        if kind == "dated" and (dated := _dated(p)):
            meta.published = meta.published or dated[0]
            if names := _byline_names(dated[1]):
                meta.author = meta.author or names
            elif not _DATE_LABEL.fullmatch(dated[1]):
                meta.source = meta.source or dated[1]
        elif kind == "byline" or (kind == "name" and near_date):
            meta.author = meta.author or _byline_names(p) or p
        elif kind != "title":
            kept.append(p)
    return kept + paras[start + len(header) :]


def _header_kind(line: str, title: str) -> str:
    if title and _same(line, title):
        return "title"
    if _dated(line):
        return "dated"
    if _byline_names(line):
        return "byline"
    return "name" if _is_name(line) else "other"


def _dated(line: str) -> tuple[date, str] | None:
    """(date, prefix) for a short line holding a date, alone or after a label, a byline or an outlet."""
    m = _DATED_LINE.fullmatch(line) if len(line) <= 100 else None
    published = parse_date(m["date"]) if m else None
    if m is None or published is None:
        return None
    prefix = re.sub(r"\s+(on|at)$", "", (m["prefix"] or "").strip(" |\u2022\u00b7,\u2013\u2014-"), flags=_I)
    known = _DATE_LABEL.fullmatch(prefix) or _byline_names(prefix) or _is_outlet(prefix)
    return (published, prefix) if known else None


def _byline_names(line: str) -> str:
    m = _BYLINE.fullmatch(line.strip())
    if not m:
        return ""
    names = re.split(r"\s*(?:,|&|\band\b)\s*", (m["names"] or m["author"]).strip(" .|"))
    ok = all(_is_name(n, min_words=1) for n in names if n)
    return ", ".join(n for n in names if n) if ok else ""


def _is_name(line: str, min_words: int = 2) -> bool:
    words = line.split()
    if not (min_words <= len(words) <= 4) or len(line) > 40 or re.search(r"[\d:;!?@/()]", line):
        return False
    for word in words:
        if _NOT_NAME.fullmatch(word.strip(".,")):
            return False
        if not (word[0].isupper() or _PARTICLES.fullmatch(word.split("-")[0])):
            return False
    return True


def _is_outlet(text: str) -> bool:
    return 0 < len(text) <= 60 and len(text.split()) <= 6 and text[0].isupper() and not text.endswith(".")


def _is_title(line: str) -> bool:
    bare = line.rstrip("\"')\u00bb\u201d\u2019")
    return (
        len(line) <= 200 and len(line.split()) >= 2 and not bare.endswith((".", ":", ","))
        and not line[0].islower() and _DATELINE.match(line) is None
        and _DATED_LINE.fullmatch(line) is None and not _byline_names(line)
    )  # fmt: skip


def _is_body(line: str) -> bool:
    words = len(line.split())
    return words >= 25 or (words >= 8 and line.rstrip("\"')\u201d\u2019").endswith((".", "!", "?")))


def _without_boilerplate(paras: list[str]) -> list[str]:
    """Drop furniture lines, and everything from a related-stories heading once the article has begun.

    A heading followed straight away by a full paragraph is a section of the article itself (a
    digest's "Most read", "More from hardware land:"), not a block of links: it is kept with the text.
    """
    kept: list[str] = []
    for i, p in enumerate(paras):
        if _RELATED.fullmatch(p):
            if i + 1 < len(paras) and len(paras[i + 1].split()) >= _SECTION_PARAGRAPH_WORDS:
                kept.append(p)
                continue
            if any(_is_body(k) for k in kept):
                break
            continue
        if len(p) > 300 or not _BOILERPLATE.fullmatch(p):
            kept.append(p)
    return kept


def _dedupe(paras: list[str], title: str) -> list[str]:
    """Drop empty paragraphs, a leading copy of the title, and immediate repeats."""
    out: list[str] = []
    for p in (p.strip() for p in paras):
        if p and not (out and _same(p, out[-1])) and not (not out and title and _same(p, title)):
            out.append(p)
    return out


def _same(a: str, b: str) -> bool:
    def key(s: str) -> str:
        return _SPACES.sub(" ", s).strip(" .:").casefold()

    return key(a) == key(b)


def _paragraphs(text: str, unwrap: bool = True) -> list[str]:
    """Normalise whitespace and split into paragraphs; hard-wrapped text has its lines joined back up."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    filled = [line for line in lines if line]
    # Hard-wrapped: many lines, none long, most of them near the wrap width.
    width = max((len(line) for line in filled), default=0)
    wrapped = (
        unwrap and len(filled) >= 5 and width <= 100 and sum(len(x) >= 50 for x in filled) * 2 >= len(filled)
    )
    paras: list[str] = []
    previous = ""
    for line in lines:
        joins = wrapped and bool(previous) and len(previous) >= 0.6 * width and not previous.endswith(":")
        if joins and line and not _LIST_ITEM.match(line):
            paras[-1] += " " + line
        elif line:
            paras.append(line)
        previous = line
    return paras


def _strip_markdown(text: str) -> tuple[str, dict[str, str]]:
    """Markdown to plain lines, plus the simple `key: value` fields of a leading front-matter block."""
    front: dict[str, str] = {}
    if m := re.match(r"\A---\s*\n(.*?)\n---\s*\n", text, re.DOTALL):
        text = text[m.end() :]
        for key, value in re.findall(r"^(\w+)\s*:\s*(.+?)\s*$", m[1], re.MULTILINE):
            front.setdefault(key.lower(), value.strip("\"'"))
    text = _MD_NOISE.sub("", text)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^\s{0,3}(#{1,6}\s+|>\s?)|\s+#+\s*$", "", text, flags=re.MULTILINE)
    text = re.sub(r"(\*\*|__)(.+?)\1|(?<!\w)[*_](\S(?:.*?\S)?)[*_](?!\w)|`([^`]*)`", r"\2\3\4", text)
    return re.sub(r"</?[a-zA-Z][^>]*>", "", text), front


def _meta_from_fields(fields: Mapping[str, str]) -> _Meta:
    """A record's metadata; scrapers often leave HTML entities in it ("&#039;Massive intel failure…")."""

    def get(*names: str) -> str:
        return _one_line(html.unescape(next((str(fields[n]) for n in names if fields.get(n)), "")))

    return _Meta(
        title=get("title"),
        source=get("source", "publisher"),
        author=get("author"),
        published=parse_date(get("published", "date")),
    )


def _one_line(value: str) -> str:
    return _SPACES.sub(" ", " ".join(str(value).split())).strip()


def _clean_html(html: str) -> tuple[_Meta, list[str]]:
    try:
        found = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    except Exception:  # malformed markup raises many kinds of errors; the fallback below copes
        found = None
    if isinstance(found, dict) or found is None or not (found.text or "").strip():
        title, text = _html_text(html)
        return _Meta(title=title), _without_boilerplate(_paragraphs(text, unwrap=False))
    meta = _Meta(
        title=_one_line(found.title or ""),
        source=_one_line(found.sitename or ""),
        author=_one_line((found.author or "").replace(";", ",")),
        published=parse_date(found.date or ""),
    )
    return meta, _without_boilerplate(_paragraphs(found.text or "", unwrap=False))


_HTML_TAG = re.compile(r"<(p|div|br|span|a|article|html|body|h[1-6]|li)\b[^>]*>", _I)
_BLOCK_TAGS = re.compile(r"^(p|div|li|h[1-6]|blockquote|pre|tr|section|article)$")


def _html_text(html: str) -> tuple[str, str]:
    """(title, text) of HTML via BeautifulSoup, a line per block; used when trafilatura finds nothing."""
    soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template"]):
        tag.decompose()
    heading = soup.find("h1") or soup.find("title")
    title = _one_line(heading.get_text(" ")) if heading else ""
    if soup.title:
        soup.title.decompose()
    for node in soup.find_all(string=True):
        if type(node) is NavigableString:
            node.replace_with(re.sub(r"\s+", " ", str(node)))
        else:  # comments, doctype, CDATA: not text a reader sees
            node.extract()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(_BLOCK_TAGS):
        block.insert_before("\n")
        block.insert_after("\n")
    return title, soup.get_text()
