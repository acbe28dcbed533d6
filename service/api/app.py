"""The FastAPI application: ``create_app`` builds the parts in its lifespan and mounts the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from service.api.errors import install_error_handlers
from service.api.middleware import BodySizeLimitMiddleware, RequestIdMiddleware, configure_json_logging
from service.api.observability import install_metrics
from service.api.parts import Parts, build_parts
from service.api.routes import articles, ask, documents, health, openai_compat, search, stream, summarize
from service.api.security import ApiKeyMiddleware, RateLimitMiddleware
from service.embeddings import Embedder
from service.generation import Generator
from service.schemas import ErrorResponse
from service.settings import Settings, get_settings
from service.store import ChunkStore

UI_DIR = Path(__file__).resolve().parent.parent / "ui"

# Every route may answer these, always in the one error shape.
COMMON_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Malformed request",
        401: "Missing or wrong API key (when RAG_API_KEY is set)",
        413: "Request body too large",
        422: "Invalid request; `fields` names each bad field",
        429: "Rate limit exceeded; see Retry-After",
        503: "A backend (Chroma, Ollama) is unavailable",
    }.items()
}


def create_app(
    settings: Settings | None = None,
    *,
    store: ChunkStore | None = None,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
) -> FastAPI:
    """The app; parts not handed in are built from the settings at start-up."""
    resolved = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        parts: Parts = build_parts(resolved, store=store, embedder=embedder, generator=generator)
        app.state.parts = parts
        yield
        close = getattr(parts.answers.generator, "close", None)
        if callable(close):  # the Ollama generator holds HTTP connections
            close()

    app = FastAPI(
        title="newsrag",
        version="0.1.0",
        summary="Semantic search and cited question answering over news articles.",
        lifespan=lifespan,
        responses=COMMON_ERROR_RESPONSES,
    )
    install_error_handlers(app)
    install_metrics(app)
    for module in (search, ask, stream, summarize, articles, documents, health, openai_compat):
        app.include_router(module.router)
    app.mount("/ui", StaticFiles(directory=UI_DIR), name="ui")

    @app.get("/", include_in_schema=False)
    def chat_page() -> FileResponse:
        """The chat page (plain ES modules and CSS under /ui, no build step)."""
        return FileResponse(UI_DIR / "index.html")

    install_middleware(app, resolved)
    return app


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Access control, limits and request ids; the last added runs first on a request."""
    configure_json_logging()
    if settings.api_key is not None:
        app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key.get_secret_value())
    if settings.rate_limit:
        app.add_middleware(RateLimitMiddleware, limit=settings.rate_limit)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestIdMiddleware)
