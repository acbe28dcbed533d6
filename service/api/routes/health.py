"""GET /healthz (the process is up) and GET /readyz (its dependencies answer)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.api.deps import StoreDep
from service.errors import BackendUnavailable
from service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get("/readyz", response_model=None)
def readyz(store: StoreDep) -> JSONResponse:
    """Readiness: Chroma answers; 503 with the reason otherwise."""
    try:
        store.heartbeat()
        chunks = store.count()
    except BackendUnavailable as exc:
        return JSONResponse(status_code=503, content={"status": "unavailable", "reasons": [exc.message]})
    return JSONResponse(content={"status": "ready", "chunks": chunks})
