"""The encoders: int8 ONNX (the default) agrees with fp32, its export is cached once, thread safety,
one encoder per collection, and ``auto`` following what the collection records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoTokenizer

from ingest.__main__ import main as ingest_main
from service.api.parts import build_parts
from service.embeddings import (
    BATCH_CHARS_PER_TEXT,
    Embedder,
    SentenceTransformerEmbedder,
    batch_sizes,
    build_embedder,
    default_model_path,
    embedder_identity,
)
from service.encoder_choice import EMBEDDER_KEY, resolve_embedding_backend
from service.errors import EmbedderMismatch
from service.ingestion.pipeline import IngestPipeline
from service.onnx_embedder import OnnxInt8Embedder, export_int8
from service.settings import Settings, get_settings
from service.store import ChunkStore, build_store
from tests.conftest import SEEDS, make_settings

SAMPLES = [
    "Who succeeded Qassem Soleimani as commander of the Quds Force?",
    "The central bank raised interest rates by a quarter point on Wednesday.",
    "Apple unveiled a new iPhone with a faster chip and a better camera at its autumn event.",
    *(path.read_text(encoding="utf-8")[:1200] for path in sorted(SEEDS.glob("*.txt"))),
]


@pytest.fixture(scope="module")
def fp32(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The fp32 torch encoder (the session's ``embedder`` is the default, int8)."""
    return build_embedder(make_settings(tmp_path_factory.mktemp("fp32") / "data", embedding_backend="torch"))


def test_the_default_encoder_of_a_new_collection_is_int8(embedder: Embedder) -> None:
    assert Settings().embedding_backend == "auto"
    assert isinstance(embedder, OnnxInt8Embedder)


def test_int8_vectors_are_close_to_fp32(embedder: Embedder, fp32: Embedder) -> None:
    reference = fp32.embed(SAMPLES)
    quantized = embedder.embed(SAMPLES)
    assert quantized.shape == reference.shape
    assert np.allclose(np.linalg.norm(quantized, axis=1), 1.0, atol=1e-4)
    cosines = (reference * quantized).sum(axis=1)
    assert cosines.min() > 0.97 and cosines.mean() > 0.98


def test_int8_model_is_exported_once_into_the_model_cache_dir_and_reused(
    embedder: Embedder, tmp_path: Path
) -> None:
    # The session's encoder exported the model into RAG_MODEL_CACHE_DIR (set by conftest), not under
    # its data dir; another data dir reuses that file, untouched, and gets the same vectors.
    cache = Path(os.environ["RAG_MODEL_CACHE_DIR"])
    exported = list(cache.glob("*-int8.onnx"))
    assert len(exported) == 1
    assert not list(cache.glob("*.tmp"))  # the export's temp files are gone
    modified = exported[0].stat().st_mtime_ns
    settings = make_settings(tmp_path / "data", embedding_backend="onnx-int8")
    assert settings.models_dir == cache
    again = build_embedder(settings)
    assert np.allclose(again.embed(SAMPLES[:2]), embedder.embed(SAMPLES[:2]), atol=1e-6)
    assert exported[0].stat().st_mtime_ns == modified
    assert not (tmp_path / "data" / "models").exists()
    assert make_settings(tmp_path / "data", model_cache_dir=None).models_dir == tmp_path / "data" / "models"


def test_batched_and_single_vectors_agree(embedder: Embedder, fp32: Embedder) -> None:
    # fp32: the same vector whatever the batch. int8: dynamic quantization scales activations per
    # batch tensor, so a text's vector moves a little with its batch-mates (cosine ≥ 0.99, measured
    # 0.993-0.997 on AVX-512 CPUs, 0.993 on an AVX2-only one, where full-range int8 weights gave 0.989);
    # rows still come back in the texts' order (other texts are far below 0.99).
    for encoder, least in ((fp32, 1 - 1e-6), (embedder, 0.99)):
        batched = encoder.embed(SAMPLES)
        single = np.stack([encoder.embed([text])[0] for text in SAMPLES])
        assert ((batched * single).sum(axis=1) >= least).all()
        assert ((batched @ single.T) - np.eye(len(SAMPLES)) < 0.99).all()


def test_long_texts_go_in_smaller_batches_and_every_text_in_exactly_one() -> None:
    sentence, chunk = 150, 1200  # characters: a news sentence, a whole chunk
    assert batch_sizes([sentence] * 70, 32) == [32, 32, 6]
    long_first = [chunk] * 20 + [sentence] * 40
    sizes = batch_sizes(long_first, 32)
    assert sum(sizes) == 60 and sizes[0] == 32 * BATCH_CHARS_PER_TEXT // chunk
    assert batch_sizes([100_000], 32) == [1] and batch_sizes([], 32) == []


def test_texts_of_every_length_come_back_in_their_order(embedder: Embedder) -> None:
    # 8 distinct texts from 60 to ~5,000 characters: the long ones get batches of their own
    texts = [f"{s} " * n for s, n in zip(SAMPLES, (1, 2, 1, 1, 3, 1, 4, 1), strict=True)]
    assert len(batch_sizes(sorted(map(len, texts), reverse=True), 32)) > 1
    vectors = embedder.embed(texts)
    single = np.stack([embedder.embed([t])[0] for t in texts])
    assert ((vectors * single).sum(axis=1) >= 0.99).all()
    assert ((vectors @ single.T) - np.eye(len(texts)) < 0.99).all()


def test_concurrent_queries_get_the_same_vectors_as_sequential_ones(embedder: Embedder) -> None:
    expected = {text: embedder.embed([text])[0] for text in SAMPLES}
    got: dict[str, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(text: str) -> None:
        try:
            got[text] = embedder.embed([text])[0]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in SAMPLES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(np.allclose(got[t], expected[t], atol=1e-5) for t in SAMPLES)


def fp32_collection(tmp_path: Path, fp32: Embedder, **overrides: object) -> Settings:
    """Settings of a collection built with the fp32 encoder (explicit torch), one seed ingested."""
    settings = make_settings(tmp_path / "data", embedding_backend="torch", **overrides)
    IngestPipeline(build_store(settings), fp32, settings).run([SEEDS / "000_277ab06f7a8d113b.txt"])
    return settings


def test_collection_records_its_encoder_and_refuses_another(tmp_path: Path, fp32: Embedder) -> None:
    settings = fp32_collection(tmp_path, fp32)
    store = build_store(settings)
    metadata = store._client.get_collection(settings.collection).metadata
    assert metadata[EMBEDDER_KEY] == embedder_identity(settings) == "all-MiniLM-L6-v2|torch"
    assert store.embedder == "all-MiniLM-L6-v2|torch"
    with pytest.raises(EmbedderMismatch) as raised:
        build_store(settings.model_copy(update={"embedding_backend": "onnx-int8"}))
    assert raised.value.status_code == 409 and "onnx-int8" in raised.value.message
    other = settings.model_copy(update={"embedding_backend": "onnx-int8", "collection": "test-int8"})
    assert build_store(other).embedder == "all-MiniLM-L6-v2|onnx-int8"
    with pytest.raises(EmbedderMismatch):  # explicit torch on an int8 collection: refused too
        build_store(other.model_copy(update={"embedding_backend": "torch"}))


def test_an_index_without_the_record_counts_as_the_fp32_encoder(tmp_path: Path, fp32: Embedder) -> None:
    settings = fp32_collection(tmp_path, fp32)
    store = build_store(settings)
    store._collection.modify(metadata={"newsrag_generation": "legacy"})  # as written before the record
    auto = settings.model_copy(update={"embedding_backend": "auto"})
    assert resolve_embedding_backend(auto).embedding_backend == "torch"
    assert ChunkStore(store._client, settings.collection).embedder == "all-MiniLM-L6-v2|torch"
    with pytest.raises(EmbedderMismatch):
        build_store(settings.model_copy(update={"embedding_backend": "onnx-int8"}))


def test_auto_keeps_the_encoder_a_collection_was_built_with(tmp_path: Path, fp32: Embedder) -> None:
    auto = fp32_collection(tmp_path, fp32).model_copy(update={"embedding_backend": "auto"})
    parts = build_parts(auto)
    assert parts.settings.embedding_backend == "torch"
    assert isinstance(parts.embedder, SentenceTransformerEmbedder)
    assert parts.store.embedder == "all-MiniLM-L6-v2|torch"
    assert [p.chunk.article.origin for p in parts.retriever.search("Quds Force commander", 1)] == [
        "000_277ab06f7a8d113b.txt"
    ]
    with pytest.raises(ValueError, match="auto"):  # only a collection settles auto
        embedder_identity(auto)


def test_auto_on_a_new_collection_builds_int8_and_records_it(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    assert settings.embedding_backend == "auto"
    assert resolve_embedding_backend(settings).embedding_backend == "onnx-int8"
    parts = build_parts(settings)
    assert parts.settings.embedding_backend == "onnx-int8"
    assert isinstance(parts.embedder, OnnxInt8Embedder)
    metadata = parts.store._client.get_collection(settings.collection).metadata
    assert metadata[EMBEDDER_KEY] == parts.store.embedder == "all-MiniLM-L6-v2|onnx-int8"
    assert build_store(settings).embedder == "all-MiniLM-L6-v2|onnx-int8"  # and keeps it


def test_ingest_reset_moves_an_auto_collection_to_int8(
    tmp_path: Path, fp32: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fp32_collection(tmp_path, fp32, collection="cli")
    monkeypatch.setenv("RAG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RAG_COLLECTION", settings.collection)
    monkeypatch.delenv("RAG_EMBEDDING_BACKEND", raising=False)
    monkeypatch.delenv("RAG_CHROMA__HOST", raising=False)
    get_settings.cache_clear()
    try:
        assert ingest_main([str(SEEDS / "002_a85a3d831082c514.txt")]) == 0  # auto keeps torch
        assert build_store(settings).count() > 0
        assert build_store(settings).embedder == "all-MiniLM-L6-v2|torch"
        assert ingest_main(["--reset", str(SEEDS / "002_a85a3d831082c514.txt")]) == 0
    finally:
        get_settings.cache_clear()
    store = build_store(settings.model_copy(update={"embedding_backend": "auto"}))
    assert store.embedder == "all-MiniLM-L6-v2|onnx-int8"
    assert [a.meta.origin for a in store.articles().values()] == ["002_a85a3d831082c514.txt"]


TOKENISED = ["Qaani’s visit to Baghdad!", "x " * 400, "Café déjà vu: 3.5% rise"]


def test_int8_encoder_tokenises_as_transformers_does_without_loading_torch(tmp_path: Path) -> None:
    # The serving process of the default encoder stays free of torch (about 300 MB of RSS per
    # worker); its token ids are those of the model's transformers tokenizer, long texts truncated.
    script = (
        "import sys, json\n"
        "from service.embeddings import build_embedder\n"
        "from service.settings import Settings\n"
        f"e = build_embedder(Settings(data_dir={str(tmp_path)!r}, embedding_backend='onnx-int8'))\n"
        f"texts = {TOKENISED!r}\n"
        "e.embed(texts)\n"
        "ids = [x.ids for x in e._tokenizer.encode_batch(texts)]\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'ids': ids}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=SEEDS.parent
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch"] is False
    reference = AutoTokenizer.from_pretrained(default_model_path(), local_files_only=True)(
        TOKENISED, padding=True, truncation=True, max_length=256
    )["input_ids"]
    assert result["ids"] == reference


@pytest.fixture(scope="module")
def tiny_mpnet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small MPNet sentence-transformers model (random weights, a vocabulary of the samples' words)
    saved as sentence-transformers 6 saves one: its tokenizer gives no token type ids, pads with
    ``<pad>`` (id 1), and its truncation length (128) is in the tokenizer's config only."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import MPNetConfig, MPNetModel, PreTrainedTokenizerFast

    root = tmp_path_factory.mktemp("tiny-mpnet")
    special = ["<s>", "<pad>", "</s>", "[UNK]", "<mask>"]
    words = sorted({w for text in SAMPLES for w in text.lower().replace(".", " ").replace(",", " ").split()})
    tokenizer = Tokenizer(models.WordPiece({w: i for i, w in enumerate(special + words)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    names = {"bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>", "sep_token": "</s>"}
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        unk_token="[UNK]",
        mask_token="<mask>",
        model_max_length=128,
        **names,
    )
    torch.manual_seed(0)
    config = MPNetConfig(
        vocab_size=len(special) + len(words),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=130,  # 128 tokens after MPNet's padding offset of 2: no room for more
        pad_token_id=1,
    )
    MPNetModel(config).save_pretrained(root / "hf")
    fast.save_pretrained(root / "hf")
    modules = [Transformer(str(root / "hf")), Pooling(64, "mean"), Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(root / "model"))
    return root / "model"


def test_int8_export_of_a_model_without_token_type_ids_gives_its_fp32_vectors(
    tiny_mpnet: Path, tmp_path: Path
) -> None:
    # MPNet's (and RoBERTa's) tokenizers give no token type ids, pad with <pad>, not [PAD], and
    # sentence-transformers 6 keeps the truncation length in the tokenizer's config. The seeds'
    # openings run past 128 tokens, so truncation is checked too.
    from sentence_transformers import SentenceTransformer

    settings = make_settings(
        tmp_path / "data", embedding_model=str(tiny_mpnet), embedding_backend="onnx-int8"
    )
    settings = settings.model_copy(update={"model_cache_dir": tmp_path / "models"})
    encoder = build_embedder(settings)
    assert isinstance(encoder, OnnxInt8Embedder)
    assert [i.name for i in encoder._session.get_inputs()] == ["input_ids", "attention_mask"]
    assert max(len(e.ids) for e in encoder._tokenizer.encode_batch(SAMPLES)) == 128
    assert encoder._tokenizer.padding is not None
    assert (encoder._tokenizer.padding["pad_token"], encoder._tokenizer.padding["pad_id"]) == ("<pad>", 1)
    reference = SentenceTransformer(str(tiny_mpnet), device="cpu").encode(SAMPLES, normalize_embeddings=True)
    batched = encoder.embed(SAMPLES)
    single = np.stack([encoder.embed([text])[0] for text in SAMPLES])
    assert ((reference * batched).sum(axis=1) > 0.999).all()
    assert ((batched * single).sum(axis=1) > 0.999).all()  # padding with <pad> changes nothing


def test_an_int8_export_that_strays_from_fp32_is_reported(
    tiny_mpnet: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # all-mpnet-base-v2 loses much more to int8 than MiniLM (a cosine of 0.87 against 0.99 on the
    # export's sample): the export measures its agreement with fp32 and says when it falls short.
    import service.onnx_embedder as onnx_embedder

    def reports() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "service.onnx_embedder"]

    with caplog.at_level("WARNING", logger="service.onnx_embedder"):
        export_int8(str(tiny_mpnet), tmp_path / "close.onnx")
    assert not reports()  # this one agrees to 0.9999
    monkeypatch.setattr(onnx_embedder, "LEAST_AGREEMENT", 1.01)  # more than any export can agree
    with caplog.at_level("WARNING", logger="service.onnx_embedder"):
        export_int8(str(tiny_mpnet), tmp_path / "strict.onnx")
    [report] = reports()
    assert str(tiny_mpnet) in report and "RAG_EMBEDDING_BACKEND=torch" in report
    assert (tmp_path / "strict.onnx").exists()  # reported, still used
