"""A bounded memo for values derived from an object that never changes (a snapshot, an analyzer)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def remembered(memo: dict[K, V], key: K, compute: Callable[[K], V], limit: int) -> V:
    """``memo[key]``, computed with ``compute(key)`` the first time; the memo is emptied when full.

    A plain dict held by the owner, not ``functools.lru_cache`` on a method: that would tie the
    owner into a reference cycle and keep a replaced snapshot alive until a full garbage collection.
    """
    value = memo.get(key)
    if value is None:
        value = compute(key)
        if len(memo) >= limit:
            memo.clear()
        memo[key] = value
    return value
