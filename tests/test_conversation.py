"""Follow-up questions: entities carried from earlier questions, and the LLM condenser's fallback."""

from __future__ import annotations

from service.conversation import (
    EntityCondenser,
    LLMCondenser,
    Turn,
    build_condenser,
    clean_history,
    entities,
    is_follow_up,
)
from service.embeddings import Embedder
from service.llm import OllamaGenerator, build_extractive
from service.settings import OllamaSettings, Settings
from tests.conftest import free_port

QAANI = [
    Turn("user", "What did Qaani discuss in Baghdad?"),
    Turn("assistant", "Qaani met leaders of the Coordination Framework [1]."),
]


def test_entities_are_names_and_years_without_question_words() -> None:
    assert entities("Who succeeded Soleimani as Quds Force commander?") == ["Soleimani", "Quds Force"]
    assert entities("What did Hegseth tell al-Sudani in 2025?") == ["Hegseth", "al-Sudani", "2025"]
    assert entities("what happened next?") == []


def test_pronouns_connectives_and_nameless_questions_are_follow_ups() -> None:
    assert is_follow_up("And what did he say about Israel?")
    assert is_follow_up("What about Hegseth?")
    assert is_follow_up("what happened next?")
    assert not is_follow_up("Who succeeded Soleimani as Quds Force commander?")


def test_follow_up_carries_the_previous_questions_entities() -> None:
    condensed = EntityCondenser().condense("And what did he say about Israel?", QAANI)
    assert condensed == "And what did he say about Israel? (Qaani, Baghdad)"


def test_standalone_question_is_left_alone_and_starts_a_new_context() -> None:
    condenser = EntityCondenser()
    question = "Who succeeded Soleimani as Quds Force commander?"
    assert condenser.condense(question, QAANI) == question
    history = [*QAANI, Turn("user", question), Turn("assistant", "Ghaani [1].")]
    assert condenser.condense("When did he take over?", history) == (
        "When did he take over? (Soleimani, Quds Force)"
    )


def test_chained_follow_ups_keep_the_context_and_skip_names_already_asked() -> None:
    history = [*QAANI, Turn("user", "And what did he say about Israel?"), Turn("assistant", "x")]
    assert EntityCondenser().condense("Did Qaani meet anyone else there?", history) == (
        "Did Qaani meet anyone else there? (Baghdad, Israel)"
    )


def test_without_history_the_question_is_unchanged() -> None:
    assert EntityCondenser().condense("And what did he say?", []) == "And what did he say?"


def test_history_loses_citation_markers_and_reference_lists() -> None:
    turns = clean_history([Turn("assistant", "He met them [1].\n\nReferences:\n[1] Title — Outlet, 2025")])
    assert turns == [Turn("assistant", "He met them.")]


def test_llm_condenser_falls_back_to_entities_when_ollama_is_down() -> None:
    down = OllamaSettings(base_url=f"http://127.0.0.1:{free_port()}", request_timeout=5)
    condenser = LLMCondenser(OllamaGenerator(down).llm, EntityCondenser())
    condensed = condenser.condense("And what did he say about Israel?", QAANI)
    assert condensed == "And what did he say about Israel? (Qaani, Baghdad)"


def test_condenser_follows_the_generator(embedder: Embedder) -> None:
    assert isinstance(build_condenser(build_extractive(Settings(), embedder)), EntityCondenser)
    assert isinstance(build_condenser(OllamaGenerator(OllamaSettings())), LLMCondenser)
