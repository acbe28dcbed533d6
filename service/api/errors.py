"""One error shape for every failure: ``{"error": {"code", "message"}}`` with the right status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import NewsragError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(
    status: int, code: str, message: str, fields: list[dict[str, str]] | None = None
) -> JSONResponse:
    """The JSON error response."""
    body: dict[str, object] = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return JSONResponse(status_code=status, content={"error": body})


def _field_name(location: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in location if p != "body"]
    return ".".join(parts) or "body"


async def on_newsrag_error(request: Request, exc: Exception) -> JSONResponse:
    """Errors the domain raised on purpose."""
    assert isinstance(exc, NewsragError)
    if exc.status_code >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc.message)
    return error_response(exc.status_code, exc.code, exc.message)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's request validation, reshaped; the message names the fields."""
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"field": _field_name(err.get("loc", ())), "message": str(err.get("msg", "invalid"))}
        for err in exc.errors()
    ]
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or "invalid request"
    return error_response(422, "validation_error", message, fields)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's HTTP errors (unknown route, wrong method, …)."""
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    response = error_response(exc.status_code, code, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Anything else: logged with its stack trace, never shown to the client."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal error; see the server log")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(NewsragError, on_newsrag_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)
