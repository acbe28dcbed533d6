"""Question answering: retrieve, decide whether the passages can answer, generate, cite.

Every [n] in a returned answer refers to a citation entry; citations are numbered in order of first
use, and markers that point at no passage are removed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from service.errors import BackendUnavailable
from service.generation import INSUFFICIENT_ANSWER, Draft, Generator
from service.models import Filters, Passage
from service.retrieval import Retriever
from service.sentences import split_sentences, strip_citations

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d+)\]")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Citation:
    """A numbered reference from the answer to the passage it rests on."""

    n: int
    passage: Passage
    quote: str


@dataclass(frozen=True)
class Answer:
    """An answer with its citations and what wrote it."""

    text: str
    citations: list[Citation]
    generator: str
    insufficient: bool
    passages: list[Passage] = field(default_factory=list)
    degraded: bool = False
    reason: str = ""


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


def best_quote(passage: Passage, claims: Sequence[str]) -> str:
    """The passage sentence that shares most words with the claims citing it."""
    sentences = split_sentences(passage.chunk.text) or [passage.chunk.text]
    claim_words = set().union(*(_words(c) for c in claims)) if claims else set()

    def overlap(sentence: str) -> float:
        words = _words(sentence)
        return len(words & claim_words) / (len(words) ** 0.5 or 1.0)

    return max(sentences, key=overlap)


def renumber(text: str, passages: Sequence[Passage]) -> tuple[str, list[Citation]]:
    """Map passage markers to citation numbers 1..m in order of first use; drop unknown markers."""
    order: dict[int, int] = {}

    def replace(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if not 1 <= number <= len(passages):
            return ""
        order.setdefault(number, len(order) + 1)
        return f"[{order[number]}]"

    renumbered = _MARKER.sub(replace, text)
    renumbered = re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", renumbered)).strip()
    claims: dict[int, list[str]] = {}
    for sentence in split_sentences(renumbered):
        for marker in _MARKER.findall(sentence):
            claims.setdefault(int(marker), []).append(strip_citations(sentence))
    citations = [
        Citation(cited, passages[number - 1], best_quote(passages[number - 1], claims.get(cited, [])))
        for number, cited in order.items()
    ]
    return renumbered, citations


class AnswerService:
    """Answers questions from the index with a generator, falling back to extractive."""

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        fallback: Generator,
        min_relevance: float,
    ) -> None:
        self._retriever = retriever
        self._generator = generator
        self._fallback = fallback
        self._min_relevance = min_relevance

    @property
    def generator(self) -> Generator:
        """The configured generator."""
        return self._generator

    def relevant_passages(self, question: str, top_k: int, filters: Filters | None) -> list[Passage]:
        """Retrieved passages relevant enough to answer from."""
        passages = self._retriever.search(question, top_k, filters)
        return [p for p in passages if p.score >= self._min_relevance]

    def ask(self, question: str, top_k: int, filters: Filters | None = None) -> Answer:
        """Answer the question from the index, with citations."""
        passages = self.relevant_passages(question, top_k, filters)
        if not passages:
            return Answer(INSUFFICIENT_ANSWER, [], self._generator.name, insufficient=True)
        degraded, reason = False, ""
        try:
            draft = self._generator.generate(question, passages)
        except BackendUnavailable as exc:
            log.warning("generator %s failed, answering extractively: %s", self._generator.name, exc)
            draft = self._fallback.generate(question, passages)
            degraded, reason = True, exc.message
        except Exception as exc:  # a generator bug must cost the LLM answer, not the request (no 500)
            log.exception("generator %s raised, answering extractively", self._generator.name)
            draft = self._fallback.generate(question, passages)
            degraded, reason = True, f"{self._generator.name} failed: {type(exc).__name__}"
        return self.finish(draft, passages, degraded, reason)

    def finish(
        self, draft: Draft, passages: list[Passage], degraded: bool = False, reason: str = ""
    ) -> Answer:
        """Turn a draft into an answer whose every marker has a citation."""
        text, citations = renumber(draft.text, passages)
        if draft.insufficient or not citations:
            return Answer(INSUFFICIENT_ANSWER, [], draft.generator, True, passages, degraded, reason)
        return Answer(text, citations, draft.generator, False, passages, degraded, reason)
