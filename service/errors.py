"""The error hierarchy of newsrag; the API maps each class to one HTTP status.

NewsragError                 500 internal_error (never raised on purpose)
├── BadInput                 422 bad_input
├── NotFound                 404 not_found
├── TooLarge                 413 too_large
├── UnsupportedType          415 unsupported_media_type
├── EmbedderMismatch         409 embedder_mismatch (the collection was built by another encoder)
├── BackendUnavailable       503 backend_unavailable (Chroma, Ollama, the embedder)
└── InvalidSettings          a RAG_ setting is invalid: the commands stop before they start
"""

from __future__ import annotations


class NewsragError(Exception):
    """Base of every error newsrag raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(NewsragError):
    """The request cannot be served as asked."""

    status_code = 422
    code = "bad_input"


class NotFound(NewsragError):
    """The named article (or other resource) does not exist."""

    status_code = 404
    code = "not_found"


class TooLarge(NewsragError):
    """A request, a file or a list in it is over its limit."""

    status_code = 413
    code = "too_large"


class UnsupportedType(NewsragError):
    """A file or body of a type newsrag does not read."""

    status_code = 415
    code = "unsupported_media_type"


class EmbedderMismatch(NewsragError):
    """The collection's vectors come from another encoder than the one configured.

    Vectors of two encoders (e.g. fp32 torch and int8 ONNX) are not comparable, so they must never
    be mixed in one collection: use another collection, or re-ingest with ``--reset``.
    """

    status_code = 409
    code = "embedder_mismatch"


class BackendUnavailable(NewsragError):
    """A dependency (Chroma, Ollama) did not answer."""

    status_code = 503
    code = "backend_unavailable"


class InvalidSettings(NewsragError):
    """A RAG_ setting (environment or .env) does not validate; the message names each variable."""

    code = "invalid_settings"
