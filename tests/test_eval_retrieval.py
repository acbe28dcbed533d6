"""The MultiHop-RAG eval code on a handful of corpus articles, so `make eval` does not rot."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.eval_retrieval import DATA, RUNS, baselines, evaluate, ingest, load_queries, main, markdown
from bench.metrics import METRICS, score_query, squash
from service.embeddings import Embedder
from tests.conftest import make_settings


def test_paper_hit_rule_ignores_spaces_and_newlines() -> None:
    assert squash("a b\nc") == "abc"
    score = score_query([("x", "unrelated"), ("y", "The  board\nfired him.")], ["board fired"], ["y", "z"])
    assert (score.chunk_hit_rank, score.hits4, score.mrr10) == (2, 1.0, 0.5)
    assert (score.article_ranks, score.all_evidence10) == ((2,), 0.0)


def test_article_metrics_read_the_top_10_distinct_articles_of_the_deeper_ranking() -> None:
    top = [(f"a{i // 3}", "text") for i in range(10)]  # ten chunks of four articles
    ranking = [key for key, _ in top] + [f"a{i}" for i in range(4, 12)]
    score = score_query(top, ["nothing"], ["a0", "a9"], ranking)
    assert (score.article_ranks, score.all_evidence10, score.all_evidence_in_chunks) == ((1, 10), 1.0, 0.0)
    beyond = score_query(top, ["nothing"], ["a0", "a10"], ranking)
    assert (beyond.article_ranks, beyond.all_evidence10, beyond.article_hit(1)) == ((1,), 0.0, 1.0)
    within = score_query(top, ["nothing"], ["a1", "a3"], ranking)
    assert (within.article_ranks, within.all_evidence10, within.all_evidence_in_chunks) == ((2, 4), 1.0, 1.0)
    ideal = 1 + 1 / math.log2(3)
    assert within.ndcg10 == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal)


def test_eval_runs_every_mode_on_a_small_corpus(tmp_path: Path, embedder: Embedder) -> None:
    queries = load_queries(DATA / "queries-dev.json")[:3]
    wanted = {url for q in queries for url in q.evidence}
    corpus = [a for a in json.loads((DATA / "corpus.json").read_text(encoding="utf-8")) if a["url"] in wanted]
    small = tmp_path / "corpus.json"
    small.write_text(json.dumps(corpus), encoding="utf-8")
    settings = make_settings(tmp_path / "index", collection="multihop")

    assert ingest(small, settings, embedder)["articles"] == len(corpus)
    runs = evaluate(settings, queries, embedder)

    assert set(runs) == set(RUNS)
    for run in runs.values():
        assert set(run["overall"]) == set(METRICS)
        assert all(0.0 <= v <= 1.0 for v in run["overall"].values())
        assert run["latency_ms"]["p95"] >= run["latency_ms"]["p50"] > 0
    # Every evidence article is in this tiny index, so BM25 finds some of them.
    assert runs["BM25 only"]["overall"]["article hit@10"] > 0
    report = {
        "queries": len(queries),
        "per_type_counts": {k: sum(q.kind == k for q in queries) for k in {q.kind for q in queries}},
        "corpus": {"articles": len(corpus)},
        "ingest": {"seconds": 1.0},
        "chunking": {"chunk_size": 256, "chunk_overlap": 40, "header": "t | s, d"},
        "runs": runs,
        "published": baselines(DATA / "published_baselines.json"),
        "machine": "test",
        "finished": "now",
        "seconds": 1.0,
    }
    table = markdown(report)
    assert "| hybrid (newsrag) |" in table and "| paper: voyage-02 + bge-reranker-large |" in table


def test_an_unknown_mode_is_a_usage_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--modes", "hybrid,nope", "--skip-ingest", "--no-write"])
    assert exited.value.code == 2
    assert "unknown --modes nope; choose among hybrid, lexical, dense" in capsys.readouterr().err
