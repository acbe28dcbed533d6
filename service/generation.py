"""The generator protocol: one swap point between the extractive generator and an LLM."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from service.models import Passage

INSUFFICIENT_ANSWER = "The indexed articles do not contain the answer to this question."


@dataclass(frozen=True)
class Draft:
    """A generator's answer; [n] markers refer to the passages it was given, numbered from 1."""

    text: str
    generator: str
    insufficient: bool = False


class Generator(Protocol):
    """Writes an answer to a question from numbered passages."""

    @property
    def name(self) -> str:
        """What the response's ``generator`` field says, e.g. ``extractive`` or ``ollama:llama3.2``."""
        ...

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft:
        """The whole answer at once."""
        ...

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """The answer as text deltas, in order; their concatenation is the answer."""
        ...
