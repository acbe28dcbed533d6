"""Named dependencies handing the app's parts to route handlers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from service.answering import AnswerService
from service.api.observability import Metrics
from service.api.parts import Parts
from service.conversation import Condenser
from service.documents import DocumentIntake
from service.embeddings import Embedder
from service.retrieval import Retriever
from service.settings import Settings
from service.store import ChunkStore
from service.summaries import SummaryService


def get_parts(request: Request) -> Parts:
    """The parts built by the lifespan."""
    return cast(Parts, request.app.state.parts)


def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    return get_parts(request).settings


def get_store(request: Request) -> ChunkStore:
    """The chunk store."""
    return get_parts(request).store


def get_retriever(request: Request) -> Retriever:
    """The retriever."""
    return get_parts(request).retriever


def get_embedder(request: Request) -> Embedder:
    """The query and document encoder."""
    return get_parts(request).embedder


def get_answers(request: Request) -> AnswerService:
    """The answering service."""
    return get_parts(request).answers


def get_condenser(request: Request) -> Condenser:
    """The follow-up condenser."""
    return get_parts(request).condenser


def get_summaries(request: Request) -> SummaryService:
    """The summary service."""
    return get_parts(request).summaries


def get_metrics(request: Request) -> Metrics:
    """The app's Prometheus counters."""
    return cast(Metrics, request.app.state.metrics)


def get_intake(request: Request) -> DocumentIntake:
    """The upload intake."""
    return get_parts(request).intake


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
StoreDep = Annotated[ChunkStore, Depends(get_store)]
RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
AnswersDep = Annotated[AnswerService, Depends(get_answers)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
EmbedderDep = Annotated[Embedder, Depends(get_embedder)]
CondenserDep = Annotated[Condenser, Depends(get_condenser)]
SummariesDep = Annotated[SummaryService, Depends(get_summaries)]
IntakeDep = Annotated[DocumentIntake, Depends(get_intake)]
