"""Follow-up questions: turn a question asked within a conversation into one retrieval can answer.

With an LLM, the conversation and the follow-up are condensed into a standalone question (the
prompt of llama-index's condense-question chat engine). Without one (or when it fails), the
entities of the earlier questions are carried into the follow-up: "And what did he say about
Israel?" after "What did Qaani discuss in Baghdad?" is searched as
"And what did he say about Israel? (Qaani, Baghdad)".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from llama_index.core.chat_engine.condense_question import DEFAULT_PROMPT

from service.generation import Generator
from service.llm import OllamaGenerator
from service.sentences import strip_citations

log = logging.getLogger(__name__)

Role = Literal["user", "assistant"]

_HISTORY_TURNS = 6
_ASSISTANT_CHARS = 600
_MAX_CONDENSED_CHARS = 500
_ENTITY = re.compile(
    r"(?:\b(?:al|el|bin|ibn|de|van|von)-)?\b[A-Z][\w'’.-]*(?:\s+(?:(?:al|el|bin|ibn|de|van|von)-)?[A-Z][\w'’-]*)*"
)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_WORD = re.compile(r"[\w'’-]+")
_REFERENCES = re.compile(r"\n\s*(?:References|Sources)\s*:.*", re.DOTALL | re.IGNORECASE)
# Words that open questions or sentences with a capital letter without naming anything.
_NOT_ENTITIES = frozenset(
    """a about according after also an and any are as at be but by can could did do does during for
    from give had has have how i if in is it list me my no not of on or our please show so tell that
    the their then there these this those to was we were what when where which who whom whose why
    will with would you your""".split()  # noqa: SIM905 (a word list reads better as text)
)
_ANAPHORA = frozenset(
    "he she him her his hers they them their theirs it its this that these those there such".split()  # noqa: SIM905
)
_CONNECTIVES = ("and ", "also ", "but ", "so ", "then ", "what about ", "how about ", "and what about ")


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: Role
    content: str


class Condenser(Protocol):
    """Makes a follow-up question standalone using the conversation before it."""

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """The question to retrieve and answer with; the question itself when there is no history."""
        ...


def entities(text: str) -> list[str]:
    """Names (capitalised word runs, not question words) and years in a text, in order, once each."""
    found: list[str] = []
    for match in _ENTITY.finditer(strip_citations(text)):
        words = match.group(0).rstrip(".").split()
        while words and words[0].casefold() in _NOT_ENTITIES:
            words = words[1:]
        if words:
            found.append(" ".join(words))
    found.extend(_YEAR.findall(text))
    unique: dict[str, str] = {}
    for name in found:
        unique.setdefault(name.casefold(), name)
    return list(unique.values())


def is_follow_up(question: str) -> bool:
    """Whether the question leans on earlier turns: a pronoun, a connective opening, or no names."""
    lowered = question.strip().casefold()
    words = {w.casefold() for w in _WORD.findall(question)}
    return bool(words & _ANAPHORA) or lowered.startswith(_CONNECTIVES) or not entities(question)


def clean_history(history: Sequence[Turn]) -> list[Turn]:
    """The last turns, without citation markers and reference lists, assistant turns shortened."""
    cleaned: list[Turn] = []
    for turn in history[-_HISTORY_TURNS:]:
        content = strip_citations(_REFERENCES.sub("", turn.content)).strip()
        if turn.role == "assistant":
            content = content[:_ASSISTANT_CHARS]
        if content:
            cleaned.append(Turn(turn.role, content))
    return cleaned


class EntityCondenser:
    """Carries the entities of the earlier questions into a follow-up (no LLM needed)."""

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """The question, followed by the earlier questions' entities it does not name itself."""
        context: list[str] = []
        for turn in history:
            if turn.role != "user":
                continue
            names = entities(turn.content)
            # A question that stands on its own starts a new context; a follow-up extends it.
            context = [*context, *names] if is_follow_up(turn.content) else names
        if not context or not is_follow_up(question):
            return question
        own = {name.casefold() for name in entities(question)}
        carried = list(dict.fromkeys(n for n in context if n.casefold() not in own))
        return f"{question} ({', '.join(carried)})" if carried else question


class LLMCondenser:
    """Asks the LLM for a standalone question; carries entities when the LLM fails."""

    def __init__(self, llm: object, fallback: Condenser) -> None:
        self._llm = llm
        self._fallback = fallback

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """The LLM's standalone version of the follow-up."""
        turns = clean_history(history)
        if not turns:
            return question
        transcript = "\n".join(f"{'Human' if t.role == 'user' else 'Assistant'}: {t.content}" for t in turns)
        prompt = DEFAULT_PROMPT.format(chat_history=transcript, question=question)
        try:
            response = self._llm.complete(prompt)  # type: ignore[attr-defined]
            condensed = str(response.text).strip().strip('"').strip()
        except Exception as exc:  # the LLM's client raises httpx/ollama errors and timeouts
            log.warning("condensing with the LLM failed, carrying entities instead: %s", exc)
            return self._fallback.condense(question, history)
        if not condensed or len(condensed) > _MAX_CONDENSED_CHARS:
            return self._fallback.condense(question, history)
        return condensed


def build_condenser(generator: Generator) -> Condenser:
    """The LLM condenser when the generator is an LLM, the entity condenser otherwise."""
    if isinstance(generator, OllamaGenerator):
        return LLMCondenser(generator.llm, EntityCondenser())
    return EntityCondenser()
