"""Retrieval: find the passages that best match a query, within filters.

Hybrid by default. Each *retrieval* runs the dense leg (Chroma) and the lexical leg (BM25, with
transliterated name variants) under the same filters and adds their scores, each scaled to
[0, 1] over the candidates, with the configured weights.
A question of several clauses ("Did the TechCrunch report … and the Verge article …") also has
each clause scored by BM25 alone, and a passage's best clause score is added with its own weight.
One retrieval covers the whole query; when the query names outlets or dates the index knows
("the TechCrunch report from October 31"), one more runs per named outlet, per named date and per
outlet-and-date pair, restricted to it, so each named source brings its best passages. All lists
are merged by their scores again (each list scaled by its best); for a question asking for a name,
the names the leading articles share score the merged passages by BM25 and that list is merged in
too (``feedback_weight``; service.feedback). The head of that ranking is re-sorted
by its passages' best sentences: the cosine of the sentence closest to one clause (``sentence_weight``;
the sentence vectors ingest stored) and the share of one piece of the question one sentence holds in
idf-weighted terms (``sentence_term_weight``; service.sentence_terms), and, when a cross-encoder
is configured, its score for each of the first passages (``reranker_weight``, ``reranker_depth``;
service.reranker). The ranking is then spread
across articles (at most ``max_per_article`` passages of one article before every other article had
its turn). Last, for each named outlet whose own best article clearly leads its next
(``source_margin``), that article's first passage in the ranking goes first. Each named outlet's
ranking is returned with the passages (``Retrieval.outlets``), so answers can tell which article
the question means; answers that re-sort those rankings also get the article leading the re-sorted
merged ranking (``Retrieval.leader``), for when no named outlet is confident.

Every retrieval scores the stored vectors held in memory (service.vectors; Chroma is queried only
when they cannot be read) and reuses the query's BM25 scores, so a search makes one Chroma read:
which chunks are live.

A passage's ``score`` is its cosine similarity to the query (what the answering threshold reads);
the order is the fused order. How lists are merged and re-ordered lives in service.ranking, the
search's BM25 scores in service.query_scores; this module decides what is retrieved and ranked.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from numpy.typing import NDArray

from service.embeddings import Embedder
from service.feedback import FEEDBACK_PASSAGES, asks_for_name, feedback_names
from service.lexical import LexicalIndex, LexicalSnapshot, tokenize, top_positions
from service.models import Chunk, Filters, Passage
from service.query_analysis import NamedOutlet, QueryAnalysis, QueryAnalyzer, narrow, question_pieces
from service.query_scores import QueryScores, clause_scores
from service.ranking import (
    OutletRanking,
    Ranked,
    Scored,
    confident_outlets,
    diversify,
    fused_scores,
    lead_with_confident,
    rerank_by_sentences,
    resort_head,
)
from service.reranker import QueryReranking, Reranker
from service.sentence_terms import PieceWeights
from service.sentence_vectors import chunk_vectors
from service.settings import RetrievalSettings
from service.store import ChunkStore
from service.vectors import QueryVectors, VectorCache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Analyzed:
    """A snapshot's query analyzer, cached per snapshot generation."""

    generation: str
    analyzer: QueryAnalyzer


@dataclass(frozen=True)
class OutletArticle:
    """The article a confident named outlet is meant by: its passages readers may see, in the
    outlet's ranking order, and how far it leads the outlet's next article (``OutletRanking.margin``)."""

    outlet: NamedOutlet
    passages: list[Passage]
    margin: float = 1.0


@dataclass(frozen=True)
class Retrieval:
    """A search's passages, each named outlet's own ranking, and the confident outlets' articles.

    ``confident``: for each named outlet whose best article leads its next by ``source_margin``
    (the most confident first), that article. ``leader``: when the named outlets' rankings were
    re-sorted (``Retriever.retrieve(resort_outlets=True)``) and the question names one, the passages
    readers may see of the article leading the merged ranking once re-sorted by sentences, as
    ``/search`` leads but against the whole question's vector (``Retriever._leading_article``), in
    that order; else none.
    """

    passages: list[Passage]
    outlets: list[OutletRanking] = field(default_factory=list)
    confident: list[OutletArticle] = field(default_factory=list)
    leader: list[Passage] = field(default_factory=list)


class Retriever:
    """Hybrid (dense + BM25) retrieval over the chunk store, aware of named outlets and dates."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        lexical: LexicalIndex | None = None,
        settings: RetrievalSettings | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._lexical = lexical
        self._settings = settings or RetrievalSettings()
        self._reranker = reranker
        self._analyzed: _Analyzed | None = None
        self._vectors = VectorCache(store)
        self._warmed = ""  # the snapshot generation whose sentence vectors were read into the cache

    @property
    def embedder(self) -> Embedder:
        """The encoder queries are embedded with."""
        return self._embedder

    @property
    def settings(self) -> RetrievalSettings:
        """How the legs are combined."""
        return self._settings

    def search(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        """The top_k passages for the query, best first."""
        return self.retrieve(query, top_k, filters).passages

    def retrieve(
        self,
        query: str,
        top_k: int,
        filters: Filters | None = None,
        resort: bool = True,
        resort_outlets: bool = False,
    ) -> Retrieval:
        """The top_k passages for the query, best first, with each named outlet's own ranking.

        ``resort=False`` skips the sentence re-sort of the merged ranking, and ``resort_outlets``
        re-sorts each named outlet's own ranking by its passages' best sentences instead (cosine to
        the whole question's vector, and sentence terms), which then decides the outlet's best
        article and how clearly it leads. That is what answers ask for:
        measured on MultiHop-RAG, re-sorting the merged ranking made their citations less precise,
        re-sorting the outlets' rankings more precise, and the reverse holds for ``/search`` (see
        README). With ``resort_outlets`` and a named outlet, the article ``/search`` would lead with
        comes back too (``Retrieval.leader``), for answers whose named outlets are none confident.
        """
        filters = filters or Filters()
        if top_k <= 0:
            return Retrieval([], [])
        mode = self._settings.mode if self._lexical is not None else "dense"
        snapshot = self._lexical.current() if self._lexical is not None and mode != "dense" else None
        hybrid = snapshot is not None and mode == "hybrid"
        analysis = self._analyzer(snapshot).analyze(query) if hybrid and snapshot else QueryAnalysis()
        weights = self._settings
        reranker = self._reranker if hybrid and weights.reranker_weight > 0 else None
        rerank = QueryReranking(reranker, query) if reranker is not None else None
        sorting = (
            hybrid
            and resort
            and (weights.sentence_weight > 0 or weights.sentence_term_weight > 0 or rerank is not None)
        )
        by_vectors = sorting and weights.sentence_weight > 0
        vector, clause_vectors = self._query_vectors(query, analysis.clauses if by_vectors else [])
        # named outlets' rankings are re-sorted only when the question names an outlet
        by_outlet = resort_outlets and bool(analysis.outlets)
        by_terms = hybrid and (sorting or by_outlet) and weights.sentence_term_weight > 0
        pieces = self._piece_weights(query, analysis, snapshot) if by_terms and snapshot else []
        # an outlet's ranking is re-sorted by the whole question's vector: answers embed no clauses
        outlet_texts = vector[None, :] if by_outlet and weights.sentence_weight > 0 else None
        clauses = analysis.clauses if self._settings.clause_weight > 0 else []
        held = self._vectors.of(snapshot) if snapshot is not None else None
        vectors = held.for_query(vector) if held is not None else None
        bm25 = QueryScores(snapshot, self._settings.name_variants) if snapshot is not None else None
        lists: list[tuple[Scored, float]] = [
            (self._retrieve(query, clauses, vector, bm25, filters, mode, vectors), 1.0)
        ]
        outlets: list[OutletRanking] = []
        plain: list[OutletRanking] = []  # the outlets' rankings as merged, for the leader
        if hybrid:
            for extra, outlet in self._named_filters(analysis):
                narrowed = narrow(filters, extra)
                if narrowed is None or (outlet is None and self._settings.named_source_weight <= 0):
                    continue
                # scored in memory: no Chroma query per named source
                scored = self._retrieve(query, clauses, vector, bm25, narrowed, mode, vectors)
                if outlet is not None:
                    plain.append(OutletRanking(outlet, scored))
                    ranking = self._outlet_ranking(
                        outlet, scored, resort_outlets, pieces, outlet_texts, snapshot, rerank
                    )
                    outlets.append(ranking)
                if self._settings.named_source_weight > 0:
                    lists.append((scored, self._settings.named_source_weight))
        fused = fused_scores(lists)
        if hybrid and bm25 is not None and self._settings.feedback_weight > 0 and asks_for_name(query):
            fused = self._with_feedback(query, fused, lists, bm25, filters)
        ranked = [chunk for chunk, _ in fused]
        confident: list[OutletRanking] = []
        lead: Ranked = []
        if mode == "hybrid":  # a leg alone stays plain: it is the benchmark's baseline
            if sorting and snapshot is not None:
                texts = clause_vectors if clause_vectors is not None else vector[None, :]
                ranked = self._by_sentences(fused, texts, pieces, snapshot, rerank)
            ranked = diversify(ranked, self._settings.max_per_article)
            confident = confident_outlets(outlets, self._settings.source_margin)
            ranked = lead_with_confident(ranked, confident)
            if by_outlet and snapshot is not None:
                lead = self._leading_article(fused, outlet_texts, pieces, snapshot, plain, rerank)
        best = list(dict.fromkeys(r.articles[0][0] for r in confident))
        own = [c for r in confident for c, _ in r.scored if c.article.id in best]
        # whole articles only (service.live_versions); one pointer read covers these articles too
        chosen, own = self._visible_top(ranked, top_k, list({c.id: c for c in [*own, *lead]}.values()))
        passages = self._with_similarity([*chosen, *own], vector, vectors)
        found = {p.chunk.id: p for p in passages[len(chosen) :]}
        articles = [
            OutletArticle(
                r.outlet, [p for p in found.values() if p.chunk.article.id == r.articles[0][0]], r.margin
            )
            for r in confident
        ]
        leader = [found[c.id] for c in lead if c.id in found]
        return Retrieval(passages[: len(chosen)], outlets, [a for a in articles if a.passages], leader)

    def analyze(self, query: str) -> QueryAnalysis:
        """What the query names among the index's outlets, authors and dates."""
        if self._lexical is None:
            return QueryAnalysis()
        return self._analyzer(self._lexical.current()).analyze(query)

    def _retrieve(
        self,
        query: str,
        clauses: list[str],
        vector: NDArray[np.float32],
        bm25: QueryScores | None,
        filters: Filters,
        mode: str,
        vectors: QueryVectors | None = None,
    ) -> Scored:
        """One scored ranking of candidates from the legs the mode uses, under the filters.

        The dense leg comes from the in-memory vectors when given (exact, no Chroma round-trip),
        else from a Chroma query; BM25 scores of the query and its clauses are computed once per
        search and masked per filter.
        """
        n = self._settings.candidates
        dense: list[Passage] = []
        if mode in ("hybrid", "dense"):
            dense = vectors.nearest(n, filters) if vectors else self._store.query(vector, n, filters)
        if mode == "dense" or bm25 is None:
            return [(p.chunk, p.score) for p in dense]
        lexical = bm25.scores(query, filters)
        if lexical is None:
            return []
        lexical_top = top_positions(lexical, n)
        if mode == "lexical":
            return [(bm25.snapshot.chunks[i], float(lexical[i])) for i in lexical_top]
        best_clause = clause_scores(bm25, clauses, filters)
        return self._combine(dense, lexical, lexical_top, bm25.snapshot, best_clause)

    def _combine(
        self,
        dense: list[Passage],
        lexical: NDArray[np.float64],
        lexical_top: list[int],
        snapshot: LexicalSnapshot,
        best_clause: NDArray[np.float64] | None,
    ) -> Scored:
        """Weighted sum of the legs' scores, each scaled to [0, 1] over the candidates.

        Scores carry more than ranks: measured on MultiHop-RAG this beats reciprocal rank fusion,
        which flattens BM25's confident wins. A candidate missing from the dense top-n gets the
        lowest dense score seen (an upper bound of its own, scaled to 0). For a question of several
        clauses, ``clause_weight`` times the chunk's best single-clause BM25 score (scaled) is added,
        so a passage that answers one clause well is not beaten by passages loosely matching all.
        """
        candidates: dict[str, Chunk] = {p.chunk.id: p.chunk for p in dense}
        clause_top = top_positions(best_clause, self._settings.candidates) if best_clause is not None else []
        for i in [*lexical_top, *clause_top]:
            candidates.setdefault(snapshot.chunks[i].id, snapshot.chunks[i])
        cosine = {p.chunk.id: p.score for p in dense}
        low = min(cosine.values(), default=0.0)
        spread = (max(cosine.values(), default=0.0) - low) or 1.0
        top_lexical = float(lexical.max()) or 1.0
        weights = self._settings

        def combined(chunk_id: str) -> float:
            position = snapshot.position(chunk_id)
            bm25 = float(lexical[position]) if position is not None else 0.0
            dense_part = (cosine.get(chunk_id, low) - low) / spread
            clause = float(best_clause[position]) if best_clause is not None and position is not None else 0.0
            return (
                weights.lexical_weight * bm25 / top_lexical
                + weights.dense_weight * dense_part
                + weights.clause_weight * clause
            )

        scored = [(chunk, combined(cid)) for cid, chunk in candidates.items()]
        return sorted(scored, key=lambda item: -item[1])

    def _with_feedback(
        self,
        query: str,
        fused: Scored,
        lists: list[tuple[Scored, float]],
        bm25: QueryScores,
        filters: Filters,
    ) -> Scored:
        """The lists fused again with one more: the fused candidates by BM25 of the names the leading
        articles share (service.feedback), at ``feedback_weight``; ``fused`` when none is shared."""
        snapshot = bm25.snapshot
        settings = self._settings
        head = [chunk for chunk, _ in fused[:FEEDBACK_PASSAGES]]
        names = feedback_names(
            query,
            head,
            snapshot.idf,
            snapshot.outlet_terms,
            settings.feedback_articles,
            settings.feedback_terms,
        )
        scores = bm25.scores(" ".join(names), filters) if names else None
        if scores is None:
            return fused
        log.debug("name feedback for %r: %s", query, names)
        by_names = [
            (chunk, float(scores[position]))
            for chunk, _ in fused
            if (position := snapshot.position(chunk.id)) is not None
        ]
        by_names.sort(key=lambda item: -item[1])
        return fused_scores([*lists, (by_names, settings.feedback_weight)])

    def _query_vectors(
        self, query: str, clauses: Sequence[str]
    ) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
        """The query's vector, and its clauses' vectors when the sentence re-sort needs them.

        For the re-sort a question of several clauses is embedded clause by clause, and its vector is
        their unit mean weighted by words, as a chunk's vector is built from its sentences': the
        clauses are encoded, not the question as well. On MultiHop-RAG this retrieves as well as
        embedding the whole question. One clause per call: a batch pads every clause to the longest,
        which measured slower on CPU (9.2 against 8.4 ms a question). Without the re-sort (answers)
        the whole question is embedded: one encoding, which the extractive answer reuses.
        """
        if len(clauses) < 2:
            return self._embedder.embed([query])[0], None
        rows = np.vstack([self._embedder.embed([clause]) for clause in clauses])
        weights = np.array([max(len(c.split()), 1) for c in clauses], dtype=np.float32)
        mean = weights @ rows
        return (mean / (float(np.linalg.norm(mean)) or 1.0)).astype(np.float32), rows

    @staticmethod
    def _piece_weights(query: str, analysis: QueryAnalysis, snapshot: LexicalSnapshot) -> list[PieceWeights]:
        """The pieces of the question (``question_pieces``), each as its terms' BM25 idf."""
        return [
            {term: snapshot.idf(term) for term in set(tokenize(piece))}
            for piece in question_pieces(query, analysis.clauses)
        ]

    def _outlet_ranking(
        self,
        outlet: NamedOutlet,
        scored: Scored,
        resort: bool,
        pieces: Sequence[PieceWeights],
        texts: NDArray[np.float32] | None,
        snapshot: LexicalSnapshot | None,
        rerank: QueryReranking | None = None,
    ) -> OutletRanking:
        """A named outlet's ranking: as scored, or, when ``resort``, with its head re-sorted by its
        passages' best sentences (``_sentence_bonus``: the cosine to ``texts``, the pieces' terms, the
        cross-encoder's score)."""
        if not resort or snapshot is None or (not pieces and texts is None and rerank is None):
            return OutletRanking(outlet, scored)
        depth = self._settings.sentence_depth
        bonus = self._sentence_bonus(scored[:depth], texts, pieces, snapshot, rerank)
        return OutletRanking(outlet, resort_head(scored, bonus, depth))

    def _leading_article(
        self,
        fused: Scored,
        texts: NDArray[np.float32] | None,
        pieces: Sequence[PieceWeights],
        snapshot: LexicalSnapshot,
        outlets: Sequence[OutletRanking],
        rerank: QueryReranking | None = None,
    ) -> Ranked:
        """The chunks of the article leading the merged ranking as ``/search`` orders its head: re-sorted
        by its passages' best sentences (``_sentence_bonus``, against ``texts``: the whole question's
        vector, which answers embed), then the best article of each named outlet confident in its
        ranking as merged (``outlets``) first. In that order; none when nothing was found.

        Measured on MultiHop-RAG, when no named outlet is confident this article is an evidence article
        more often than any named outlet's best (see README, "Benchmarks").
        """
        ranked = self._by_sentences(fused, texts, pieces, snapshot, rerank)
        ranked = lead_with_confident(ranked, confident_outlets(outlets, self._settings.source_margin))
        if not ranked:
            return []
        article = ranked[0].article.id
        return [c for c in ranked if c.article.id == article]

    def _by_sentences(
        self,
        fused: Scored,
        texts: NDArray[np.float32] | None,
        pieces: Sequence[PieceWeights],
        snapshot: LexicalSnapshot,
        rerank: QueryReranking | None = None,
    ) -> Ranked:
        """The fused ranking with its head re-sorted by its passages' best sentences
        (``_sentence_bonus``, ``rerank_by_sentences``; ``texts`` None leaves the cosine part out)."""
        depth = self._settings.sentence_depth
        bonus = self._sentence_bonus(fused[:depth], texts, pieces, snapshot, rerank)
        return rerank_by_sentences(fused, bonus, depth)

    def _sentence_bonus(
        self,
        head: Scored,
        texts: NDArray[np.float32] | None,
        pieces: Sequence[PieceWeights],
        snapshot: LexicalSnapshot,
        rerank: QueryReranking | None = None,
    ) -> dict[str, float]:
        """What each passage of the head gains from its best sentences, and from the cross-encoder.

        ``sentence_weight`` × the cosine similarity of its sentence closest to one clause (``texts``:
        the clauses' vectors, or the question's; None leaves this part out), read from the sentence
        vectors ingest stored, and ``sentence_term_weight`` × the largest share of one piece of the
        question (``pieces``: each piece's terms with their BM25 idf, ``_piece_weights``) that one of
        its sentences holds (service.sentence_terms). The cosine part is left out when a passage of
        the head has no stored sentence vectors (an index written before they were stored): a
        partial signal would rank unevenly. The first cosine on a snapshot reads its chunks'
        sentence vectors into the cache (as many as it holds), so later searches read none from
        Chroma; the sentences' terms come with the snapshot. With ``rerank`` (a cross-encoder is set),
        each of the first ``reranker_depth`` passages also gains ``reranker_weight`` × its score, read
        with the question's text (service.reranker; each passage scored once per search).
        """
        weights = self._settings
        chunks = [chunk for chunk, _ in head]
        bonus: dict[str, float] = defaultdict(float)
        if weights.sentence_weight > 0 and texts is not None and chunks:
            if snapshot.generation != self._warmed:  # once per snapshot, like the chunk vectors
                self._warmed = snapshot.generation
                self._store.sentence_vectors.warm([c.id for c in snapshot.chunks])
            stored = self._store.sentence_vectors.of(c.id for c in chunks)
            if all(c.id in stored and len(stored[c.id]) for c in chunks):
                for chunk in chunks:
                    bonus[chunk.id] += weights.sentence_weight * float((stored[chunk.id] @ texts.T).max())
        if weights.sentence_term_weight > 0 and pieces:
            known = [(chunk, snapshot.position(chunk.id)) for chunk in chunks]
            indexed = [(chunk, position) for chunk, position in known if position is not None]
            shares = snapshot.sentence_terms.coverage([position for _, position in indexed], pieces)
            for (chunk, _), share in zip(indexed, shares, strict=True):
                bonus[chunk.id] += weights.sentence_term_weight * share
        if rerank is not None:
            for chunk_id, score in rerank.scores(chunks[: weights.reranker_depth]).items():
                bonus[chunk_id] += weights.reranker_weight * score
        return bonus

    def _named_filters(self, analysis: QueryAnalysis) -> list[tuple[Filters, NamedOutlet | None]]:
        """One filter per named outlet (with the outlet), per named date, and per outlet-and-date pair."""
        outlets = [(Filters(sources=o.sources), o) for o in analysis.outlets]
        dated = [d.filters() for d in analysis.dates]
        pairs = [
            Filters(sources=o.sources, published_after=d.published_after, published_before=d.published_before)
            for o in analysis.outlets
            for d in dated
        ]
        return [*outlets, *((f, None) for f in [*dated, *pairs])]

    def _analyzer(self, snapshot: LexicalSnapshot) -> QueryAnalyzer:
        """The analyzer for the snapshot's outlets, authors and dates (rebuilt when it changes)."""
        if self._analyzed is None or self._analyzed.generation != snapshot.generation:
            days = {date.fromisoformat(d) for d in snapshot.values("published")}
            analyzer = QueryAnalyzer(snapshot.values("source"), snapshot.values("author"), days)
            self._analyzed = _Analyzed(snapshot.generation, analyzer)
        return self._analyzed.analyzer

    def _visible_top(self, ranked: Ranked, top_k: int, also: Sequence[Chunk] = ()) -> tuple[Ranked, Ranked]:
        """The first top_k chunks readers may see, and those of ``also`` readers may see.

        One pointer read covers a short prefix of the ranking and ``also``; the whole ranking is read
        only when the prefix holds too few visible chunks.
        """
        prefix = ranked[: top_k * 4]
        seen = {c.id for c in self._store.visible([*prefix, *also])}
        chosen = [c for c in prefix if c.id in seen][:top_k]
        extra = [c for c in also if c.id in seen]
        if len(chosen) == top_k or len(prefix) == len(ranked):
            return chosen, extra
        return self._store.visible(ranked)[:top_k], extra

    def _with_similarity(
        self, chunks: Ranked, vector: NDArray[np.float32], held: QueryVectors | None = None
    ) -> list[Passage]:
        """Passages in the given order, each scored by its vector's cosine similarity to the query.

        Vectors held in memory first; the rest read from Chroma, or computed again when unreadable.
        """
        scores = held.similarities(chunks) if held is not None else {}
        unscored = [c for c in chunks if c.id not in scores]
        if unscored:
            try:
                vectors = self._store.embeddings_for([c.id for c in unscored])
            except Exception:  # embedded Chroma cannot read vectors another process just wrote
                log.warning(
                    "stored vectors unreadable; re-embedding %d passages", len(unscored), exc_info=True
                )
                vectors = {}
            missing = [c for c in unscored if c.id not in vectors]
            if missing:
                fresh = chunk_vectors(self._embedder, missing).vectors  # as ingest computes them
                vectors.update({c.id: v for c, v in zip(missing, fresh, strict=True)})
            scores.update({c.id: float(np.dot(vectors[c.id], vector)) for c in unscored})
        return [Passage(chunk=c, score=scores[c.id]) for c in chunks]
