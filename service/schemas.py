"""Request and response models of the HTTP API (no LlamaIndex or Chroma types leak out)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic import Strict as PydanticStrict

from service.ingestion.readers import RECORD_KEYS
from service.models import ArticleMeta, Filters, Passage
from service.temporal import TimeIntent


def _stripped(value: str) -> str:
    """The text without surrounding whitespace; whitespace alone is no text."""
    value = value.strip()
    if not value:
        raise ValueError("must contain more than whitespace")
    return value


# The length limits hold for the text as sent (what the OpenAPI schema states), then it is stripped.
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(_stripped)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_stripped)]


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_text(value: object) -> object:
    """Dates come as YYYY-MM-DD text: no Unix timestamps ("0"), datetimes or other shapes."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise ValueError("expected a date as text, YYYY-MM-DD")
    return date.fromisoformat(value)


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
Count = Annotated[int, PydanticStrict()]


class Strict(BaseModel):
    """Unknown fields are an error, so a typo never goes unnoticed."""

    model_config = ConfigDict(extra="forbid")


class FiltersIn(Strict):
    """Restrict retrieval by outlet, publication dates (inclusive) or article ids."""

    sources: list[Name] = Field(default_factory=list, max_length=50, description="Outlet names, any case.")
    published_after: IsoDate | None = Field(default=None, description="Earliest publication date, inclusive.")
    published_before: IsoDate | None = Field(default=None, description="Latest publication date, inclusive.")
    article_ids: list[Name] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.published_after and self.published_before and self.published_after > self.published_before:
            raise ValueError("published_after must not be later than published_before")
        return self

    def to_domain(self) -> Filters:
        """The domain filters."""
        return Filters(
            sources=tuple(self.sources),
            published_after=self.published_after,
            published_before=self.published_before,
            article_ids=tuple(self.article_ids),
        )


class SearchRequest(Strict):
    """A semantic search."""

    query: Text
    top_k: Count | None = Field(default=None, ge=1, le=50, description="Results wanted; default RAG_TOP_K.")
    filters: FiltersIn | None = None


class AskRequest(Strict):
    """A question to answer from the indexed articles."""

    question: Text
    top_k: Count | None = Field(default=None, ge=1, le=50, description="Passages to answer from.")
    filters: FiltersIn | None = None
    as_of: date | None = Field(
        default=None,
        description='Date that "last week", "yesterday" … count from; default: the newest indexed article.',
    )


class SummarizeRequest(Strict):
    """What to summarise: a topic, filters, given articles, or a combination (at least one)."""

    topic: Text | None = Field(default=None, description="Summarise the passages on this topic.")
    filters: FiltersIn | None = None
    article_ids: list[Name] = Field(
        default_factory=list, max_length=100, description="Articles to summarise."
    )
    max_sentences: int | None = Field(
        default=None, ge=1, le=30, description="Sentences wanted; default RAG_SUMMARY_MAX_SENTENCES."
    )

    @model_validator(mode="after")
    def _something_to_summarise(self) -> Self:
        if not (self.topic or self.article_ids or (self.filters and not self.filters.to_domain().is_empty)):
            raise ValueError("give a topic, filters or article_ids to summarise")
        return self


class TurnIn(Strict):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: Annotated[str, StringConstraints(max_length=20000)]


class AskStreamRequest(AskRequest):
    """A question, optionally following earlier turns of a conversation."""

    conversation: list[TurnIn] = Field(
        default_factory=list,
        max_length=50,
        description="Earlier messages, oldest first; a follow-up question is read in their context.",
    )


class ArticleOut(BaseModel):
    """An article's metadata; unknown fields are empty strings or null."""

    id: str
    title: str
    source: str
    author: str
    published: date | None
    origin: str

    @classmethod
    def of(cls, meta: ArticleMeta) -> ArticleOut:
        """From the domain record (its attributes of the same names)."""
        return cls.model_validate(meta, from_attributes=True)


class CopyOut(BaseModel):
    """A passage of another article that carries the same text as the result (wire copy)."""

    chunk_id: str
    article: ArticleOut

    @classmethod
    def of(cls, passage: Passage) -> CopyOut:
        """From the copying passage."""
        return cls(chunk_id=passage.chunk.id, article=ArticleOut.of(passage.chunk.article))


# The passages of other articles carrying a result's or a citation's text (wire copy).
AlsoIn = Annotated[
    list[CopyOut],
    Field(default_factory=list, description="Passages of other articles with the same text (wire copy)."),
]


class SearchResult(BaseModel):
    """One retrieved passage, with the other articles that carry the same text."""

    rank: int
    score: float
    chunk_id: str
    text: str
    article: ArticleOut
    also_in: AlsoIn

    @classmethod
    def of(cls, rank: int, passage: Passage, copies: Sequence[Passage] = ()) -> SearchResult:
        """From a retrieved passage and the passages of other articles that copy it."""
        chunk = passage.chunk
        return cls(
            rank=rank,
            score=round(passage.score, 6),
            chunk_id=chunk.id,
            text=chunk.text,
            article=ArticleOut.of(chunk.article),
            also_in=[CopyOut.of(c) for c in copies],
        )


class SearchResponse(BaseModel):
    """Passages best first."""

    results: list[SearchResult]


class CitationOut(BaseModel):
    """What an [n] in the answer refers to: the passage, the sentence quoted, and its article."""

    n: int
    chunk_id: str
    quote: str = Field(description="The sentence of the passage the claim rests on.")
    article: ArticleOut
    attribution: str = Field(default="", description='Outlet and date, e.g. "The National, 25 March 2025".')
    also_in: AlsoIn


class SentenceOut(BaseModel):
    """One sentence the generator wrote and the verdict of the citation check."""

    text: str = Field(description="The sentence as it appears in the answer, with its markers.")
    citations: list[int] = Field(description="Citation numbers that support it (empty when dropped).")
    supported: bool = Field(
        description="True when a cited passage supports it; false ones are not in answer."
    )
    score: float = Field(description="Support score of its best passage, 0..1.")


class TimeFrameOut(BaseModel):
    """How the question's time was read, so a client can show it and the user rephrase."""

    expression: str = Field(description='The words read as time, e.g. "last week" or "in March 2025".')
    published_after: date | None = Field(
        default=None, description="Answered from articles published on or after this day."
    )
    published_before: date | None = Field(
        default=None, description="Answered from articles published on or before this day."
    )
    newest_first: bool = Field(default=False, description='True for "latest"-style questions.')

    @classmethod
    def of(cls, intent: TimeIntent) -> TimeFrameOut:
        """From the domain record (its attributes of the same names)."""
        return cls.model_validate(intent, from_attributes=True)


class AskResponse(BaseModel):
    """An answer with citations; every [n] in ``answer`` has an entry in ``citations``."""

    answer: str
    citations: list[CitationOut]
    generator: str = Field(description="What wrote the answer: extractive, or ollama:<model>.")
    insufficient: bool = Field(description="True when the articles do not contain the answer.")
    degraded: bool = Field(default=False, description="True when the configured LLM failed.")
    reason: str | None = Field(default=None, description="Why the answer is degraded.")
    sentences: list[SentenceOut] = Field(
        default_factory=list,
        description="Every sentence written, with its verdict: supported ones form answer, in order.",
    )
    outlets_left_out: list[str] = Field(
        default_factory=list,
        description=(
            "Outlets the question names that the answer does not speak for: each has several articles "
            "on the story and none clearly matches the question. The answer comes from the named outlets "
            "whose article does, or, when none does, from the one article that best matches the question."
        ),
    )
    time_frame: TimeFrameOut | None = Field(
        default=None,
        description=(
            "How the question's time was read: the publication dates the answer was restricted to, and "
            "whether the newest passages came first. A month or year alone keeps articles from its first "
            'day on; "published in" it keeps that period. Null when the question names no time.'
        ),
    )


class ArticleListItem(ArticleOut):
    """An indexed article with its chunk count."""

    chunk_count: int


class ArticleList(BaseModel):
    """The indexed articles, newest first (one page of them when a limit is given)."""

    articles: list[ArticleListItem]
    total: int = Field(description="How many articles are indexed, on every page.")


class ChunkOut(BaseModel):
    """One stored passage of an article."""

    chunk_id: str
    index: int
    text: str


class ArticleDetail(ArticleListItem):
    """An article with its passages in reading order."""

    chunks: list[ChunkOut]


class Health(BaseModel):
    """Liveness."""

    status: str


class ErrorDetail(BaseModel):
    """What went wrong, for people and programs."""

    code: str
    message: str
    fields: list[dict[str, str]] | None = None


class ErrorResponse(BaseModel):
    """The one error shape of every failure."""

    error: ErrorDetail


class DependencyCheck(BaseModel):
    """One dependency's readiness."""

    ok: bool
    detail: str = Field(default="", description="Why it is not ready, or what was checked.")


class Readiness(BaseModel):
    """GET /readyz: each dependency, and the reasons when one is missing (then 503)."""

    status: Literal["ready", "unavailable"]
    chunks: int | None = Field(default=None, description="Chunks in the collection, when Chroma answers.")
    checks: dict[str, DependencyCheck] = Field(description="chroma, ollama and embedder.")
    reasons: list[str] = Field(default_factory=list, description="One line per missing dependency.")


class IngestedArticle(ArticleOut):
    """An article of an upload and what became of it."""

    status: str = Field(description="new, changed or unchanged")


class SkippedDocument(BaseModel):
    """Part of an upload that was not indexed, and why."""

    origin: str
    reason: str


class DocumentsResponse(BaseModel):
    """What an upload changed; its articles are searchable when this returns."""

    articles: list[IngestedArticle]
    skipped: list[SkippedDocument]
    chunks_written: int


class DeletedArticle(BaseModel):
    """The article removed from every index."""

    id: str
    chunks_deleted: int


class ArticleFields(BaseModel):
    """An article given as JSON to POST /documents; the ingest job's record aliases are accepted too."""

    model_config = ConfigDict(extra="allow")

    title: str | None = None
    source: str | None = None
    author: str | None = None
    published_at: str | None = Field(default=None, description="ISO date or date-time.")
    url: str | None = Field(default=None, description="Becomes the article's origin (and so its id).")
    body: str | None = Field(default=None, description="The article text (or `text` / `content`).")

    @model_validator(mode="after")
    def _aliases_are_text(self) -> Self:
        """An alias such as ``text`` or ``headline`` holds text too ("authors" may list names)."""
        for key, value in (self.model_extra or {}).items():
            name = key.lower()
            if name not in RECORD_KEYS or value is None or isinstance(value, str):
                continue
            if name == "authors" and isinstance(value, list) and all(isinstance(v, str) for v in value):
                continue
            expected = "a string or a list of strings" if name == "authors" else "a string"
            raise ValueError(f"{key} must be {expected}")
        return self
