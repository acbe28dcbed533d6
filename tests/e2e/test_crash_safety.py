"""Crash safety: an ingest killed with SIGKILL at five different moments, then re-run, leaves the
index exactly as one clean run does."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.settings import Settings
from service.store import build_store

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "bench" / "data" / "multihop" / "corpus.json"
ARTICLES = 32  # ~340 chunks: long enough to be killed mid-write several times, short enough for CI


def ingest_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RAG_DATA_DIR": str(data_dir),
            "RAG_COLLECTION": "crash",
            "RAG_EMBEDDING_BATCH_SIZE": "8",  # small groups: several commit points per run
            "HF_HUB_OFFLINE": "1",
        }
    )
    env.pop("RAG_CHROMA__HOST", None)
    return env


def ingest_command(feed: Path) -> list[str]:
    return [sys.executable, "-m", "ingest", str(feed)]


Articles = dict[str, tuple[int, bool]]  # id → (chunk count, complete)


def index_state(data_dir: Path) -> tuple[set[str], Articles, Articles]:
    """Stored chunk ids, stored articles, and the articles readers see."""
    store = build_store(Settings(data_dir=data_dir, collection="crash"))
    chunk_ids = {cid for cid, _, _ in store.iter_records()}
    articles = {aid: (s.chunk_count, s.complete) for aid, s in store.articles().items()}
    visible = {aid: (s.chunk_count, s.complete) for aid, s in store.articles(visible_only=True).items()}
    return chunk_ids, articles, visible


def run_until_killed(feed: Path, env: dict[str, str], progress_lines: int, extra_delay: float) -> bool:
    """Start an ingest, SIGKILL it after it reported `progress_lines` progress lines; True if killed."""
    process = subprocess.Popen(
        ingest_command(feed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    seen = 0
    for line in process.stderr:
        if line.startswith("progress "):
            seen += 1
            if seen >= progress_lines:
                break
    try:
        if process.poll() is None:
            time.sleep(extra_delay)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
            return process.returncode == -signal.SIGKILL
        process.wait(timeout=60)
        return False
    finally:
        process.stderr.close()


def test_ingest_killed_five_times_then_rerun_matches_a_clean_ingest(tmp_path: Path) -> None:
    records = json.loads(CORPUS.read_text(encoding="utf-8"))[:ARTICLES]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")

    clean_dir = tmp_path / "clean"
    subprocess.run(
        ingest_command(feed), env=ingest_env(clean_dir), check=True, capture_output=True, timeout=900
    )
    clean_ids, clean_articles, clean_visible = index_state(clean_dir)
    assert len(clean_articles) == ARTICLES and all(complete for _, complete in clean_articles.values())
    assert clean_visible == clean_articles

    crash_dir = tmp_path / "crash"
    env = ingest_env(crash_dir)
    rng = random.Random(20261122)
    kills = 0
    partial_states = 0
    for attempt in range(5):
        # Kill after the 1st..3rd progress report, plus a random slice of the next batch's work.
        if run_until_killed(feed, env, progress_lines=1 + attempt % 3, extra_delay=rng.uniform(0.0, 1.5)):
            kills += 1
        ids, articles, visible = index_state(crash_dir)
        assert len(ids) == sum(count for count, _ in articles.values())  # never an orphan chunk
        assert all(complete for _, complete in visible.values())  # readers never see a partial article
        assert all(visible[a] == clean_articles[a] for a in visible)
        if ids and ids != clean_ids:
            partial_states += 1
    assert kills >= 3, "the ingest finished before it could be killed: enlarge the corpus slice"
    assert partial_states >= 1, "no kill landed mid-write"

    subprocess.run(ingest_command(feed), env=env, check=True, capture_output=True, timeout=900)
    crash_ids, crash_articles, crash_visible = index_state(crash_dir)
    assert crash_ids == clean_ids
    assert crash_articles == clean_articles
    assert crash_visible == clean_visible
