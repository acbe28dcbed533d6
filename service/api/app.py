"""The FastAPI application: ``create_app`` builds the parts in its lifespan and mounts the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.api.errors import install_error_handlers
from service.api.parts import Parts, build_parts
from service.api.routes import articles, ask, health, search, summarize
from service.embeddings import Embedder
from service.generation import Generator
from service.settings import Settings, get_settings
from service.store import ChunkStore


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

    app = FastAPI(
        title="newsrag",
        version="0.1.0",
        summary="Semantic search and cited question answering over news articles.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for module in (search, ask, summarize, articles, health):
        app.include_router(module.router)
    return app
