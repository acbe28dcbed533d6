"""Streamed answers: the sources, the answer text as the generator writes it, then the final answer.

The sources go out as soon as retrieval is done. An LLM's text is streamed as it is written; the
extractive answer, quick to make, is checked first and then streamed, so its text is final.

Transport-free (no FastAPI): ``/ask/stream`` turns these events into Server-Sent Events and
``/v1/chat/completions`` into OpenAI chunks. The final answer goes through ``AnswerService.finish``,
the same path as ``/ask``, so a streamed answer and an ``/ask`` answer carry the same citations.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from service.answer_assembly import Answer
from service.answering import AnswerService, Retrieved
from service.errors import BackendUnavailable
from service.extractive import ExtractiveGenerator
from service.generation import INSUFFICIENT_ANSWER, Draft
from service.models import Filters, Passage

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d+)\]")
# An unfinished marker at the end of a delta ("[", "[1", "[12"): held back until it closes.
_OPEN_MARKER = re.compile(r"\[\d{0,3}$")


@dataclass(frozen=True)
class Sources:
    """The passages the answer will be written from (numbered from 1 in this order)."""

    query: str
    passages: list[Passage]


@dataclass(frozen=True)
class Delta:
    """A piece of answer text; its [n] markers are numbered like the final answer's citations."""

    text: str


@dataclass(frozen=True)
class Restart:
    """The LLM failed mid-answer: the text streamed so far is void; the extractive answer follows."""

    reason: str
    generator: str


@dataclass(frozen=True)
class Final:
    """The finished answer, citations checked; it supersedes the streamed text."""

    answer: Answer


StreamEvent = Sources | Delta | Restart | Final


@dataclass
class MarkerRenumberer:
    """Renumbers passage markers in streamed text to citation numbers in order of first use.

    It numbers them as the final answer does (``answer_assembly.assemble``: in order of first use;
    markers past the passages are dropped) as the text arrives, so the streamed markers match the
    final answer's citations whenever verification keeps the draft's sentences as written; markers
    split across deltas are held back until complete.
    """

    passage_count: int
    order: dict[int, int] = field(default_factory=dict)
    _pending: str = ""

    def _replace(self, match: re.Match[str]) -> str:
        number = int(match.group(1))
        if not 1 <= number <= self.passage_count:
            return ""
        self.order.setdefault(number, len(self.order) + 1)
        return f"[{self.order[number]}]"

    def feed(self, delta: str) -> str:
        """The renumbered text that can be shown now."""
        text = self._pending + delta
        held = _OPEN_MARKER.search(text)
        self._pending = held.group(0) if held else ""
        ready = text[: held.start()] if held else text
        return _MARKER.sub(self._replace, ready)

    def flush(self) -> str:
        """Whatever was held back at the end of the stream."""
        rest, self._pending = self._pending, ""
        return _MARKER.sub(self._replace, rest)


def _deltas(pieces: Iterator[str], passage_count: int, raw: list[str]) -> Iterator[str]:
    """The pieces renumbered for display; the raw pieces are kept in ``raw`` for the draft."""
    renumberer = MarkerRenumberer(passage_count)
    for piece in pieces:
        raw.append(piece)
        shown = renumberer.feed(piece)
        if shown:
            yield shown
    rest = renumberer.flush()
    if rest:
        yield rest


def _checked_deltas(answer: Answer) -> Iterator[Delta]:
    """A checked answer's text, one supported sentence per delta."""
    shown = [v.text for v in answer.sentences if v.supported]
    if answer.insufficient or not shown:
        yield Delta(answer.text)
        return
    for i, text in enumerate(shown):
        yield Delta(("" if i == 0 else " ") + text)


def _draft(text: str, generator: str) -> Draft:
    return Draft(text.strip(), generator, insufficient=INSUFFICIENT_ANSWER in text or not text.strip())


def stream_answer(
    answers: AnswerService, question: str, top_k: int, filters: Filters | None = None
) -> Iterator[StreamEvent]:
    """Retrieve now (so a failing index fails the request), then stream the answer's events.

    The sources go out as soon as retrieval is done; the evidence check and the generator follow.
    """
    return _events(answers, question, answers.retrieve(question, top_k, filters))


def _events(answers: AnswerService, question: str, retrieved: Retrieved) -> Iterator[StreamEvent]:
    passages = retrieved.passages
    yield Sources(question, passages)
    prepared = answers.decide(question, retrieved)
    generator = answers.generator
    if prepared.refusal is not None:
        yield Delta(prepared.refusal.text)
        yield Final(prepared.refusal)
        return
    if isinstance(generator, ExtractiveGenerator):
        # Quick to write: checked first, so the streamed text is exactly the final answer's.
        answer = answers.answer(question, prepared)
        yield from _checked_deltas(answer)
        yield Final(answer)
        return
    newest_first = retrieved.newest_first
    # The draft keeps the generator's own passage markers: finish() renumbers them itself.
    raw: list[str] = []
    try:
        for shown in _deltas(generator.stream(question, passages), len(passages), raw):
            yield Delta(shown)
        draft = _draft("".join(raw), generator.name)
        yield Final(answers.complete(answers.finish(draft, passages, newest_first=newest_first), prepared))
    except Exception as exc:  # BackendUnavailable, or a generator bug: either costs the LLM answer only
        if isinstance(exc, BackendUnavailable):
            reason = exc.message
            log.warning("generator %s failed mid-stream, answering extractively: %s", generator.name, reason)
        else:
            reason = f"{generator.name} failed: {type(exc).__name__}"
            log.exception("generator %s raised mid-stream, answering extractively", generator.name)
        fallback = answers.fallback
        yield Restart(reason, fallback.name)
        raw.clear()
        for shown in _deltas(fallback.stream(question, passages), len(passages), raw):
            yield Delta(shown)
        draft = _draft("".join(raw), fallback.name)
        answer = answers.finish(draft, passages, degraded=True, reason=reason, newest_first=newest_first)
        yield Final(answers.complete(answer, prepared))
