"""What the index holds at a glance — its outlets and its newest publication date — cached briefly.

The refusal decision needs the indexed outlets and relative dates ("last week") need the newest
article; both come from a scan of the chunk metadata, so they are kept for a few seconds rather than
scanned on every request.
"""

from __future__ import annotations

import threading
import time
from datetime import date

from service.store import ChunkStore


class Catalog:
    """The indexed outlets and the newest publication date, refreshed after ``ttl`` seconds."""

    def __init__(self, store: ChunkStore, ttl: float = 30.0) -> None:
        self._store = store
        self._ttl = ttl
        self._lock = threading.Lock()
        self._loaded_at = -float("inf")
        self._outlets: frozenset[str] = frozenset()
        self._newest: date | None = None

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._loaded_at < self._ttl:
                return
            outlets: set[str] = set()
            newest: date | None = None
            for summary in self._store.articles(visible_only=True).values():
                if summary.meta.source:
                    outlets.add(summary.meta.source)
                day = summary.meta.published
                if day is not None and (newest is None or day > newest):
                    newest = day
            self._outlets, self._newest = frozenset(outlets), newest
            self._loaded_at = time.monotonic()

    def outlets(self) -> frozenset[str]:
        """Every outlet with an indexed article."""
        self._refresh()
        return self._outlets

    def newest(self) -> date | None:
        """Publication date of the newest indexed article (None when nothing is dated)."""
        self._refresh()
        return self._newest
