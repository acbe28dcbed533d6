"""A serving process sees, in its BM25 leg, what an ingest job in another process wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.embeddings import Embedder
from service.lexical import LexicalIndex, lexical_path
from service.retrieval import Retriever
from service.settings import RetrievalSettings
from service.store import build_store
from tests.conftest import make_settings

pytestmark = pytest.mark.e2e


def ingest_in_another_process(data_dir: Path, collection: str, *paths: Path) -> None:
    env = dict(os.environ, RAG_DATA_DIR=str(data_dir), RAG_COLLECTION=collection, HF_HUB_OFFLINE="1")
    env.pop("RAG_CHROMA__HOST", None)
    result = subprocess.run(
        [sys.executable, "-m", "ingest", *map(str, paths)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr


def test_ingest_in_another_process_reaches_a_running_retriever(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(tmp_path / "data", collection="shared")
    feed = tmp_path / "feed.json"
    first = {
        "title": "Harbour",
        "source": "Port Gazette",
        "url": "https://p.example/1",
        "body": "The harbour dredging of the old quay starts in May, the port authority said.",
    }
    feed.write_text(json.dumps([first]), encoding="utf-8")
    ingest_in_another_process(settings.data_dir, settings.collection, feed)

    store = build_store(settings)
    index = LexicalIndex(store, lexical_path(settings.data_dir, settings.collection), check_seconds=0)
    retriever = Retriever(store, embedder, index, RetrievalSettings(mode="lexical"))
    assert [p.chunk.article.origin for p in retriever.search("harbour dredging", 3)] == [
        "https://p.example/1"
    ]
    assert retriever.search("lighthouse keeper", 3) == []

    second = {
        "title": "Lighthouse",
        "source": "Port Gazette",
        "url": "https://p.example/2",
        "body": "A lighthouse keeper retired after forty years on the rock, the last of his trade.",
    }
    feed.write_text(json.dumps([second]), encoding="utf-8")
    ingest_in_another_process(settings.data_dir, settings.collection, feed)  # adds 2 (no prune)

    found = [p.chunk.article.origin for p in retriever.search("lighthouse keeper", 3)]
    assert found == ["https://p.example/2"]
