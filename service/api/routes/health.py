"""GET /healthz (the process is up) and GET /readyz (each dependency answers)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.api.deps import AnswersDep, EmbedderDep, StoreDep
from service.embeddings import Embedder
from service.errors import BackendUnavailable
from service.generation import Generator
from service.llm import OllamaGenerator
from service.schemas import DependencyCheck, Health, Readiness
from service.store import ChunkStore

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


def check_chroma(store: ChunkStore) -> tuple[DependencyCheck, int | None]:
    """Chroma answers and the collection exists; with its chunk count and the encoder it records."""
    reason = store.check()
    if reason:
        return DependencyCheck(ok=False, detail=reason), None
    try:
        chunks = store.count()
    except BackendUnavailable as exc:
        return DependencyCheck(ok=False, detail=exc.message), None
    detail = f"collection {store.collection_name!r}, vectors of {store.embedder or 'no encoder yet'}"
    return DependencyCheck(ok=True, detail=detail), chunks


def check_generator(generator: Generator) -> DependencyCheck:
    """Ollama answers with the model pulled, when the generator needs it."""
    if not isinstance(generator, OllamaGenerator):
        return DependencyCheck(ok=True, detail=f"not used: the generator is {generator.name}")
    reason = generator.check()
    return DependencyCheck(ok=not reason, detail=reason or generator.name)


def check_embedder(embedder: Embedder) -> DependencyCheck:
    """The embedder is loaded and encodes."""
    try:
        vectors = embedder.embed(["readiness probe"])
    except Exception as exc:  # whatever the model raises, the replica is not ready
        return DependencyCheck(ok=False, detail=f"the embedder failed: {exc}")
    if vectors.shape[0] != 1 or vectors.shape[1] == 0:
        return DependencyCheck(ok=False, detail="the embedder returned no vector")
    return DependencyCheck(ok=True, detail=embedder.name)


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(store: StoreDep, answers: AnswersDep, embedder: EmbedderDep) -> JSONResponse:
    """Readiness: Chroma (and the collection), Ollama (when used) and the embedder; 503 with reasons."""
    chroma, chunks = check_chroma(store)
    checks = {
        "chroma": chroma,
        "ollama": check_generator(answers.generator),
        "embedder": check_embedder(embedder),
    }
    reasons = [f"{name}: {check.detail}" for name, check in checks.items() if not check.ok]
    body = Readiness(
        status="unavailable" if reasons else "ready", chunks=chunks, checks=checks, reasons=reasons
    )
    return JSONResponse(status_code=503 if reasons else 200, content=body.model_dump())
