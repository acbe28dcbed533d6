"""Access control: an optional bearer API key (constant-time check) and a per-client rate limit."""

from __future__ import annotations

import hmac
import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.errors import error_response

# Reachable without a key: probes for orchestrators and the chat page's static files (the page
# asks for the key itself and sends it with every API call).
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/", "/favicon.ico"})
PUBLIC_PREFIXES = ("/ui/",)


def is_public(path: str) -> bool:
    """True for the paths that never need the API key."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


class ApiKeyMiddleware:
    """Rejects requests without ``Authorization: Bearer <key>`` (401), except public paths."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self._expected = f"Bearer {api_key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request if it carries the key."""
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"authorization").encode("latin-1")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        response = error_response(
            401, "unauthorized", "missing or wrong API key (Authorization: Bearer <key>)"
        )
        response.headers["www-authenticate"] = "Bearer"
        await response(scope, receive, send)


class RateLimitMiddleware:
    """A moving-window request limit per client (its API key, else its address); 429 beyond."""

    def __init__(self, app: ASGIApp, limit: str) -> None:
        self.app = app
        self._item: RateLimitItem = parse(limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def _client(self, scope: Scope) -> str:
        key = _header(scope, b"authorization")
        if key:
            return "key:" + key
        client = scope.get("client")
        return "addr:" + (client[0] if client else "unknown")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request unless its client is over the limit."""
        if scope["type"] != "http" or scope["path"] in ("/healthz", "/readyz"):
            await self.app(scope, receive, send)
            return
        client = self._client(scope)
        if self._limiter.hit(self._item, client):
            await self.app(scope, receive, send)
            return
        stats = self._limiter.get_window_stats(self._item, client)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        response = error_response(429, "rate_limited", f"rate limit of {self._item} exceeded; retry later")
        response.headers["retry-after"] = str(retry_after)
        await response(scope, receive, send)
