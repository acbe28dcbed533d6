"""The FastAPI application: ``create_app`` builds the parts in its lifespan and mounts the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from service.api.errors import install_error_handlers
from service.api.parts import Parts, build_parts
from service.api.routes import articles, ask, health, openai_compat, search, stream, summarize
from service.embeddings import Embedder
from service.generation import Generator
from service.settings import Settings, get_settings
from service.store import ChunkStore

UI_DIR = Path(__file__).resolve().parent.parent / "ui"


def create_app(
    settings: Settings | None = None,
    *,
    store: ChunkStore | None = None,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
) -> FastAPI:
    """The app; parts not handed in are built from the settings at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or get_settings()
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
    )
    install_error_handlers(app)
    for module in (search, ask, stream, summarize, articles, health, openai_compat):
        app.include_router(module.router)
    app.mount("/ui", StaticFiles(directory=UI_DIR), name="ui")

    @app.get("/", include_in_schema=False)
    def chat_page() -> FileResponse:
        """The chat page (plain ES modules and CSS under /ui, no build step)."""
        return FileResponse(UI_DIR / "index.html")

    return app
