"""Streamed markers are renumbered as they arrive, by the same rule as the final answer."""

from __future__ import annotations

import pytest

from service.streaming import MarkerRenumberer


def feed_all(pieces: list[str], passages: int) -> str:
    renumberer = MarkerRenumberer(passages)
    return "".join(renumberer.feed(p) for p in pieces) + renumberer.flush()


def test_markers_are_numbered_in_order_of_first_use() -> None:
    assert feed_all(["A [3]. B [1]. C [3]."], 3) == "A [1]. B [2]. C [1]."


@pytest.mark.parametrize("pieces", [["A [", "2]. B [1", "]."], ["A [2", "]", ". B [", "1", "]."]])
def test_a_marker_split_across_deltas_is_held_back_until_complete(pieces: list[str]) -> None:
    renumberer = MarkerRenumberer(2)
    shown = [renumberer.feed(p) for p in pieces]
    assert all("[" not in s or "]" in s for s in shown)  # never half a marker on screen
    assert "".join(shown) + renumberer.flush() == "A [1]. B [2]."


def test_markers_to_passages_that_do_not_exist_are_dropped() -> None:
    assert feed_all(["A [7]. B [1]."], 2) == "A . B [1]."


def test_a_bracket_that_never_closes_is_shown_at_the_end() -> None:
    assert feed_all(["costs [", "12"], 3) == "costs [12"
