"""Access and operations over a real socket: API key, CORS, rate limit, body limit, request ids, metrics."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from service.embeddings import Embedder
from service.settings import Settings
from service.store import ChunkStore
from tests.conftest import LiveServer, extractive_app

KEY = "s3cret-key"


@pytest.fixture(scope="module")
def guarded(seeded: tuple[Settings, ChunkStore], embedder: Embedder) -> Iterator[str]:
    base, store = seeded
    settings = Settings.model_validate(
        base.model_dump()
        | {
            "api_key": KEY,
            "cors_origins": ["https://news.example"],
            "rate_limit": "40/minute",
            "max_request_bytes": 4096,
        }
    )
    app = extractive_app(settings, store, embedder)
    with LiveServer(app) as server:
        yield server.url


AUTH = {"Authorization": f"Bearer {KEY}"}


def test_api_key_is_required_except_on_probes(guarded: str) -> None:
    missing = httpx.post(f"{guarded}/search", json={"query": "Qaani"})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = httpx.post(f"{guarded}/search", json={"query": "Qaani"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert httpx.get(f"{guarded}/articles").status_code == 401
    assert httpx.get(f"{guarded}/healthz").status_code == 200
    assert httpx.get(f"{guarded}/readyz").status_code == 200
    ok = httpx.post(f"{guarded}/search", json={"query": "Qaani"}, headers=AUTH)
    assert ok.status_code == 200 and ok.json()["results"]


def test_cors_allows_only_configured_origins(guarded: str) -> None:
    preflight = {"Origin": "https://news.example", "Access-Control-Request-Method": "POST"}
    allowed = httpx.options(f"{guarded}/search", headers=preflight)
    assert allowed.headers.get("access-control-allow-origin") == "https://news.example"
    other = httpx.options(f"{guarded}/search", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_request_body_over_the_limit_is_413(guarded: str) -> None:
    response = httpx.post(f"{guarded}/search", json={"query": "x" * 5000}, headers=AUTH)
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"

    def chunked() -> Iterator[bytes]:
        yield b'{"query": "'
        yield b"y" * 5000
        yield b'"}'

    streamed = httpx.post(
        f"{guarded}/search", content=chunked(), headers={**AUTH, "content-type": "application/json"}
    )
    assert streamed.status_code == 413


def test_request_id_is_returned_and_echoed(guarded: str) -> None:
    generated = httpx.get(f"{guarded}/healthz").headers["x-request-id"]
    assert len(generated) == 32
    echoed = httpx.get(f"{guarded}/healthz", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    unsafe = httpx.get(f"{guarded}/healthz", headers={"X-Request-ID": "bad id\twith junk"})
    assert unsafe.headers["x-request-id"] != "bad id\twith junk"


def test_metrics_count_requests_and_answers(guarded: str) -> None:
    httpx.post(f"{guarded}/ask", json={"question": "When did Qaani visit Baghdad?"}, headers=AUTH)
    text = httpx.get(f"{guarded}/metrics", headers=AUTH).text
    assert 'handler="/ask"' in text and "http_request_duration_seconds" in text
    assert 'newsrag_answers_total{degraded="false",generator="extractive"' in text


def test_rate_limit_answers_429_with_retry_after(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder
) -> None:
    base, store = seeded
    settings = base.model_copy(update={"rate_limit": "3/minute"})
    app = extractive_app(settings, store, embedder)
    with LiveServer(app) as server:
        statuses = [httpx.get(f"{server.url}/articles").status_code for _ in range(5)]
        assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
        limited = httpx.get(f"{server.url}/articles")
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        assert httpx.get(f"{server.url}/healthz").status_code == 200
