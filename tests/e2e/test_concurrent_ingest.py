"""Uploads, replacements and deletes while 8 clients search, ask and list: no errors, no partial articles.

Every sentence of an uploaded revision carries that revision's marker word, so any response that shows
chunks of one article from two revisions, or fewer chunks than a revision has, is caught by its text
as well as by its chunk ids.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from service.live_versions import version_of_chunk
from tests.conftest import LiveServer

pytestmark = pytest.mark.e2e

READERS = 8
REVISIONS = 4
MARKER = re.compile(r"\brevision(\d+)marker\b")
URLS = ("https://example.org/marlow-barrier", "https://example.org/tarrant-dock")


def record(url: str, revision: int) -> dict[str, str]:
    """A long article (several chunks) whose every sentence names its revision."""
    body = " ".join(
        f"Sentence {i} of revision{revision}marker: the Marlow tidal barrier had {i * 7 + revision} sluice "
        f"gates installed by the harbour authority, engineers from Tarrant Works said."
        for i in range(50)
    )
    return {
        "title": f"Marlow barrier progress ({url.rsplit('/', 1)[1]})",
        "source": "Coastal Courier",
        "published_at": "2025-06-01",
        "url": url,
        "body": body,
    }


@dataclass
class Observations:
    """What the readers saw, checked after the run."""

    failures: list[str] = field(default_factory=list)
    passage_sets: list[list[tuple[str, str]]] = field(default_factory=list)  # (chunk id, text) per response
    details: list[dict[str, Any]] = field(default_factory=list)
    listed_counts: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self, what: str, response: httpx.Response) -> None:
        with self.lock:
            self.failures.append(f"{what}: {response.status_code} {response.text[:200]}")


def read_loop(url: str, worker: int, ids: list[str], stop: threading.Event, seen: Observations) -> None:
    """Search, ask, list and open articles until the writer is done."""
    with httpx.Client(base_url=url, timeout=120) as client:
        step = worker
        while not stop.is_set():
            kind = step % 4
            step += 1
            if kind == 0:
                response = client.post(
                    "/search", json={"query": "Marlow tidal barrier sluice gates", "top_k": 10}
                )
                if response.status_code != 200:
                    seen.failed("search", response)
                    continue
                hits = [(r["chunk_id"], r["text"]) for r in response.json()["results"]]
                with seen.lock:
                    seen.passage_sets.append(hits)
            elif kind == 1:
                response = client.post("/ask", json={"question": "How many sluice gates did Marlow install?"})
                if response.status_code != 200:
                    seen.failed("ask", response)
                    continue
                cited = [(c["chunk_id"], c["quote"]) for c in response.json()["citations"]]
                with seen.lock:
                    seen.passage_sets.append(cited)
            elif kind == 2:
                response = client.get("/articles")
                if response.status_code != 200:
                    seen.failed("articles", response)
                    continue
                counts = [a["chunk_count"] for a in response.json()["articles"] if a["id"] in ids]
                with seen.lock:
                    seen.listed_counts.extend(counts)
            elif ids:
                response = client.get(f"/articles/{ids[step % len(ids)]}")
                if response.status_code == 200:
                    with seen.lock:
                        seen.details.append(response.json())
                elif response.status_code != 404:  # 404: deleted (or not yet uploaded)
                    seen.failed("article", response)


def test_concurrent_uploads_and_readers_see_only_whole_articles(own_server: LiveServer) -> None:
    seen = Observations()
    ids: list[str] = []
    chunk_counts: set[int] = set()
    stop = threading.Event()
    with httpx.Client(base_url=own_server.url, timeout=300) as writer:
        for url in URLS:
            first = writer.post("/documents", json=record(url, 0))
            assert first.status_code == 200, first.text
            ids.append(first.json()["articles"][0]["id"])
            chunk_counts.add(first.json()["chunks_written"])
        readers = [
            threading.Thread(target=read_loop, args=(own_server.url, w, ids, stop, seen))
            for w in range(READERS)
        ]
        for thread in readers:
            thread.start()
        try:
            for revision in range(1, REVISIONS):
                for url in URLS:
                    response = writer.post("/documents", json=record(url, revision))
                    assert response.status_code == 200, response.text
                    assert response.json()["articles"][0]["status"] == "changed"
                    chunk_counts.add(response.json()["chunks_written"])
            deleted = writer.delete(f"/articles/{ids[1]}")
            assert deleted.status_code == 200, deleted.text
            final = writer.get(f"/articles/{ids[0]}").json()
        finally:
            stop.set()
            for thread in readers:
                thread.join(timeout=300)

    assert seen.failures == []
    assert seen.passage_sets and seen.details and seen.listed_counts, "every kind of read ran"
    for passages in seen.passage_sets:
        assert_one_revision_per_article(passages, ids)
    for detail in seen.details:
        chunks = detail["chunks"]
        assert [c["index"] for c in chunks] == list(range(detail["chunk_count"])), "chunks missing"
        assert len({version_of_chunk(c["chunk_id"]) for c in chunks}) == 1
        assert len({r for c in chunks for r in MARKER.findall(c["text"])}) == 1
        assert detail["chunk_count"] in chunk_counts
    assert set(seen.listed_counts) <= chunk_counts, "a listing counted a partial article"
    assert final["chunks"] and {r for c in final["chunks"] for r in MARKER.findall(c["text"])} == {
        str(REVISIONS - 1)
    }


def assert_one_revision_per_article(passages: list[tuple[str, str]], ids: list[str]) -> None:
    """One response never shows two versions of an article, by chunk id or by text."""
    versions: dict[str, set[str]] = {}
    revisions: dict[str, set[str]] = {}
    for chunk_id, text in passages:
        article = chunk_id.rsplit("-", 2)[0]
        versions.setdefault(article, set()).add(version_of_chunk(chunk_id))
        revisions.setdefault(article, set()).update(MARKER.findall(text))
    for article in ids:
        assert len(versions.get(article, set())) <= 1, f"two versions of {article} in one response"
        assert len(revisions.get(article, set())) <= 1, f"two revisions of {article} in one response"
