"""Articles uploaded over HTTP: validated as a whole, then run through the ingest pipeline.

Validation comes first and is all-or-nothing, so a request with one bad file ingests nothing and
says which file is wrong. File names are only ever labels (the article's origin), never paths.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from service.errors import BadInput, TooLarge, UnsupportedType
from service.ingestion.pipeline import IngestPipeline, IngestReport
from service.ingestion.readers import (
    BODY_KEYS,
    SUPPORTED_SUFFIXES,
    RawDocument,
    Skipped,
    read_bytes,
    read_record,
)
from service.models import stable_hash

UPLOAD_PREFIX = "upload/"
_MAX_NAME = 200


@dataclass(frozen=True)
class UploadedFile:
    """A file as received: the client's name for it and its bytes."""

    name: str
    data: bytes


def safe_name(name: str) -> str:
    """The file name if it is a plain name; BadInput for paths, traversal, control characters."""
    if not name or len(name) > _MAX_NAME:
        raise BadInput(f"file name must be 1 to {_MAX_NAME} characters")
    if any(ord(c) < 32 or c in '/\\:*?"<>|' for c in name) or name.startswith(".") or ".." in name:
        raise BadInput(f"file name {name!r} is not a plain file name")
    if PurePosixPath(name).name != name:
        raise BadInput(f"file name {name!r} is not a plain file name")
    return name


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


class DocumentIntake:
    """Validates uploads and ingests them, one request at a time per process."""

    def __init__(self, pipeline: IngestPipeline, max_files: int, max_file_bytes: int) -> None:
        self._pipeline = pipeline
        self._max_files = max_files
        self._max_file_bytes = max_file_bytes
        # Uploads of the same article must not interleave their chunk writes and stale deletes.
        self._lock = threading.Lock()

    def ingest_files(self, files: Sequence[UploadedFile]) -> IngestReport:
        """Validate every file, then ingest them all; the report lists what became of each."""
        if not files:
            raise BadInput("no files: send one or more in the multipart field 'files'")
        if len(files) > self._max_files:
            raise TooLarge(f"{len(files)} files sent; at most {self._max_files} per request")
        documents: list[RawDocument | Skipped] = []
        names: set[str] = set()
        for upload in files:
            name = safe_name(upload.name)
            if name in names:
                raise BadInput(f"file {name!r} sent twice")
            names.add(name)
            if _suffix(name) not in SUPPORTED_SUFFIXES:
                accepted = ", ".join(sorted(SUPPORTED_SUFFIXES))
                raise UnsupportedType(
                    f"{name}: type {_suffix(name) or '(none)'} not accepted; use {accepted}"
                )
            if len(upload.data) > self._max_file_bytes:
                raise TooLarge(f"{name} is larger than the limit of {self._max_file_bytes} bytes")
            read = list(read_bytes(upload.data, _suffix(name), UPLOAD_PREFIX + name))
            unreadable = [d for d in read if isinstance(d, Skipped)]
            if unreadable and not any(isinstance(d, RawDocument) for d in read):
                raise BadInput(f"{name}: {unreadable[0].reason}")
            documents.extend(read)
        return self._run(documents)

    def ingest_records(self, records: Sequence[Mapping[str, Any]]) -> IngestReport:
        """Ingest articles given as JSON objects of fields (title, source, body, …)."""
        if not records:
            raise BadInput("no articles in the body")
        if len(records) > self._max_files:
            raise TooLarge(f"{len(records)} articles sent; at most {self._max_files} per request")
        documents: list[RawDocument | Skipped] = []
        for n, record in enumerate(records, start=1):
            if not isinstance(record, Mapping):
                raise BadInput(f"article {n} is not a JSON object")
            label = stable_hash(str(record.get("title", "")), _body_of(record))
            document = read_record(record, f"{UPLOAD_PREFIX}{label}")
            if isinstance(document, Skipped):
                raise BadInput(f"article {n}: {document.reason}")
            documents.append(document)
        return self._run(documents)

    def _run(self, documents: list[RawDocument | Skipped]) -> IngestReport:
        with self._lock:
            return self._pipeline.run_documents(documents)


def _body_of(record: Mapping[str, Any]) -> str:
    """The record's text under any of its accepted keys (any case), so records without a url are
    told apart by it. Unlike the reader's lookup it is not stripped: "body" and "text" records keep
    the labels (and so the ids) they always had."""
    lowered = {str(key).lower(): value for key, value in record.items()}
    return str(next((lowered[key] for key in BODY_KEYS if lowered.get(key)), ""))
