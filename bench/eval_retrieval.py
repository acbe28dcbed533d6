"""`make eval`: MultiHop-RAG retrieval benchmark of the project's own ingest job and Retriever.

Ingests the corpus with ``python -m ingest`` into its own data dir and collection (unchanged
articles are skipped, so a second run embeds nothing), runs every non-null development query
through ``Retriever.search`` in hybrid, BM25-only and dense-only mode, and writes the metrics of
``bench/metrics.py`` per mode and per question type, with latencies, next to the paper's Table 5,
to ``bench/results/multihop_retrieval_onnx-int8.{json,md}`` for the default (int8) encoder (and
the README's results block), or ``multihop_retrieval.{json,md}`` with ``RAG_EMBEDDING_BACKEND=torch``
(``make eval-fp32``). Each encoder has its own collection in the index (see ``eval_settings``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.metrics import METRICS, QueryScore, percentile, score_query, summarise
from service.embeddings import Embedder, build_embedder
from service.encoder_choice import DEFAULT_BACKEND
from service.lexical import build_lexical_index
from service.models import passage_header
from service.reranker import build_reranker
from service.retrieval import Retriever
from service.settings import RetrievalMode, Settings
from service.store import build_store

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "multihop"
INDEX_DIR = ROOT / "bench" / "data" / "multihop-index"
RESULTS = ROOT / "bench" / "results"
COLLECTION = "multihop"
README_START, README_END = "<!-- eval:start -->", "<!-- eval:end -->"
RUNS: dict[str, RetrievalMode] = {"hybrid (newsrag)": "hybrid", "BM25 only": "lexical", "dense only": "dense"}
TOP = 10
# Passages searched for the article ranking: enough for 10 distinct articles (hybrid keeps at most
# max_per_article of one article before the others; a leg alone may bring many more of one).
ARTICLE_DEPTH = 100


@dataclass(frozen=True)
class Query:
    """A development query with its gold facts and evidence article urls."""

    qid: int
    text: str
    kind: str
    facts: tuple[str, ...]
    evidence: tuple[str, ...]


def eval_settings(settings: Settings) -> Settings:
    """The eval index's settings: each encoder has a collection of its own in ``INDEX_DIR``.

    torch (fp32) uses ``multihop``, another backend ``multihop-<backend>``; ``auto`` (the default)
    means the default encoder, int8, so ``make eval`` on a fresh clone builds ``multihop-onnx-int8``.
    """
    backend = DEFAULT_BACKEND if settings.embedding_backend == "auto" else settings.embedding_backend
    collection = COLLECTION if backend == "torch" else f"{COLLECTION}-{backend}"
    update = {"data_dir": INDEX_DIR, "collection": collection, "embedding_backend": backend}
    return settings.model_copy(update=update)


def load_queries(path: Path, limit: int | None = None) -> list[Query]:
    """The non-null queries of the split (those with evidence), in file order."""
    queries = [
        Query(
            int(q["qid"]),
            str(q["query"]),
            str(q["question_type"]),
            tuple(str(e["fact"]) for e in q["evidence_list"]),
            tuple(dict.fromkeys(str(e["url"]) for e in q["evidence_list"])),
        )
        for q in json.loads(path.read_text(encoding="utf-8"))
        if q["evidence_list"]
    ]
    return queries[:limit] if limit else queries


def ingest(corpus: Path, settings: Settings, embedder: Embedder | None = None) -> dict[str, Any]:
    """Ingest the corpus with the project's ingest job; in-process when an embedder is handed in."""
    started = time.perf_counter()
    if embedder is None:
        env = dict(
            os.environ,
            RAG_DATA_DIR=str(settings.data_dir),
            RAG_COLLECTION=settings.collection,
            RAG_EMBEDDING_BACKEND=settings.embedding_backend,
        )
        subprocess.run([sys.executable, "-m", "ingest", str(corpus)], cwd=ROOT, env=env, check=True)
    else:
        from service.ingestion.pipeline import IngestPipeline

        IngestPipeline(build_store(settings), embedder, settings).run([corpus])
    seconds = time.perf_counter() - started
    articles = len(json.loads(corpus.read_text(encoding="utf-8")))
    print(f"ingest: {articles} articles in {seconds:.1f}s ({articles / seconds:.1f} articles/s)")
    return {"articles": articles, "seconds": round(seconds, 2)}


def run_mode(retriever: Retriever, queries: Sequence[Query]) -> dict[str, Any]:
    """Every query through the retriever: metrics overall and per type, latencies."""
    retriever.search("warm up", TOP)  # loads the BM25 snapshot; not part of any query's latency
    scores: list[tuple[Query, QueryScore]] = []
    latencies: list[float] = []
    for query in queries:
        t0 = time.perf_counter()
        passages = retriever.search(query.text, TOP)
        latencies.append(time.perf_counter() - t0)
        retrieved = [(p.chunk.article.origin, p.chunk.text) for p in passages]
        # The article ranking: a deeper search of the same ranking (its top 10 are these passages).
        articles = [p.chunk.article.origin for p in retriever.search(query.text, ARTICLE_DEPTH)]
        scores.append((query, score_query(retrieved, query.facts, query.evidence, articles)))
    seconds = sum(latencies)  # the top-10 searches only, not the deeper ones for the article ranking
    kinds = sorted({q.kind for q in queries})
    return {
        "overall": summarise([s for _, s in scores]),
        "per_type": {k: summarise([s for q, s in scores if q.kind == k]) for k in kinds},
        "queries": len(queries),
        "latency_ms": {
            "p50": round(percentile(latencies, 50) * 1000, 1),
            "p95": round(percentile(latencies, 95) * 1000, 1),
        },
        "seconds": round(seconds, 2),
        "queries_per_second": round(len(queries) / seconds, 2) if seconds else 0.0,
    }


def evaluate(
    settings: Settings, queries: Sequence[Query], embedder: Embedder, modes: dict[str, RetrievalMode] = RUNS
) -> dict[str, Any]:
    """Run each mode over the queries on the index the settings name."""
    store = build_store(settings)
    reranker = build_reranker(settings)  # RAG_RERANKER_MODEL; none by default
    results: dict[str, Any] = {}
    for label, mode in modes.items():
        retrieval = settings.retrieval.model_copy(update={"mode": mode})
        retriever = Retriever(store, embedder, build_lexical_index(settings, store), retrieval, reranker)
        results[label] = run_mode(retriever, queries)
        run = results[label]
        print(
            f"{label}: {run['overall']} p50 {run['latency_ms']['p50']} ms p95 {run['latency_ms']['p95']} ms"
        )
    return results


def baselines(path: Path) -> dict[str, dict[str, float]]:
    """The paper's Table 5 rows as {row: {metric: value}}."""
    table = json.loads(path.read_text(encoding="utf-8"))
    columns = table["columns"]
    rows: dict[str, dict[str, float]] = {}
    for group, suffix in (("without_reranker", ""), ("with_bge-reranker-large", " + bge-reranker-large")):
        for name, values in table[group].items():
            rows[f"{name}{suffix}"] = dict(zip(columns, values, strict=True))
    return rows


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _ingest_note(report: dict[str, Any]) -> str:
    """How the index was brought up to date for the run."""
    articles = report["corpus"]["articles"]
    if report["ingest"].get("skipped"):
        return f"index of the {articles} articles reused as it was (--skip-ingest)"
    return (
        f"ingest job over the {articles} articles took {report['ingest']['seconds']}s "
        "(only new or changed articles are embedded)"
    )


def markdown(report: dict[str, Any]) -> str:
    """The results as Markdown: our runs, per type, then the paper's rows."""
    chunking = report["chunking"]
    lines = [
        f"MultiHop-RAG dev split, {report['queries']} non-null queries, top-{TOP}; "
        f"chunks of {chunking['chunk_size']} tokens, overlap {chunking['chunk_overlap']}, "
        f"header `{chunking['header']}`; {_ingest_note(report)}; "
        + (f"cross-encoder `{report['reranker_model']}`; " if report.get("reranker_model") else "")
        + f"run on {report['machine']} at {report['finished']}, "
        f"{report['seconds']}s in all.",
        "",
        "| run | " + " | ".join(METRICS) + " | p50 ms | p95 ms |",
        "|---|" + "---|" * (len(METRICS) + 2),
    ]
    for label, run in report["runs"].items():
        cells = [_cell(run["overall"][m]) for m in METRICS]
        lines.append(
            f"| {label} | "
            + " | ".join(cells)
            + f" | {run['latency_ms']['p50']} | {run['latency_ms']['p95']} |"
        )
    for label, row in report["published"].items():
        cells = [_cell(row.get(m)) for m in METRICS]
        lines.append(f"| paper: {label} | " + " | ".join(cells) + " | | |")
    first = next(iter(report["runs"]))
    lines += ["", f"Per question type ({first}):", "", "| type | n | " + " | ".join(METRICS) + " |"]
    lines.append("|---|---|" + "---|" * len(METRICS))
    per_type = report["runs"][first]["per_type"]
    counts = report["per_type_counts"]
    for kind, values in per_type.items():
        lines.append(f"| {kind} | {counts[kind]} | " + " | ".join(_cell(values[m]) for m in METRICS) + " |")
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, table: str) -> None:
    """Replace the README's results block with the latest table."""
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{table}{README_END}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Ingest, evaluate, write the results; prints the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.eval_retrieval", description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="only the first N queries (a smoke run)")
    parser.add_argument("--skip-ingest", action="store_true", help="use the index as it is")
    parser.add_argument(
        "--modes",
        default=",".join(RUNS.values()),
        help=f"comma-separated runs to do, among {', '.join(RUNS.values())} (default: all)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results alone")
    args = parser.parse_args(argv)
    wanted = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in RUNS.values() and m not in RUNS]
    if unknown or not wanted:
        choices = ", ".join(RUNS.values())
        parser.error(f"unknown --modes {', '.join(unknown) or '(none)'}; choose among {choices}")
    modes = {label: mode for label, mode in RUNS.items() if mode in wanted or label in wanted}
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    settings = eval_settings(Settings())
    backend = settings.embedding_backend
    stem = "multihop_retrieval" if backend == "torch" else f"multihop_retrieval_{backend}"
    stem += "_reranked" if settings.reranker_model else ""  # a cross-encoder's run beside the default
    corpus = DATA / "corpus.json"
    ingested = {"seconds": 0.0, "skipped": True} if args.skip_ingest else ingest(corpus, settings)
    queries = load_queries(DATA / "queries-dev.json", args.limit)
    runs = evaluate(settings, queries, build_embedder(settings), modes)  # no query cache: honest latencies
    report = {
        "benchmark": "MultiHop-RAG (Tang & Yang 2024), development split",
        "queries": len(queries),
        "per_type_counts": {k: sum(q.kind == k for q in queries) for k in sorted({q.kind for q in queries})},
        "corpus": {"articles": len(json.loads(corpus.read_text(encoding="utf-8")))},
        "ingest": ingested,
        "chunking": {
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "header": passage_header_example(),
        },
        "retrieval_settings": settings.retrieval.model_dump(),
        "reranker_model": settings.reranker_model or None,
        "runs": runs,
        "published": baselines(DATA / "published_baselines.json"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": round(time.perf_counter() - started, 1),
    }
    table = markdown(report)
    print(table)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{stem}.json").write_text(
            json.dumps(report | {"embedding_backend": backend, "collection": settings.collection}, indent=1)
            + "\n",
            encoding="utf-8",
        )
        (RESULTS / f"{stem}.md").write_text(table, encoding="utf-8")
        # The README shows the default encoder's full run (every mode, every query, no cross-encoder).
        default = backend == DEFAULT_BACKEND and not settings.reranker_model
        if default and set(modes) == set(RUNS) and not args.limit:
            update_readme(ROOT / "README.md", table)
    return 0


def passage_header_example() -> str:
    """The shape of the header set before each chunk's text."""
    from datetime import date

    from service.models import ArticleMeta

    return passage_header(
        ArticleMeta(id="", title="<title>", source="<outlet>", published=date(2023, 11, 27))
    )


if __name__ == "__main__":
    sys.exit(main())
