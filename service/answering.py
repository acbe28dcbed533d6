"""Question answering: retrieve, decide whether the passages can answer, generate, verify, cite.

Every [n] in a returned answer refers to a citation entry; citations are numbered in order of first
use. Whatever the generator, each sentence's citations are verified against the passages
(service/citations.py): unsupported ones are removed, a sentence is re-attached to the passage that
supports it or dropped, and the verdict per sentence travels with the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from service.answer_assembly import Answer, assemble
from service.citations import CitationVerifier
from service.copies import copies_of_each
from service.errors import BackendUnavailable
from service.evidence import Evidence, EvidenceCheck
from service.generation import INSUFFICIENT_ANSWER, Draft, Generator
from service.models import Filters, Passage
from service.retrieval import Retrieval, Retriever
from service.temporal import TimeIntent, apply_intent, needs_reference, parse_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retrieved:
    """The passages to answer from, the larger pool searched for evidence, whether they are in
    newest-first order (a "latest" question), the named outlets left out (see
    ``AnswerService.focus``) and how the question's time was read (None when it names none)."""

    passages: list[Passage]
    pool: list[Passage]
    outlets_left_out: list[str] = field(default_factory=list)
    time_frame: TimeIntent | None = None

    @property
    def newest_first(self) -> bool:
        """True when the passages are in newest-first order (a "latest" question)."""
        return self.time_frame is not None and self.time_frame.newest_first


@dataclass(frozen=True)
class Prepared:
    """What answering needs before a generator runs: the retrieval, the evidence check, or a refusal."""

    retrieved: Retrieved
    evidence: Evidence | None
    refusal: Answer | None


def _interleave(groups: Sequence[Sequence[Passage]], limit: int) -> list[Passage]:
    """Passages taken in turn from each group (best first), without repeats, up to limit."""
    chosen: dict[str, Passage] = {}
    for rank in range(max((len(g) for g in groups), default=0)):
        for group in groups:
            if rank < len(group) and len(chosen) < limit:
                chosen.setdefault(group[rank].chunk.id, group[rank])
    return list(chosen.values())


class AnswerService:
    """Answers questions from the index with a generator, falling back to extractive, verifying citations."""

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        fallback: Generator,
        min_relevance: float,
        *,
        verifier: CitationVerifier | None = None,
        evidence: EvidenceCheck | None = None,
        reference_date: Callable[[], date | None] | None = None,
        candidate_factor: int = 3,
        evidence_passages: int = 0,
        source_margin: float = 0.15,
    ) -> None:
        self._retriever = retriever
        self._generator = generator
        self._fallback = fallback
        self._min_relevance = min_relevance
        self._verifier = verifier or CitationVerifier(retriever.embedder)
        self._evidence = evidence
        self._reference_date = reference_date or (lambda: None)
        self._candidate_factor = candidate_factor
        self._evidence_passages = evidence_passages if evidence else 0
        self._source_margin = source_margin

    @property
    def generator(self) -> Generator:
        """The configured generator."""
        return self._generator

    @property
    def fallback(self) -> Generator:
        """The extractive generator used when the configured one fails."""
        return self._fallback

    @property
    def verifier(self) -> CitationVerifier:
        """The citation verifier every answer goes through."""
        return self._verifier

    def time_intent(self, question: str, as_of: date | None = None) -> TimeIntent:
        """What the question asks about time, relative to as_of or the newest indexed article.

        The outlets and authors the question names are left out first: an outlet called "Business
        Today | Latest Stock Market …" asks for neither today's articles nor the newest ones. In a
        question joined from reports of several named outlets ("the Fortune article on October 4,
        and the TechCrunch article on the trial"), a date restricts only when each report has one.
        """
        analysis = self._retriever.analyze(question)
        reports = [c for c in analysis.clauses if self._retriever.analyze(c).outlets]
        question = analysis.without_names(question)
        reference = as_of
        if reference is None and needs_reference(question):
            reference = self._reference_date()
        return parse_time(question, reference, [analysis.without_names(r) for r in reports])

    def retrieve(
        self, question: str, top_k: int, filters: Filters | None, as_of: date | None = None
    ) -> Retrieved:
        """The passages to answer from, and the larger pool searched for evidence, best first.

        Both respect the filters and the question's time frame. "latest"-style questions look at
        more candidates and answer from the newest relevant ones. When the question names outlets,
        the passages are those of the articles each named outlet is most likely meant by (see
        ``focus``).
        """
        intent = self.time_intent(question, as_of)
        frame = intent if intent.restricts or intent.newest_first else None
        if intent.restricts:
            filters = apply_intent(filters, intent)
            after, before = filters.published_after, filters.published_before
            if after and before and after > before:
                return Retrieved([], [], time_frame=frame)
        wanted = top_k * self._candidate_factor if intent.newest_first else top_k
        # Measured on MultiHop-RAG: the evidence articles are picked more precisely from the merged
        # order with each named outlet's own ranking re-sorted by its passages' best sentences (see
        # Retriever.retrieve).
        found = self._retriever.retrieve(
            question, max(wanted, self._evidence_passages), filters, resort=False, resort_outlets=True
        )
        pool = found.passages
        relevant = [p for p in pool[:wanted] if p.score >= self._min_relevance]
        if intent.newest_first:
            relevant.sort(key=lambda p: p.chunk.article.published or date.min, reverse=True)
            return Retrieved(relevant[:top_k], pool, time_frame=frame)
        focused, left_out = self.focus(found, top_k)
        return Retrieved(focused or relevant, pool, outlets_left_out=left_out, time_frame=frame)

    def focus(self, found: Retrieval, limit: int) -> tuple[list[Passage], list[str]]:
        """The passages of the articles the question's named outlets are about, taken in turn per
        article, and the named outlets left out (see ``NamedOutlet.name``).

        When some named outlets are confident (their own search's best article leads the next by
        ``source_margin``: ``Retrieval.confident``), only those articles are answered from: a named
        outlet that cannot tell its articles on a story apart is left out rather than cited wrongly.
        When none is, the answer comes from the one article leading the re-sorted ranking
        (``Retrieval.leader``), and every named outlet but its own is left out. Articles of other
        outlets are dropped either way. No passages when the question names no outlet, or none of
        these articles has a relevant passage. Measured in README, "Benchmarks".
        """
        groups: list[list[Passage]] = []
        for article in found.confident:
            group = [p for p in article.passages if p.score >= self._min_relevance]
            if article.margin >= self._source_margin and group:
                groups.append(group)
        if not groups:
            group = [p for p in found.leader if p.score >= self._min_relevance]
            groups = [group] if group else []
        if not groups:
            return [], []
        sources = {g[0].chunk.article.source for g in groups}
        left_out = [r.outlet.name for r in found.outlets if not sources & set(r.outlet.sources)]
        return _interleave(groups, limit), left_out

    def relevant_passages(
        self, question: str, top_k: int, filters: Filters | None, as_of: date | None = None
    ) -> list[Passage]:
        """Retrieved passages relevant enough to answer from, within the question's time frame."""
        return self.retrieve(question, top_k, filters, as_of).passages

    def assess(self, question: str, passages: Sequence[Passage]) -> Evidence | None:
        """Whether the passages hold evidence for an answer (None when no check is configured)."""
        return self._evidence.assess(question, passages) if self._evidence else None

    def decide(self, question: str, retrieved: Retrieved) -> Prepared:
        """Whether the retrieved passages can answer: the evidence check, and a refusal when they cannot."""
        passages = retrieved.passages
        evidence = self.assess(question, retrieved.pool)
        refusal = None
        if not passages or (evidence is not None and not evidence.answerable):
            refusal = Answer(
                INSUFFICIENT_ANSWER,
                [],
                self._generator.name,
                True,
                passages,
                evidence=evidence,
                time_frame=retrieved.time_frame,
            )
        return Prepared(retrieved, evidence, refusal)

    def prepare(
        self, question: str, top_k: int, filters: Filters | None = None, as_of: date | None = None
    ) -> Prepared:
        """Retrieve and decide whether the articles can answer: the steps before any generator runs."""
        return self.decide(question, self.retrieve(question, top_k, filters, as_of))

    def ask(
        self, question: str, top_k: int, filters: Filters | None = None, as_of: date | None = None
    ) -> Answer:
        """Answer the question from the index, with verified citations."""
        return self.answer(question, self.prepare(question, top_k, filters, as_of))

    def answer(self, question: str, prepared: Prepared) -> Answer:
        """The verified answer from prepared passages, or its refusal; /ask and the stream share it."""
        if prepared.refusal is not None:
            return prepared.refusal
        passages = prepared.retrieved.passages
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
        return self.complete(
            self.finish(draft, passages, degraded, reason, newest_first=prepared.retrieved.newest_first),
            prepared,
        )

    def complete(self, answer: Answer, prepared: Prepared) -> Answer:
        """The answer with what was decided before it was written: the evidence check, the named
        outlets left out (none when the answer is a refusal) and how the question's time was read;
        each citation lists the passages of the wider search that carry its text in other articles."""
        retrieved = prepared.retrieved
        left_out = [] if answer.insufficient else retrieved.outlets_left_out
        copies = copies_of_each([c.passage for c in answer.citations], retrieved.pool)
        citations = [replace(c, copies=tuple(f)) for c, f in zip(answer.citations, copies, strict=True)]
        return replace(
            answer,
            citations=citations,
            evidence=prepared.evidence,
            outlets_left_out=left_out,
            time_frame=retrieved.time_frame,
        )

    def finish(
        self,
        draft: Draft,
        passages: list[Passage],
        degraded: bool = False,
        reason: str = "",
        *,
        newest_first: bool = False,
    ) -> Answer:
        """Verify a draft's citations and turn it into an answer whose every marker has a citation."""
        if draft.insufficient:
            return Answer(INSUFFICIENT_ANSWER, [], draft.generator, True, passages, degraded, reason)
        checked = self._verifier.check(draft.text, passages)
        return assemble(
            checked, passages, draft.generator, newest_first=newest_first, degraded=degraded, reason=reason
        )
