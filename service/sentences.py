"""Sentence splitting with NLTK's Punkt model, from the copy LlamaIndex ships (no download)."""

from __future__ import annotations

import os
import re
from functools import lru_cache

import llama_index.core
import nltk
from nltk.tokenize import PunktTokenizer

_CITATION = re.compile(r"\s*\[(\d+)\]")
_FINAL_STOP = re.compile(r"[.!?]+['\"’”)]*$")  # closing quotes and brackets stay after it


@lru_cache(maxsize=1)
def _ensure_punkt() -> None:
    """Point NLTK at LlamaIndex's bundled punkt_tab data once."""
    bundled = os.path.join(os.path.dirname(llama_index.core.__file__), "_static", "nltk_cache")
    if bundled not in nltk.data.path:
        nltk.data.path.append(bundled)


def ensure_nltk_data() -> None:
    """Make NLTK find the data LlamaIndex ships (punkt_tab, stopwords) without a download."""
    _ensure_punkt()


@lru_cache(maxsize=1)
def _punkt() -> PunktTokenizer:
    """NLTK's English Punkt model (what ``nltk.sent_tokenize`` uses), loaded once."""
    _ensure_punkt()
    return PunktTokenizer("english")


def split_sentences(text: str) -> list[str]:
    """The sentences of a text, stripped, empty ones dropped; paragraphs never merge."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n", text):
        paragraph = paragraph.strip()
        if paragraph:
            sentences.extend(s.strip() for s in _punkt().tokenize(paragraph) if s.strip())
    return sentences


def sentence_spans(paragraph: str) -> list[tuple[int, int]]:
    """Where each sentence of one paragraph starts and ends, to cut some out and keep the rest as is."""
    return list(_punkt().span_tokenize(paragraph))


def citation_numbers(text: str) -> list[int]:
    """The [n] markers of a text, in order of appearance."""
    return [int(m.group(1)) for m in _CITATION.finditer(text)]


def strip_citations(text: str) -> str:
    """The text without its [n] markers."""
    return _CITATION.sub("", text).strip()


def before_final_stop(sentence: str, insert: str, stop: str = "") -> str:
    """The sentence with ``insert`` set before its final punctuation (and any closing quote or
    bracket); appended when it has none, followed by ``stop``."""
    match = _FINAL_STOP.search(sentence)
    if not match:
        return f"{sentence}{insert}{stop}"
    return f"{sentence[: match.start()]}{insert}{match.group(0)}"
