"""The answer record, and how it is assembled from the sentences verification kept.

Citations are numbered in order of first use over the kept sentences; each quotes the passage's
sentence that verification found supporting the claim. When the cited articles come from more than one outlet,
each sentence says which outlet (and date) it comes from. The verdict of every sentence, kept or
dropped, travels with the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from service.citations import CheckedSentence
from service.evidence import Evidence
from service.generation import INSUFFICIENT_ANSWER
from service.models import ArticleMeta, Passage
from service.sentences import before_final_stop, split_sentences
from service.temporal import TimeIntent

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Citation:
    """A numbered reference from the answer to the passage it rests on."""

    n: int
    passage: Passage
    quote: str
    copies: tuple[Passage, ...] = ()  # passages of other articles carrying the same text (wire copy)


@dataclass(frozen=True)
class SentenceVerdict:
    """One sentence the generator wrote, with the citations that survived verification."""

    text: str
    citations: list[int]
    supported: bool
    score: float


@dataclass(frozen=True)
class Answer:
    """An answer with its citations, the verdict per sentence and what wrote it."""

    text: str
    citations: list[Citation]
    generator: str
    insufficient: bool
    passages: list[Passage] = field(default_factory=list)
    degraded: bool = False
    reason: str = ""
    sentences: list[SentenceVerdict] = field(default_factory=list)
    evidence: Evidence | None = None
    outlets_left_out: list[str] = field(default_factory=list)
    time_frame: TimeIntent | None = None  # how the question's time was read; None when it names none


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


def attribution(meta: ArticleMeta) -> str:
    """ "The National, 25 March 2025": who said it and when."""
    day = f"{meta.published.day} {meta.published:%B %Y}" if meta.published else ""
    return ", ".join(p for p in (meta.source, day) if p)


def _with_markers(sentence: str, numbers: Sequence[int], note: str) -> str:
    """The sentence with an optional "(outlet, date)" note and its [n] markers before its final stop."""
    tail = (f" ({note})" if note else "") + " " + "".join(f"[{n}]" for n in numbers)
    return before_final_stop(sentence, tail)


def assemble(
    checked: Sequence[CheckedSentence],
    passages: Sequence[Passage],
    generator: str,
    *,
    newest_first: bool = False,
    degraded: bool = False,
    reason: str = "",
) -> Answer:
    """The answer made of the supported sentences, renumbered, with the verdict of every sentence.

    When the cited articles come from more than one outlet, each sentence says which outlet (and
    date) it comes from, unless it already names the outlet, so sources are never merged silently.
    """
    kept = [c for c in checked if c.supported]
    if newest_first:

        def newest(c: CheckedSentence) -> date:
            days = [passages[n - 1].chunk.article.published for n in c.passages]
            return max((d for d in days if d), default=date.min)

        kept.sort(key=newest, reverse=True)
    dropped = [SentenceVerdict(c.text, [], False, round(c.score, 4)) for c in checked if not c.supported]
    if not kept:
        return Answer(INSUFFICIENT_ANSWER, [], generator, True, list(passages), degraded, reason, dropped)
    order: dict[int, int] = {}
    quotes: dict[int, str] = {}
    for sentence in kept:
        for number in sentence.passages:
            order.setdefault(number, len(order) + 1)
            quotes.setdefault(number, sentence.quotes.get(number, ""))
    outlets = {passages[n - 1].chunk.article.source for n in order}
    verdicts: list[SentenceVerdict] = []
    for sentence in kept:
        metas = list({passages[n - 1].chunk.article: None for n in sentence.passages})
        note = ""
        if len(outlets) > 1 and not any(m.source and m.source in sentence.text for m in metas):
            note = "; ".join(dict.fromkeys(a for a in map(attribution, metas) if a))
        numbers = [order[n] for n in sentence.passages]
        verdicts.append(
            SentenceVerdict(
                _with_markers(sentence.text, numbers, note), numbers, True, round(sentence.score, 4)
            )
        )
    citations = [
        Citation(cited, passages[number - 1], quotes[number] or best_quote(passages[number - 1], []))
        for number, cited in order.items()
    ]
    text = " ".join(v.text for v in verdicts)
    return Answer(text, citations, generator, False, list(passages), degraded, reason, verdicts + dropped)
