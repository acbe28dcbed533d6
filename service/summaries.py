"""Citation-backed summaries of one article, a set of articles, or everything matching a topic/filters.

With the extractive generator the summary is multi-document and extractive: the sentences nearest
the centroid of the material (pulled towards the topic when there is one), chosen with maximal
marginal relevance, ordered by publication date. Near-identical sentences from different outlets
(wire copy) are one sentence citing all of them. An LLM generator is asked for a summary instead.
Either way the draft goes through the same citation verification as an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
from numpy.typing import NDArray

from service.answer_assembly import Answer
from service.answering import AnswerService
from service.chunk_metadata import article_meta_from, where_clause
from service.errors import BackendUnavailable, NotFound
from service.extractive import ExtractiveGenerator
from service.generation import Draft
from service.models import Chunk, Filters, Passage
from service.retrieval import Retriever
from service.sentences import split_sentences
from service.store import ChunkStore

NOTHING_TO_SUMMARISE = "No indexed article matches this topic or these filters."
log = logging.getLogger(__name__)

_MIN_WORDS = 6
_DUPLICATE = 0.9  # cosine from which two sentences say the same thing
_REDUNDANT = 0.8  # cosine from which a sentence adds too little to one already chosen
_MMR_LAMBDA = 0.7
_LLM_PASSAGES = 10

Embed = Callable[[Sequence[str]], NDArray[np.float32]]


@dataclass
class _Group:
    """One sentence and the passages (of other articles) that carry a near-identical one."""

    text: str
    vector: NDArray[np.float32]
    position: tuple[int, int]
    passages: list[int] = field(default_factory=list)
    articles: set[str] = field(default_factory=set)


def summary_instruction(topic: str | None, max_sentences: int) -> str:
    """What an LLM is asked: a cited summary across outlets and dates."""
    about = f" about {topic}" if topic else ""
    return (
        f"Summarise what the passages report{about} in at most {max_sentences} sentences, oldest news "
        "first. Say which outlet reported what when they differ."
    )


def extractive_summary(
    passages: Sequence[Passage], vectors_of: Embed, topic: str | None, max_sentences: int
) -> Draft:
    """A multi-document extractive summary; markers refer to passages, numbered from 1."""
    candidates: list[tuple[int, int, str]] = [
        (number, position, sentence)
        for number, passage in enumerate(passages, start=1)
        for position, sentence in enumerate(split_sentences(passage.chunk.text))
        if len(sentence.split()) >= _MIN_WORDS
    ]
    if not candidates:
        return Draft(NOTHING_TO_SUMMARISE, ExtractiveGenerator.name, insufficient=True)
    texts = [c[2] for c in candidates] + ([topic] if topic else [])
    vectors = vectors_of(texts)
    sentence_vectors = vectors[: len(candidates)]
    centroid = sentence_vectors.mean(axis=0)
    if topic:
        centroid = centroid / (np.linalg.norm(centroid) or 1.0) + vectors[-1]
    centroid = centroid / (np.linalg.norm(centroid) or 1.0)
    relevance = sentence_vectors @ centroid
    groups: list[_Group] = []
    for i in np.argsort(-relevance):
        number, position, text = candidates[int(i)]
        article = passages[number - 1].chunk.article.id
        vector = sentence_vectors[int(i)]
        twin = next((g for g in groups if float(g.vector @ vector) >= _DUPLICATE), None)
        if twin is None:
            groups.append(_Group(text, vector, (number, position), [number], {article}))
        elif article not in twin.articles:
            twin.passages.append(number)
            twin.articles.add(article)
    chosen: list[_Group] = []
    scores = {id(g): float(g.vector @ centroid) for g in groups}
    while len(chosen) < max_sentences:
        best, best_value = None, -np.inf
        for group in groups:
            if group in chosen:
                continue
            redundancy = max((float(group.vector @ c.vector) for c in chosen), default=0.0)
            if redundancy >= _REDUNDANT:
                continue
            value = _MMR_LAMBDA * scores[id(group)] - (1 - _MMR_LAMBDA) * redundancy
            if value > best_value:
                best, best_value = group, value
        if best is None:
            break
        chosen.append(best)

    def when(group: _Group) -> tuple[date, tuple[int, int]]:
        days = [passages[n - 1].chunk.article.published for n in group.passages]
        return min((d for d in days if d), default=date.max), group.position

    chosen.sort(key=when)
    text = " ".join(f"{g.text} " + "".join(f"[{n}]" for n in sorted(g.passages)) for g in chosen)
    return Draft(text, ExtractiveGenerator.name)


class SummaryService:
    """Summaries whose every sentence is cited and verified."""

    def __init__(
        self,
        store: ChunkStore,
        retriever: Retriever,
        answers: AnswerService,
        *,
        max_sentences: int,
        max_passages: int,
        min_relevance: float,
    ) -> None:
        self._store = store
        self._retriever = retriever
        self._answers = answers
        self._max_sentences = max_sentences
        self._max_passages = max_passages
        self._min_relevance = min_relevance

    def _check_articles(self, article_ids: Sequence[str]) -> None:
        wanted = {"article_id": {"$in": list(dict.fromkeys(article_ids))}}
        known = self._store.articles(wanted, visible_only=True)
        unknown = [a for a in dict.fromkeys(article_ids) if a not in known]
        if unknown:
            raise NotFound(f"no article with id {', '.join(map(repr, unknown))}")

    def _all_matching(self, filters: Filters) -> list[Passage]:
        """Every stored chunk within the filters (newest articles first, capped), in reading order."""
        chunks = [
            Chunk(id=cid, article=article_meta_from(meta), index=int(meta.get("chunk_index", 0)), text=doc)
            for cid, meta, doc in self._store.iter_records(where_clause(filters), with_documents=True)
        ]
        chunks = self._store.visible(chunks)
        chunks.sort(key=lambda c: (-(c.article.published or date.min).toordinal(), c.article.id, c.index))
        return [Passage(chunk, 1.0) for chunk in chunks[: self._max_passages]]

    def passages(self, topic: str | None, filters: Filters) -> list[Passage]:
        """The material to summarise: passages on the topic within the filters, or all that match."""
        if not topic:
            return self._all_matching(filters)
        found = self._retriever.search(topic, self._max_passages, filters)
        relevant = [p for p in found if p.score >= self._min_relevance]
        evidence = self._answers.assess(topic, relevant)
        if evidence is not None and not evidence.answerable:
            return []
        return relevant

    def summarize(
        self,
        topic: str | None = None,
        filters: Filters | None = None,
        article_ids: Sequence[str] = (),
        max_sentences: int | None = None,
    ) -> Answer:
        """A cited summary; insufficient when nothing matches."""
        if article_ids:
            self._check_articles(article_ids)
            filters = replace(filters or Filters(), article_ids=tuple(article_ids))
        filters = filters or Filters()
        wanted = max_sentences or self._max_sentences
        passages = self.passages(topic, filters)
        generator = self._answers.generator
        if not passages:
            return Answer(NOTHING_TO_SUMMARISE, [], generator.name, True)
        degraded, reason = False, ""
        if isinstance(generator, ExtractiveGenerator):
            draft = extractive_summary(passages, self._answers.verifier.embed, topic, wanted)
        else:
            passages = passages[:_LLM_PASSAGES]
            try:
                draft = generator.generate(summary_instruction(topic, wanted), passages)
            except BackendUnavailable as exc:
                log.warning("generator %s failed, summarising extractively: %s", generator.name, exc)
                draft = extractive_summary(passages, self._answers.verifier.embed, topic, wanted)
                degraded, reason = True, exc.message
        return self._answers.finish(draft, passages, degraded, reason)
