"""The optional cross-encoder: loaded offline from a local folder, scoring each passage once per search,
and re-ranking the head of the results (service.reranker, service.retrieval).

No cross-encoder's weights can be had here, so the model is a real sentence-transformers
``CrossEncoder`` built in the test: a two-layer BERT with a one-logit head, random weights under a
fixed seed, the all-MiniLM-L6-v2 tokenizer. Its scores mean nothing, so the tests check what the
code does with them (the order follows them), never that they are right.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from service.api.parts import build_parts
from service.embeddings import Embedder, default_model_path
from service.errors import InvalidSettings
from service.lexical import build_lexical_index
from service.models import indexed_text
from service.reranker import CrossEncoderReranker, Reranker, build_reranker
from service.retrieval import Retriever
from service.settings import Settings
from service.store import ChunkStore
from tests.conftest import make_settings

QUESTION = "Who took over the Quds Force after Soleimani was killed?"
# Weight and depth at which the cross-encoder alone orders the seeds' passages (each fused score is
# scaled to [0, 1]; the random model's scores spread over most of [0, 1]).
DECISIVE = {
    "sentence_weight": 0.0,
    "sentence_term_weight": 0.0,
    "reranker_weight": 1000.0,
    "reranker_depth": 200,
}


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real CrossEncoder folder: a random two-layer BERT, weights scaled up so scores spread out."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    tokenizer = AutoTokenizer.from_pretrained(default_model_path())
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    model = BertForSequenceClassification(config)
    with torch.no_grad():  # at the initial scale every input gives about the same score
        for layer in model.bert.encoder.layer:  # let the attended tokens outweigh [CLS]'s own embedding
            layer.attention.self.value.weight.mul_(30.0)
            layer.attention.output.dense.weight.mul_(30.0)
        model.bert.pooler.dense.weight.mul_(30.0)
        model.classifier.weight.mul_(10.0)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def cross_encoder(tiny_cross_encoder: Path) -> CrossEncoderReranker:
    return CrossEncoderReranker(str(tiny_cross_encoder))


class CountingReranker:
    """The real cross-encoder, counting the texts it is asked to score."""

    def __init__(self, inner: Reranker) -> None:
        self.inner = inner
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        self.texts.extend(texts)
        return self.inner.score(query, texts)


def test_cross_encoder_scores_each_text_in_unit_range_and_the_same_each_time(
    cross_encoder: CrossEncoderReranker,
) -> None:
    texts = ["Esmail Qaani leads the Quds Force.", "Apple released a phone.", ""]
    scores = cross_encoder.score(QUESTION, texts)
    assert len(scores) == 3
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert max(scores) - min(scores) > 0.01  # the scaled head spreads them
    assert cross_encoder.score(QUESTION, texts) == scores
    assert cross_encoder.score(QUESTION, []) == []


def test_no_reranker_model_loads_nothing(tmp_path: Path) -> None:
    assert build_reranker(make_settings(tmp_path)) is None
    assert build_reranker(make_settings(tmp_path, reranker_model="  ")) is None


def test_a_reranker_model_that_cannot_be_loaded_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(InvalidSettings, match="RAG_RERANKER_MODEL") as error:
        build_reranker(make_settings(tmp_path, reranker_model=str(tmp_path / "no-such-model")))
    assert "no-such-model" in error.value.message


def test_results_follow_the_cross_encoder_when_it_decides(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder, cross_encoder: CrossEncoderReranker
) -> None:
    settings, store = seeded
    lexical = build_lexical_index(settings, store)
    retrieval = settings.retrieval.model_copy(update=DECISIVE)
    plain = Retriever(store, embedder, lexical, retrieval).search(QUESTION, 100)
    reranked = Retriever(store, embedder, lexical, retrieval, cross_encoder).search(QUESTION, 100)
    assert {p.chunk.id for p in reranked} == {p.chunk.id for p in plain}  # every seed passage, re-ordered
    texts = [indexed_text(p.chunk) for p in plain]  # what the retriever hands the cross-encoder
    scores = dict(zip((p.chunk.id for p in plain), cross_encoder.score(QUESTION, texts), strict=True))
    best = sorted(scores, key=lambda chunk_id: -scores[chunk_id])
    assert [p.chunk.id for p in reranked[:3]] == best[:3]  # three passages: no article has had to wait
    assert [p.chunk.id for p in plain[:3]] != best[:3]  # so the cross-encoder is what ordered them


def test_each_passage_is_scored_once_per_search_however_many_rankings_it_heads(
    seeded: tuple[Settings, ChunkStore], embedder: Embedder, cross_encoder: CrossEncoderReranker
) -> None:
    settings, store = seeded
    counting = CountingReranker(cross_encoder)
    retrieval = settings.retrieval.model_copy(update={"reranker_depth": 8})
    retriever = Retriever(store, embedder, build_lexical_index(settings, store), retrieval, counting)
    # names an outlet: its own ranking and the merged one (and the leading article's) are re-sorted
    found = retriever.retrieve("What did The National report about Qaani in Baghdad?", 5, resort_outlets=True)
    assert found.passages and found.outlets
    assert counting.texts
    assert len(counting.texts) == len(set(counting.texts))
    counting.texts.clear()
    retriever.search(QUESTION, 5)
    assert 0 < len(counting.texts) <= 8  # the head only


def test_the_service_re_ranks_with_the_configured_cross_encoder(
    seeded: tuple[Settings, ChunkStore],
    embedder: Embedder,
    tiny_cross_encoder: Path,
    cross_encoder: CrossEncoderReranker,
) -> None:
    settings, store = seeded
    configured = settings.model_copy(
        update={
            "reranker_model": str(tiny_cross_encoder),
            "retrieval": settings.retrieval.model_copy(update=DECISIVE),
        }
    )
    passages = build_parts(configured, store=store, embedder=embedder).retriever.search(QUESTION, 20)
    scores = cross_encoder.score(QUESTION, [indexed_text(p.chunk) for p in passages])
    assert scores[0] == max(scores)
