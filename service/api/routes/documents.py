"""POST /documents (upload articles) and DELETE /articles/{id} (remove one from every index)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service.api.deps import IntakeDep, MetricsDep, StoreDep
from service.documents import UploadedFile
from service.errors import BadInput, NotFound, UnsupportedType
from service.ingestion.pipeline import IngestReport
from service.schemas import (
    ArticleFields,
    ArticleOut,
    DeletedArticle,
    DocumentsResponse,
    ErrorResponse,
    IngestedArticle,
    SkippedDocument,
)

router = APIRouter(tags=["documents"])

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                    "required": ["files"],
                }
            },
            "application/json": {
                "schema": {
                    "oneOf": [
                        ArticleFields.model_json_schema(),
                        {"type": "array", "items": ArticleFields.model_json_schema()},
                    ]
                }
            },
        },
    }
}


def _response(report: IngestReport) -> DocumentsResponse:
    status = {**dict.fromkeys(report.unchanged, "unchanged"), **dict.fromkeys(report.changed, "changed")}
    status.update(dict.fromkeys(report.new, "new"))
    return DocumentsResponse(
        articles=[
            IngestedArticle(**ArticleOut.of(meta).model_dump(), status=status.get(article_id, "unchanged"))
            for article_id, meta in report.articles.items()
        ],
        skipped=[SkippedDocument(origin=s.origin, reason=s.reason) for s in report.skipped],
        chunks_written=report.chunks_written,
    )


@router.post(
    "/documents",
    response_model=DocumentsResponse,
    openapi_extra=_UPLOAD_BODY,
    responses={415: {"model": ErrorResponse}},
)
async def upload_documents(request: Request, intake: IntakeDep, metrics: MetricsDep) -> DocumentsResponse:
    """Index uploaded articles (multipart files, or JSON article objects) through the ingest pipeline."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        async with request.form(max_files=10_000, max_fields=100) as form:
            files = []
            for value in form.getlist("files"):
                if not isinstance(value, UploadFile):
                    raise BadInput("field 'files' must hold files")
                files.append(UploadedFile(name=value.filename or "", data=await value.read()))
        report = await run_in_threadpool(intake.ingest_files, files)
    elif content_type == "application/json":
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise BadInput(f"body is not valid JSON: {exc}") from exc
        items = body if isinstance(body, list) else [body]
        try:
            records = [ArticleFields.model_validate(item).model_dump(exclude_none=True) for item in items]
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "body"
            raise BadInput(f"{where}: {first.get('msg', 'invalid')}") from exc
        report = await run_in_threadpool(intake.ingest_records, records)
    else:
        raise UnsupportedType("send multipart/form-data with 'files', or application/json article objects")
    for outcome in ("new", "changed", "unchanged"):
        metrics.count_ingest(outcome, len(getattr(report, outcome)))
    metrics.count_ingest("skipped", len(report.skipped))
    return _response(report)


@router.delete(
    "/articles/{article_id}", response_model=DeletedArticle, responses={404: {"model": ErrorResponse}}
)
def delete_article(article_id: str, store: StoreDep) -> DeletedArticle:
    """Remove an article from every index; 404 when there is no such article."""
    found = store.articles({"article_id": article_id}).get(article_id)
    if found is None:
        raise NotFound(f"no article with id {article_id!r}")
    store.delete_articles([article_id])
    return DeletedArticle(id=article_id, chunks_deleted=found.chunk_count)
