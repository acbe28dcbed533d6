"""The ingest pipeline: read → clean → decide new/changed/unchanged → chunk → embed → store → prune.

Crash safety: a changed article's new chunks are written, then its live pointer is switched to the
new version, then its stale chunks are deleted; the store marks an article complete only when all
chunks of one content version are present, so a run killed at any point is repaired by the next run
without duplicates, and readers never see a half-written article. Groups are written in order by
one writer thread while the next group is embedded, so this order holds as it did before.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from service.chunk_metadata import chunk_metadata
from service.embeddings import Embedder
from service.ingestion.chunking import chunk_article
from service.ingestion.cleaning import clean_document
from service.ingestion.readers import RawDocument, Skipped, iter_documents
from service.lexical import LexicalIndex, build_lexical_index
from service.models import Article, ArticleMeta, ArticleSummary, Chunk
from service.sentence_vectors import ChunkVectors, chunk_vectors
from service.settings import Settings
from service.store import ChunkStore

ProgressHook = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)


@dataclass
class IngestReport:
    """What one run did, for the end-of-run summary."""

    read: int = 0
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    articles: dict[str, ArticleMeta] = field(default_factory=dict)  # every article read, by id
    chunks_written: int = 0
    chunks_deleted: int = 0
    lexical_chunks: int = 0
    seconds: float = 0.0


@dataclass
class _Pending:
    """An article whose chunks must be (re)written, and the chunk ids it had before."""

    article: Article
    chunks: list[Chunk]
    stale_ids: list[str]


def _within(path: str, roots: Sequence[Path]) -> bool:
    """True when path is one of the roots or lies under one of them."""
    resolved = Path(path)
    return any(resolved == root or root in resolved.parents for root in roots)


class IngestPipeline:
    """Runs an ingest over paths into one store with one embedder."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        settings: Settings,
        lexical: LexicalIndex | None = None,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._settings = settings
        self._lexical = lexical or build_lexical_index(settings, store)

    def run(
        self,
        paths: Sequence[Path],
        *,
        prune: bool = False,
        reset: bool = False,
        progress: ProgressHook | None = None,
    ) -> IngestReport:
        """Ingest the paths; see the module docstring for the guarantees."""
        started = time.perf_counter()
        report = IngestReport()
        if reset:
            self._store.reset()
        indexed = self._store.articles()
        articles, files_read = self._read(paths, report)
        pending = self._plan(articles, indexed, report)
        self._write(pending, report, progress)
        if prune:
            self._prune(paths, articles, files_read, indexed, report)
        # Bring the BM25 snapshot in step now, so no query pays for it (others would resync anyway).
        report.lexical_chunks = len(self._lexical.sync())
        report.seconds = time.perf_counter() - started
        return report

    def run_documents(self, documents: Iterable[RawDocument | Skipped]) -> IngestReport:
        """Ingest documents already read (e.g. uploaded over HTTP); same guarantees as ``run``."""
        started = time.perf_counter()
        report = IngestReport()
        indexed = self._store.articles()
        articles, _ = self._clean(documents, report)
        self._write(self._plan(articles, indexed, report), report, None)
        # An upload is searchable when the call returns, even in a process that searched a moment ago.
        report.lexical_chunks = len(self._lexical.sync())
        report.seconds = time.perf_counter() - started
        return report

    def _read(self, paths: Sequence[Path], report: IngestReport) -> tuple[list[Article], set[str]]:
        """Read and clean every document; also return the files that could be read."""
        return self._clean(iter_documents(paths), report)

    def _clean(
        self, documents: Iterable[RawDocument | Skipped], report: IngestReport
    ) -> tuple[list[Article], set[str]]:
        """Clean every document; also return the files that could be read whole.

        A file with a part that could not be parsed (a JSONL line cut short) is not read whole: what
        that part held is unknown, so pruning leaves the file's articles alone.
        """
        articles: dict[str, Article] = {}
        files_read: set[str] = set()
        partly_read: set[str] = set()
        for item in documents:
            if isinstance(item, Skipped):
                report.skipped.append(item)
                if item.source_file:
                    partly_read.add(item.source_file)
                continue
            files_read.add(item.source_file)
            report.read += 1
            cleaned = clean_document(item)
            if isinstance(cleaned, Skipped):
                report.skipped.append(cleaned)
                continue
            if cleaned.meta.id in articles:
                report.skipped.append(Skipped(item.origin, "same origin read twice in this run"))
                continue
            articles[cleaned.meta.id] = cleaned
            report.articles[cleaned.meta.id] = cleaned.meta
        return list(articles.values()), files_read - partly_read

    def _plan(
        self, articles: Iterable[Article], indexed: dict[str, ArticleSummary], report: IngestReport
    ) -> list[_Pending]:
        """Sort articles into unchanged (skipped) and pending (new or changed)."""
        pending: list[_Pending] = []
        unchanged: dict[str, str] = {}
        size, overlap = self._settings.chunk_size, self._settings.chunk_overlap
        for article in articles:
            before = indexed.get(article.meta.id)
            if before and before.complete and before.content_hash == article.content_hash:
                report.unchanged.append(article.meta.id)
                unchanged[article.meta.id] = article.content_hash
                continue
            (report.changed if before else report.new).append(article.meta.id)
            chunks = chunk_article(article, size, overlap)
            new_ids = {c.id for c in chunks}
            stale = [cid for cid in (before.chunk_ids if before else []) if cid not in new_ids]
            pending.append(_Pending(article, chunks, stale))
        # Complete but not visible: a run killed between writing and publishing, or an older index.
        self._store.publish_missing(unchanged)
        return pending

    def _write(self, pending: list[_Pending], report: IngestReport, progress: ProgressHook | None) -> None:
        """Embed and store pending articles in batches; drop stale chunks once replaced.

        The next group is embedded while the previous one is written to Chroma (one writer thread,
        groups stored in order), so the encoder does not wait on the store.
        """
        total = sum(len(p.chunks) for p in pending)
        if progress:
            progress(0, total)
        done = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as writer:
            previous: Future[None] | None = None
            for group in self._groups(pending):
                embedded = self._embed(group)
                done += len(embedded.vectors)
                if progress:
                    progress(done, total)
                if previous is not None:
                    previous.result()  # a failed write stops the run before the next one
                previous = writer.submit(self._store_group, group, embedded, report)
            if previous is not None:
                previous.result()

    def _groups(self, pending: list[_Pending]) -> Iterator[list[_Pending]]:
        """Whole articles in groups of about four encoder batches of chunks."""
        batch_target = max(self._settings.embedding_batch_size * 4, 64)
        group: list[_Pending] = []
        for item in pending:
            group.append(item)
            if sum(len(p.chunks) for p in group) >= batch_target:
                yield group
                group = []
        if group:
            yield group

    def _embed(self, group: list[_Pending]) -> ChunkVectors:
        """The group's chunk vectors, in order, with their sentences' vectors: each distinct sentence
        is embedded once, and a chunk's vector is built from its header's and sentences' vectors
        (service.sentence_vectors)."""
        return chunk_vectors(self._embedder, [c for p in group for c in p.chunks])

    def _store_group(self, group: list[_Pending], embedded: ChunkVectors, report: IngestReport) -> None:
        """Upsert a group of articles' chunks (and sentence vectors), publish them, then delete their
        stale chunks."""
        chunks = [c for p in group for c in p.chunks]
        if chunks:
            metadatas = [
                chunk_metadata(c, p.article.content_hash, len(p.chunks), p.article.source_file)
                for p in group
                for c in p.chunks
            ]
            self._store.upsert(chunks, embedded.vectors, [c.text for c in chunks], metadatas)
            if embedded.sentences:
                self._store.sentence_vectors.put(chunks, embedded.sentences)
        self._store.publish({p.article.meta.id: p.article.content_hash for p in group if p.chunks})
        stale = [cid for p in group for cid in p.stale_ids]
        if stale:
            self._store.delete_chunks(stale)
        report.chunks_written += len(chunks)
        report.chunks_deleted += len(stale)

    def _prune(
        self,
        paths: Sequence[Path],
        articles: list[Article],
        files_read: set[str],
        indexed: dict[str, ArticleSummary],
        report: IngestReport,
    ) -> None:
        """Delete indexed articles from under the given paths that this run no longer saw.

        An article goes when its file is gone, or when its file was read and no longer holds it
        (a record removed from a JSON file). A file that exists but could not be read, or read only
        in part (a line it cannot parse), keeps its articles: nothing is lost to a read error.
        """
        roots = [p.resolve() for p in paths]
        seen = {a.meta.id for a in articles}
        gone = [
            article_id
            for article_id, summary in indexed.items()
            if article_id not in seen
            and summary.source_file
            and _within(summary.source_file, roots)
            and (summary.source_file in files_read or not os.path.exists(summary.source_file))
        ]
        if gone:
            self._store.delete_articles(gone)
            report.pruned.extend(gone)
            report.chunks_deleted += sum(indexed[a].chunk_count for a in gone)


def read_articles(paths: Sequence[Path]) -> list[Article | Skipped]:
    """Read and clean without touching any index (for inspection and tests)."""
    out: list[Article | Skipped] = []
    for item in iter_documents(paths):
        out.append(clean_document(item) if isinstance(item, RawDocument) else item)
    return out
