"""The extractive generator: answers with the retrieved sentences that best answer the question.

It picks sentences by similarity to the question with maximal marginal relevance (MMR) so the
answer does not repeat itself, cites each with its passage, and says so when nothing is relevant.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from service.embeddings import Embedder
from service.generation import INSUFFICIENT_ANSWER, Draft
from service.models import Passage
from service.sentences import split_sentences

_MIN_WORDS = 5
_MMR_LAMBDA = 0.7
_NEAR_DUPLICATE = 0.92
_ENDING = re.compile(r"[.!?]+['\"’”)]*$")


@dataclass(frozen=True)
class _Candidate:
    passage_number: int  # 1-based, as cited
    position: int  # order within the passage
    text: str


def cite(sentence: str, number: int) -> str:
    """The sentence with its [n] marker set before the final punctuation."""
    match = _ENDING.search(sentence)
    if not match:
        return f"{sentence} [{number}]"
    return f"{sentence[: match.start()]} [{number}]{match.group(0)}"


class ExtractiveGenerator:
    """A grounded generator that needs no LLM: every answer sentence is a retrieved sentence."""

    name = "extractive"

    def __init__(self, embedder: Embedder, max_sentences: int = 4, min_similarity: float = 0.35) -> None:
        self._embedder = embedder
        self._max_sentences = max_sentences
        self._min_similarity = min_similarity

    def select(self, question: str, passages: Sequence[Passage]) -> list[_Candidate]:
        """The sentences that answer the question, best first (empty when none is relevant)."""
        candidates = [
            _Candidate(number, position, sentence)
            for number, passage in enumerate(passages, start=1)
            for position, sentence in enumerate(split_sentences(passage.chunk.text))
            if len(sentence.split()) >= _MIN_WORDS
        ]
        if not candidates:
            return []
        vectors = self._embedder.embed([question] + [c.text for c in candidates])
        query, sentences = vectors[0], vectors[1:]
        relevance = sentences @ query
        chosen: list[int] = []
        for _ in range(min(self._max_sentences, len(candidates))):
            best, best_value = -1, -np.inf
            for i, rel in enumerate(relevance):
                if i in chosen or rel < self._min_similarity:
                    continue
                redundancy = max((float(sentences[i] @ sentences[j]) for j in chosen), default=0.0)
                if redundancy >= _NEAR_DUPLICATE:
                    continue
                value = _MMR_LAMBDA * float(rel) - (1 - _MMR_LAMBDA) * redundancy
                if value > best_value:
                    best, best_value = i, value
            if best < 0:
                break
            chosen.append(best)
        # Most relevant first: the sentence that answers best opens the answer.
        return [candidates[i] for i in chosen]

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft:
        """The selected sentences, each followed by its citation marker."""
        picked = self.select(question, passages)
        if not picked:
            return Draft(INSUFFICIENT_ANSWER, self.name, insufficient=True)
        return Draft(" ".join(cite(c.text, c.passage_number) for c in picked), self.name)

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """The answer sentence by sentence."""
        picked = self.select(question, passages)
        if not picked:
            yield INSUFFICIENT_ANSWER
            return
        for i, candidate in enumerate(picked):
            yield ("" if i == 0 else " ") + cite(candidate.text, candidate.passage_number)
