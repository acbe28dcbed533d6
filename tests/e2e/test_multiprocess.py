"""Several API processes against one Chroma server answer alike, also after ingests by another process.

As in production: two ``python -m service`` processes (two replicas) and ``python -m ingest`` runs,
all with the same settings (Chroma server, collection, data dir), talking to a real ``chroma run``.
Whatever index a process keeps beside Chroma must follow the writes of the others.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SEEDS, ChromaServer, free_port

pytestmark = pytest.mark.e2e

QUERIES = [
    "Who succeeded Soleimani as Quds Force commander?",
    "When did Qaani visit Baghdad?",
    "US general visits Iraq to salvage relations",
    "Soleimani and U.S. foreign relations",
]
FIRST_BATCH = ["000_277ab06f7a8d113b.txt", "001_77993525a4a13c9e.txt", "003_10efbc8b03f4fe1d.txt"]
SECOND_BATCH = ["002_a85a3d831082c514.txt", "004_aee8e9cc88fbb562.txt"]


@pytest.fixture()
def env(chroma_server: ChromaServer, tmp_path: Path) -> dict[str, str]:
    # No RAG_ setting of the caller, but the session's model cache (the int8 model exported once).
    values = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") or k == "RAG_MODEL_CACHE_DIR"}
    values.update(
        {
            "RAG_CHROMA__HOST": chroma_server.host,
            "RAG_CHROMA__PORT": str(chroma_server.port),
            "RAG_COLLECTION": f"multi-{tmp_path.name[-20:].strip('_-') or 'x'}",
            "RAG_DATA_DIR": str(tmp_path / "data"),  # shared, like the compose volume
            "RAG_GENERATOR": "extractive",
            "HF_HUB_OFFLINE": "1",
        }
    )
    return values


def folder_of(tmp_path: Path, name: str, files: list[str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file in files:
        shutil.copy(SEEDS / file, folder / file)
    return folder


def ingest(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ingest", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture()
def replicas(env: dict[str, str], tmp_path: Path) -> Iterator[list[str]]:
    """Two API processes with the same settings, on their own ports."""
    ingest(env, str(folder_of(tmp_path, "first", FIRST_BATCH)))
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    logs = []
    try:
        for n in range(2):
            port = free_port()
            log = (tmp_path / f"api-{n}.log").open("wb")
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "service", "--host", "127.0.0.1", "--port", str(port)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 180
        for n, url in enumerate(urls):
            while True:
                assert processes[n].poll() is None, (tmp_path / f"api-{n}.log").read_text()
                assert time.monotonic() < deadline, "API process did not become ready"
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        for log in logs:
            log.close()


def answers(url: str) -> dict[str, Any]:
    """What one replica answers to the queries, and the articles it lists."""
    with httpx.Client(base_url=url, timeout=60) as http:
        search = {q: http.post("/search", json={"query": q, "top_k": 5}).json()["results"] for q in QUERIES}
        articles = sorted(a["origin"] for a in http.get("/articles").json()["articles"])
    return {"search": search, "articles": articles}


def assert_same(first: dict[str, Any], second: dict[str, Any]) -> None:
    assert first["articles"] == second["articles"]
    for query in QUERIES:
        a, b = first["search"][query], second["search"][query]
        assert [r["chunk_id"] for r in a] == [r["chunk_id"] for r in b], query
        assert [r["score"] for r in a] == pytest.approx([r["score"] for r in b], abs=1e-5), query


def test_replicas_answer_alike_before_and_after_an_ingest_by_another_process(
    replicas: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    before = [answers(url) for url in replicas]
    assert_same(*before)
    assert before[0]["articles"] == sorted(FIRST_BATCH)

    ingest(env, str(folder_of(tmp_path, "second", SECOND_BATCH)))
    after = [answers(url) for url in replicas]
    assert_same(*after)
    assert after[0]["articles"] == sorted(FIRST_BATCH + SECOND_BATCH)
    top = after[0]["search"][QUERIES[0]][0]["article"]["origin"]
    assert top == "002_a85a3d831082c514.txt"  # the new article is found, by both

    # An ingest --reset elsewhere drops and re-creates the collection; both replicas follow it.
    ingest(env, "--reset", str(tmp_path / "second"))
    reset = [answers(url) for url in replicas]
    assert_same(*reset)
    assert reset[0]["articles"] == sorted(SECOND_BATCH)
