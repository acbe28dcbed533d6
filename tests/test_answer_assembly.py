"""The answer assembled from verified sentences (service.answer_assembly): citation numbers, outlet
notes, the order of a "latest" answer, the verdicts kept and dropped."""

from __future__ import annotations

import re
from datetime import date

from service.answer_assembly import assemble, attribution
from service.citations import CheckedSentence
from service.generation import INSUFFICIENT_ANSWER
from service.models import ArticleMeta, Chunk, Passage

NATIONAL = ArticleMeta("a", "Commander visits Iraq", "The National", published=date(2025, 3, 25))
SHAFAQ = ArticleMeta("b", "Qaani in Baghdad", "Shafaq News", published=date(2025, 3, 19))
PASSAGES = [
    Passage(Chunk("a-0", NATIONAL, 0, "Qaani visited Iraq last week. He met militia leaders."), 0.8),
    Passage(Chunk("b-0", SHAFAQ, 0, "Qaani made an unannounced visit to Baghdad. He urged neutrality."), 0.7),
]


def checked(text: str, *passages: int, supported: bool = True) -> CheckedSentence:
    return CheckedSentence(text, passages, supported, 0.9 if supported else 0.1)


def test_citations_are_numbered_in_order_of_first_use_with_markers_before_the_stop() -> None:
    answer = assemble(
        [checked("He urged neutrality.", 2), checked("Qaani visited Iraq last week.", 1, 2)], PASSAGES, "x"
    )
    assert [(c.n, c.passage.chunk.id) for c in answer.citations] == [(1, "b-0"), (2, "a-0")]
    assert [v.citations for v in answer.sentences] == [[1], [2, 1]]
    assert all(re.search(r"\[\d+\]+\.$", v.text) for v in answer.sentences)
    assert answer.text == " ".join(v.text for v in answer.sentences)
    assert not answer.insufficient


def test_sentences_from_several_outlets_say_which_outlet_and_date_unless_they_name_it() -> None:
    answer = assemble(
        [checked("He urged neutrality.", 2), checked("The National says he met militia leaders.", 1)],
        PASSAGES,
        "x",
    )
    first, second = (v.text for v in answer.sentences)
    assert first == f"He urged neutrality ({attribution(SHAFAQ)}) [1]."
    assert attribution(SHAFAQ) == "Shafaq News, 19 March 2025"
    assert "(" not in second  # it names its outlet already
    one_outlet = assemble([checked("He met militia leaders.", 1)], PASSAGES, "x")
    assert one_outlet.text == "He met militia leaders [1]."  # one outlet: nothing to tell apart


def test_a_latest_answer_puts_the_newest_article_s_sentences_first() -> None:
    sentences = [
        checked("Qaani made an unannounced visit to Baghdad.", 2),
        checked("He met militia leaders.", 1),
    ]
    newest = assemble(sentences, PASSAGES, "x", newest_first=True)
    assert [v.text.split(" (")[0] for v in newest.sentences] == [
        "He met militia leaders",
        "Qaani made an unannounced visit to Baghdad",
    ]
    assert newest.citations[0].passage.chunk.article == NATIONAL
    assert assemble(sentences, PASSAGES, "x").citations[0].passage.chunk.article == SHAFAQ


def test_unsupported_sentences_are_dropped_but_keep_their_verdict_and_none_left_is_insufficient() -> None:
    answer = assemble(
        [checked("He met militia leaders.", 1), checked("He won.", 2, supported=False)], PASSAGES, "x"
    )
    assert [(v.supported, v.citations) for v in answer.sentences] == [(True, [1]), (False, [])]
    assert "won" not in answer.text and [c.n for c in answer.citations] == [1]
    nothing = assemble([checked("He won.", 2, supported=False)], PASSAGES, "x", degraded=True, reason="down")
    assert nothing.insufficient and nothing.text == INSUFFICIENT_ANSWER and nothing.citations == []
    assert [v.text for v in nothing.sentences] == ["He won."] and (nothing.degraded, nothing.reason) == (
        True,
        "down",
    )
