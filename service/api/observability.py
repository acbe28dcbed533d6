"""Prometheus metrics: HTTP requests by route and status, plus newsrag's own counters."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter
from prometheus_fastapi_instrumentator import Instrumentator


@dataclass(frozen=True)
class Metrics:
    """The app's counters, on a registry of its own (so several apps can live in one process)."""

    registry: CollectorRegistry
    answers: Counter
    articles_ingested: Counter

    def count_answer(self, generator: str, degraded: bool, insufficient: bool) -> None:
        """One answer written."""
        self.answers.labels(
            generator=generator, degraded=str(degraded).lower(), insufficient=str(insufficient).lower()
        ).inc()

    def count_ingest(self, outcome: str, n: int = 1) -> None:
        """Articles ingested through the API, by outcome (new, changed, unchanged, skipped)."""
        if n:
            self.articles_ingested.labels(outcome=outcome).inc(n)


def install_metrics(app: FastAPI) -> Metrics:
    """Instrument the app's routes and expose GET /metrics in the Prometheus text format."""
    registry = CollectorRegistry()
    Instrumentator(
        registry=registry,
        should_group_status_codes=False,
        excluded_handlers=["/metrics"],
    ).instrument(app).expose(app, endpoint="/metrics", include_in_schema=False)
    metrics = Metrics(
        registry=registry,
        answers=Counter(
            "newsrag_answers",
            "Answers written, by generator and whether degraded or insufficient.",
            ["generator", "degraded", "insufficient"],
            registry=registry,
        ),
        articles_ingested=Counter(
            "newsrag_articles_ingested",
            "Articles ingested through the API, by outcome.",
            ["outcome"],
            registry=registry,
        ),
    )
    app.state.metrics = metrics
    return metrics
