"""Answer quality on the MultiHop-RAG development split: honest refusals and article-level citations.

For every dev query it asks the answering service (the same AnswerService /ask calls, with the
configured generator — extractive unless RAG_GENERATOR says otherwise) and measures, overall and
per question type:

- refusal rate on the null queries (target >= 0.9) and false-refusal rate on the others (<= 0.05);
- article-level citation precision: cited articles that are evidence articles (target >= 0.95);
- evidence recall: share of answerable queries whose answer cites at least one evidence article
  ("any") and every evidence article ("all");
- per answer: share of the answers whose citations are all evidence articles, and of those citing
  none (what a reader meets: an answer cited right, or wrong throughout), and of those leaving out
  a named outlet (``outlets_left_out``).

The refusal decision is also swept over thresholds of evidence coverage, so its setting
(RAG_MIN_EVIDENCE_COVERAGE) can be chosen on these numbers. Writes bench/results/answers.json and
answers.md (answers_reranked.* with RAG_RERANKER_MODEL set). Runs on the retrieval benchmark's
index and collection for the configured encoder (``bench.eval_retrieval.eval_settings``:
``multihop-onnx-int8`` by default, ``multihop`` with ``RAG_EMBEDDING_BACKEND=torch``), ingesting
the corpus first (unchanged articles are skipped) unless ``--skip-ingest``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.eval_retrieval import DATA, eval_settings, ingest
from service.api.parts import build_parts
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "bench" / "data" / "multihop" / "queries-dev.json"
RESULTS = ROOT / "bench" / "results"
NULL = "null_query"
SWEEP = [0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]


def run(queries: list[dict[str, Any]], settings: Settings, top_k: int) -> list[dict[str, Any]]:
    """Ask every query; one record per query with what was cited and the evidence verdict.

    The service is built with the evidence check reporting but never refusing, and the configured
    threshold is applied afterwards: the check runs before generation and changes nothing else, so
    this equals running with the threshold, and lets the sweep see every query's answer.
    """
    parts = build_parts(settings.model_copy(update={"min_evidence_coverage": 0.0}))
    threshold = settings.min_evidence_coverage
    records = []
    for i, query in enumerate(queries, start=1):
        started = time.perf_counter()
        answer = parts.answers.ask(query["query"], top_k)
        seconds = time.perf_counter() - started
        evidence_urls = sorted({e["url"] for e in query["evidence_list"]})
        cited = sorted({c.passage.chunk.article.origin for c in answer.citations})
        coverage = answer.evidence.coverage if answer.evidence else None
        refused_by_evidence = coverage is not None and coverage < threshold
        records.append(
            {
                "qid": query["qid"],
                "type": query["question_type"],
                "insufficient": answer.insufficient or refused_by_evidence,
                "refused_otherwise": answer.insufficient,
                "coverage": coverage,
                "missing": list(answer.evidence.missing) if answer.evidence else [],
                "cited": [] if refused_by_evidence else cited,
                "outlets_left_out": [] if refused_by_evidence else answer.outlets_left_out,
                "evidence": evidence_urls,
                "sentences": len(answer.sentences),
                "supported": sum(s.supported for s in answer.sentences),
                "seconds": round(seconds, 3),
            }
        )
        if i % 50 == 0:
            print(f"{i}/{len(queries)} queries", flush=True)
    return records


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Refusal, citation precision and evidence recall for a set of records."""
    null = [r for r in records if r["type"] == NULL]
    answerable = [r for r in records if r["type"] != NULL]
    answered = [r for r in answerable if not r["insufficient"]]
    cited = sum(len(r["cited"]) for r in answered)
    cited_evidence = sum(len(set(r["cited"]) & set(r["evidence"])) for r in answered)
    any_hit = sum(bool(set(r["cited"]) & set(r["evidence"])) for r in answerable)
    all_hit = sum(bool(r["evidence"]) and set(r["evidence"]) <= set(r["cited"]) for r in answerable)
    answered_all = [r for r in records if not r["insufficient"]]
    return {
        "queries": len(records),
        "refusal_on_null": _ratio(sum(r["insufficient"] for r in null), len(null)),
        "false_refusal": _ratio(len(answerable) - len(answered), len(answerable)),
        "citation_precision": _ratio(cited_evidence, cited),
        "evidence_recall_any": _ratio(any_hit, len(answerable)),
        "evidence_recall_all": _ratio(all_hit, len(answerable)),
        "only_evidence_cited": _ratio(
            sum(bool(r["cited"]) and set(r["cited"]) <= set(r["evidence"]) for r in answered), len(answered)
        ),
        "no_evidence_cited": _ratio(
            sum(bool(r["cited"]) and not set(r["cited"]) & set(r["evidence"]) for r in answered),
            len(answered),
        ),
        "outlet_left_out": _ratio(sum(bool(r["outlets_left_out"]) for r in answered), len(answered)),
        "evidence_recall_any_when_answered": _ratio(
            sum(bool(set(r["cited"]) & set(r["evidence"])) for r in answered), len(answered)
        ),
        "supported_sentence_share": _ratio(
            sum(r["supported"] for r in answered_all), sum(r["sentences"] for r in answered_all)
        ),
        "mean_seconds": _ratio(sum(r["seconds"] for r in records), len(records)),
    }


def sweep(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Refusal figures had the coverage threshold been each value of SWEEP (other refusals kept)."""
    rows = []
    for threshold in SWEEP:

        def refused(r: dict[str, Any], threshold: float = threshold) -> bool:
            coverage = r["coverage"]
            return bool(r["refused_otherwise"] or (coverage is not None and coverage < threshold))

        null = [r for r in records if r["type"] == NULL]
        answerable = [r for r in records if r["type"] != NULL]
        rows.append(
            {
                "min_evidence_coverage": threshold,
                "refusal_on_null": _ratio(sum(refused(r) for r in null), len(null)),
                "false_refusal": _ratio(sum(refused(r) for r in answerable), len(answerable)),
            }
        )
    return rows


def markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown page."""
    keys = [
        "queries",
        "refusal_on_null",
        "false_refusal",
        "citation_precision",
        "evidence_recall_any",
        "evidence_recall_all",
        "only_evidence_cited",
        "no_evidence_cited",
        "outlet_left_out",
        "supported_sentence_share",
        "mean_seconds",
    ]
    lines = [
        "# Answer quality on MultiHop-RAG (development split)",
        "",
        f"Generator `{report['generator']}`, top_k {report['top_k']}, all null queries and one in "
        f"{report['every']} of the others, evidence_passages {report['evidence_passages']}, "
        f"min_evidence_coverage {report['min_evidence_coverage']}, min_support {report['min_support']}, "
        f"min_relevance {report['min_relevance']}, answer_candidates {report['answer_candidates']}, "
        f"answer_margin {report['answer_margin']}, answer_source_margin {report['answer_source_margin']}, "
        f"source_margin {report['source_margin']}. "
        "Targets: refusal on null >= 0.9, false refusal <= 0.05, citation precision >= 0.95.",
        "",
        "| type | " + " | ".join(keys) + " |",
        "|---|" + "---|" * len(keys),
    ]
    for name, values in [("all", report["overall"]), *report["by_type"].items()]:
        lines.append(f"| {name} | " + " | ".join(str(values.get(k)) for k in keys) + " |")
    lines += [
        "",
        "## Refusal decision swept over min_evidence_coverage",
        "",
        "| min_evidence_coverage | refusal_on_null | false_refusal |",
        "|---|---|---|",
    ]
    for row in report["sweep"]:
        lines.append(
            f"| {row['min_evidence_coverage']} | {row['refusal_on_null']} | {row['false_refusal']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the evaluation and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--top-k", type=int, default=None, help="Passages per question; default RAG_TOP_K.")
    parser.add_argument("--limit", type=int, default=0, help="Only the first N queries (0: all).")
    parser.add_argument(
        "--every", type=int, default=1, help="Every Nth answerable query (all null queries are kept)."
    )
    parser.add_argument(
        "--offset",
        type=int,
        default=0,
        help="Start the every-Nth sample at this answerable query (a held-out check).",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="results stem (default: bench/results/answers[_reranked])"
    )
    parser.add_argument("--skip-ingest", action="store_true", help="use the index as it is")
    args = parser.parse_args()
    settings = eval_settings(Settings())
    # a cross-encoder's run goes beside the default one, not over it
    out: Path = args.out or RESULTS / ("answers_reranked" if settings.reranker_model else "answers")
    if not args.skip_ingest:
        ingest(DATA / "corpus.json", settings)
    queries = json.loads(args.queries.read_text(encoding="utf-8"))
    answerable = [q for q in queries if q["question_type"] != NULL][args.offset :: args.every]
    kept = {q["qid"] for q in answerable}
    queries = [q for q in queries if q["question_type"] == NULL or q["qid"] in kept]
    if args.limit:
        queries = queries[: args.limit]
    top_k = args.top_k or settings.top_k
    records = run(queries, settings, top_k)
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_type[record["type"]].append(record)
    report = {
        "generator": settings.generator,
        "embedding_backend": settings.embedding_backend,
        "collection": settings.collection,
        "top_k": top_k,
        "every": args.every,
        "evidence_passages": settings.evidence_passages,
        "min_evidence_coverage": settings.min_evidence_coverage,
        "min_support": settings.min_support,
        "min_relevance": settings.min_relevance,
        "answer_candidates": settings.answer_candidates,
        "answer_margin": settings.answer_margin,
        "answer_source_margin": settings.answer_source_margin,
        "source_margin": settings.retrieval.source_margin,
        "reranker_model": settings.reranker_model or None,
        "overall": metrics(records),
        "by_type": {name: metrics(rs) for name, rs in sorted(by_type.items())},
        "sweep": sweep(records),
        "records": records,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))


if __name__ == "__main__":
    main()
