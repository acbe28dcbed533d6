"""The lexical (BM25) leg: a bm25s index over the same chunks as Chroma, persisted beside it.

The index is derived data. Chroma is the source of truth and carries a *generation* token in its
collection metadata that every write changes (see ``ChunkStore.generation``). A snapshot file
under ``RAG_DATA_DIR/lexical/`` holds each chunk's tokens, its sentences' tokens (for the sentence
re-sort, service.sentence_terms) and metadata, labelled with the
generation it reflects, and is written atomically (temp file + ``os.replace``). A process compares
the generation with its in-memory index at most every ``check_seconds``; when it moved (an ingest
in this or another process, or a Chroma server written by another host) it loads the newer
snapshot, or, failing that, syncs incrementally from Chroma: chunk ids are content-addressed, so
only unseen ids are fetched and tokenised and vanished ids are dropped. The BM25 matrix is then
rebuilt from the stored tokens (well under a second for ~10k chunks), never on a query that finds
the generation unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer
from numpy.typing import NDArray

from service.chunk_metadata import article_meta_from, day_number
from service.memo import remembered
from service.models import Chunk, Filters, indexed_text
from service.name_variants import NameVariants, fold
from service.sentence_terms import SentenceTerms
from service.sentences import split_sentences
from service.settings import Settings
from service.store import ChunkStore

log = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG, which prints "Building index from tokens" on every (re)build.
logging.getLogger("bm25s").setLevel(logging.WARNING)

_SNAPSHOT_VERSION = 3  # 3: records carry their sentences' tokens (one string each)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
# bm25s's English list, plus the auxiliaries and question words every question is made of.
_QUESTION_WORDS = (
    "what which who whom whose when where why how did does do has have had was were is are been "
    "being would could should can will may might about also than then there their its"
)
_STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN) | frozenset(_QUESTION_WORDS.split())
_STEMMER = Stemmer.Stemmer("english")
# Lucene's BM25 with k1 = 1.2 (measured slightly better than bm25s's 1.5 on MultiHop-RAG).
_K1, _B = 1.2, 0.75
_MASKS_KEPT = 256  # filter masks remembered per snapshot


def _words(text: str) -> list[str]:
    """Words of the text with possessive 's dropped and inner apostrophes removed (Qa'ani → Qaani)."""
    out: list[str] = []
    for word in _WORD.findall(text):
        if word[-2:] in ("'s", "’s"):
            word = word[:-2]
        out.append(word.replace("'", "").replace("’", ""))
    return out


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, Snowball-stemmed tokens."""
    words = [w.casefold() for w in _words(text)]
    return list(_STEMMER.stemWords([w for w in words if w and w not in _STOPWORDS]))


def capitalised_words(text: str) -> list[str]:
    """Capitalised words of the text, as written (candidate names; service.feedback)."""
    return [w for w in _words(text) if w[:1].isupper()]


def capitalised_names(text: str) -> list[str]:
    """Capitalised words of the text (candidate proper names), folded, at least five letters."""
    return [folded for folded in map(fold, capitalised_words(text)) if len(folded) >= 5]


@dataclass(frozen=True)
class LexicalRecord:
    """One chunk as the lexical index holds it."""

    chunk_id: str
    metadata: dict[str, Any]
    text: str
    tokens: list[str]
    names: list[str]
    # Each sentence of the text (``split_sentences``) on a line of its own: its distinct tokens,
    # space-separated. One string, not lists of strings: 6,835 chunks' worth of lists took ~60 MB.
    sentences: str

    def chunk(self) -> Chunk:
        """The chunk the record describes."""
        meta = self.metadata
        return Chunk(
            id=self.chunk_id,
            article=article_meta_from(meta),
            index=int(meta.get("chunk_index", 0)),
            text=self.text,
        )


def make_record(chunk_id: str, metadata: dict[str, Any], text: str) -> LexicalRecord:
    """Tokenise a stored chunk (header with title/outlet/date, then text) for the index."""
    full = indexed_text(
        Chunk(chunk_id, article_meta_from(metadata), int(metadata.get("chunk_index", 0)), text)
    )
    names = sorted(set(capitalised_names(full)))
    sentences = "\n".join(" ".join(sorted(set(tokenize(sentence)))) for sentence in split_sentences(text))
    return LexicalRecord(chunk_id, metadata, text, tokenize(full), names, sentences)


class LexicalSnapshot:
    """An immutable BM25 index over a set of records, with the metadata filters need."""

    def __init__(self, records: Sequence[LexicalRecord], generation: str) -> None:
        self.records = list(records)
        self.generation = generation
        self.chunks = [r.chunk() for r in self.records]
        self.article_ids = np.array(
            [str(r.metadata.get("article_id", "")) for r in self.records], dtype=object
        )
        self.source_keys = np.array(
            [str(r.metadata.get("source_key", "")) for r in self.records], dtype=object
        )
        # Integer codes of the two text columns: filtering compares small ints, not strings.
        self._source_codes, self._source_index = _codes(self.source_keys)
        self._article_codes, self._article_index = _codes(self.article_ids)
        self._masks: dict[Filters, NDArray[np.bool_]] = {}
        self.days = np.array([int(r.metadata.get("published_day", 0)) for r in self.records], dtype=np.int64)
        self._positions = {r.chunk_id: i for i, r in enumerate(self.records)}
        self.names = NameVariants(n for r in self.records for n in r.names)
        self._bm25 = bm25s.BM25(k1=_K1, b=_B)
        if self.records:
            self._bm25.index([r.tokens or [""] for r in self.records], show_progress=False)

    def __len__(self) -> int:
        return len(self.records)

    def mask(self, filters: Filters) -> NDArray[np.bool_] | None:
        """Which chunks pass the filters (None when nothing is restricted); remembered per filter.

        A search asks for the same few masks many times (each leg, each clause), and the snapshot
        never changes, so each is computed once. The returned array must not be modified.
        """
        if filters.is_empty:
            return None
        return remembered(self._masks, filters, self._compute_mask, _MASKS_KEPT)

    def _compute_mask(self, filters: Filters) -> NDArray[np.bool_]:
        """The filters' mask, computed."""
        keep = np.ones(len(self.records), dtype=bool)
        if filters.sources:
            keep &= _among(self._source_codes, self._source_index, (s.casefold() for s in filters.sources))
        if filters.article_ids:
            keep &= _among(self._article_codes, self._article_index, filters.article_ids)
        if filters.published_after:
            keep &= self.days >= day_number(filters.published_after)
        if filters.published_before:
            keep &= (self.days <= day_number(filters.published_before)) & (self.days > 0)
        keep.flags.writeable = False
        return keep

    def query_tokens(self, query: str, name_variants: bool = True) -> list[str]:
        """The query's tokens, plus corpus spellings of the names it contains when asked."""
        tokens = tokenize(query)
        if name_variants:
            for name in capitalised_names(query):
                tokens.extend(_STEMMER.stemWords(self.names.variants(name)))
        return tokens

    def scores(self, query: str, filters: Filters, name_variants: bool = True) -> NDArray[np.float64] | None:
        """BM25 score of every chunk (0 outside the filters); None when nothing passes the filters."""
        if not self.records:
            return None
        mask = self.mask(filters)
        if mask is not None and not mask.any():
            return None
        tokens = self.query_tokens(query, name_variants)
        if not tokens:  # only stop words or symbols: nothing for BM25 to match
            return np.zeros(len(self.records), dtype=np.float64)
        scores = self._bm25.get_scores(tokens).astype(np.float64)
        return np.where(mask, scores, 0.0) if mask is not None else scores

    def idf(self, term: str) -> float:
        """BM25's (Lucene's) inverse document frequency of a stemmed term over the snapshot's chunks."""
        found = self._document_frequency.get(term, 0)
        return float(np.log(1.0 + (len(self.records) - found + 0.5) / (found + 0.5)))

    @cached_property
    def sentence_terms(self) -> SentenceTerms:
        """Every chunk's sentences' terms, by position (built on first use, once per snapshot)."""
        return SentenceTerms(
            [line.split() for line in r.sentences.split("\n")] if r.sentences else [] for r in self.records
        )

    @cached_property
    def _document_frequency(self) -> Counter[str]:
        """How many chunks hold each term (counted on first use, once per snapshot)."""
        counts: Counter[str] = Counter()
        for record in self.records:
            counts.update(set(record.tokens))
        return counts

    @cached_property
    def outlet_terms(self) -> frozenset[str]:
        """The terms of the outlets' names in the snapshot (never a name to feed back)."""
        return frozenset(t for source in self.values("source") for t in tokenize(source))

    def position(self, chunk_id: str) -> int | None:
        """Where a chunk sits in the snapshot (None when it is not in it)."""
        return self._positions.get(chunk_id)

    def search(
        self, query: str, k: int, filters: Filters, name_variants: bool = True
    ) -> list[tuple[Chunk, float]]:
        """The k best chunks by BM25 within the filters (chunks scoring 0 are left out)."""
        scores = self.scores(query, filters, name_variants)
        if scores is None or k <= 0:
            return []
        return [(self.chunks[i], float(scores[i])) for i in top_positions(scores, k)]

    def values(self, field: str) -> set[str]:
        """Distinct non-empty values of a metadata field (outlets, authors, dates in the index)."""
        return {str(r.metadata.get(field) or "") for r in self.records} - {""}


def _codes(values: NDArray[Any]) -> tuple[NDArray[np.int64], dict[str, int]]:
    """Each value's integer code, and the code of each distinct value."""
    distinct, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64), {str(v): i for i, v in enumerate(distinct)}


def _among(codes: NDArray[np.int64], index: dict[str, int], wanted: Iterable[str]) -> NDArray[np.bool_]:
    """Which rows hold one of the wanted values (given as text)."""
    known = [index[w] for w in wanted if w in index]
    return np.isin(codes, known) if known else np.zeros(len(codes), dtype=bool)


def top_positions(scores: NDArray[np.float64], k: int) -> list[int]:
    """Positions of the k highest positive scores, best first."""
    k = min(k, len(scores))
    if k <= 0:
        return []
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [int(i) for i in top if scores[i] > 0]


def _save(path: Path, snapshot: LexicalSnapshot, collection: str) -> None:
    """Write the snapshot atomically: a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "version": _SNAPSHOT_VERSION,
        "collection": collection,
        "generation": snapshot.generation,
        "records": [
            {
                "id": r.chunk_id,
                "meta": r.metadata,
                "text": r.text,
                "tokens": r.tokens,
                "names": r.names,
                "sentences": r.sentences,
            }
            for r in snapshot.records
        ],
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(payload, out, ensure_ascii=False)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; other service users must read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load(path: Path, collection: str) -> LexicalSnapshot | None:
    """The snapshot on disk, or None when missing, unreadable or of another collection."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("version") != _SNAPSHOT_VERSION or payload.get("collection") != collection:
            return None
        records = [
            LexicalRecord(
                r["id"], r["meta"], r["text"], list(r["tokens"]), list(r["names"]), str(r["sentences"])
            )
            for r in payload["records"]
        ]
        return LexicalSnapshot(records, str(payload["generation"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class LexicalIndex:
    """Keeps a BM25 snapshot in step with the chunk store, within and across processes."""

    def __init__(self, store: ChunkStore, path: Path, check_seconds: float = 1.0) -> None:
        self._store = store
        self._path = path
        self._check_seconds = check_seconds
        self._snapshot: LexicalSnapshot | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """Where the snapshot is persisted."""
        return self._path

    def current(self) -> LexicalSnapshot:
        """The snapshot, re-checked against the store's generation at most every check_seconds."""
        snapshot = self._snapshot
        if snapshot is not None and time.monotonic() - self._checked_at < self._check_seconds:
            return snapshot
        return self.sync()

    def sync(self) -> LexicalSnapshot:
        """Bring the snapshot up to the store's current generation (cheap when already there)."""
        with self._lock:
            generation = self._store.generation()
            self._checked_at = time.monotonic()
            if self._snapshot is not None and self._snapshot.generation == generation:
                return self._snapshot
            on_disk = _load(self._path, self._store.collection_name)
            if on_disk is not None and on_disk.generation == generation:
                self._snapshot = on_disk
                return on_disk
            base = self._snapshot or on_disk
            started = time.perf_counter()
            snapshot = self._rebuild(generation, base.records if base else [])
            _save(self._path, snapshot, self._store.collection_name)
            log.info("lexical index synced: %d chunks in %.2fs", len(snapshot), time.perf_counter() - started)
            self._snapshot = snapshot
            return snapshot

    def _rebuild(self, generation: str, known: Iterable[LexicalRecord]) -> LexicalSnapshot:
        """A snapshot of the store's chunks, reusing the records of ids already tokenised."""
        by_id = {r.chunk_id: r for r in known}
        ids = self._store.ids()
        missing = [cid for cid in ids if cid not in by_id]
        for chunk_id, metadata, document in self._store.records_for(missing):
            by_id[chunk_id] = make_record(chunk_id, metadata, document)
        return LexicalSnapshot([by_id[cid] for cid in ids if cid in by_id], generation)


def lexical_path(data_dir: Path, collection: str) -> Path:
    """Where a collection's lexical snapshot lives under the data dir."""
    return data_dir / "lexical" / f"{collection}.json"


def build_lexical_index(settings: Settings, store: ChunkStore) -> LexicalIndex:
    """The lexical index of the store's collection, persisted under the data dir."""
    path = lexical_path(settings.data_dir, store.collection_name)
    return LexicalIndex(store, path, settings.retrieval.lexical_check_seconds)
