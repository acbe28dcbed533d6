"""The int8 ONNX Runtime encoder: the same local model, exported and quantized on this machine.

At first use the sentence-transformers model (transformer, mean pooling, L2 normalisation) is
exported with ``torch.onnx.export`` and quantized with ONNX Runtime's dynamic int8 quantization
(per-channel weights in seven bits of range: see ``export_int8``); the result is cached in
``RAG_MODEL_CACHE_DIR`` (default ``RAG_DATA_DIR/models/``) and reused. Processes exporting at once
(API replicas starting together) each write temp files of their own and move the result into place
atomically. Nothing is downloaded. The graph takes the inputs the model's tokenizer gives (BERT's
token type ids, none for MPNet or RoBERTa), pads with the model's own pad token and truncates where
sentence-transformers does. all-MiniLM-L6-v2's vectors agree with the fp32 model's to a cosine of
about 0.98 or better; other models may lose more to int8 (all-mpnet-base-v2: 0.87), so the export
measures its agreement on a sample and logs a warning under ``LEAST_AGREEMENT``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.embeddings import embed_in_batches

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Where each input is in a ``tokenizers`` Encoding.
_ENCODING_FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
# Texts the export traces the model with, then checks the int8 export against the fp32 one on, in
# one padded batch, as ingest runs it.
_SAMPLE = (
    "Who succeeded Qassem Soleimani as commander of the Quds Force?",
    "The central bank raised interest rates by a quarter point on Wednesday, its third rise this year.",
    "Apple unveiled a new iPhone with a faster chip and a better camera at its autumn event.",
    "Prosecutors said the founder knowingly committed fraud to gain wealth, power and influence.",
    "Rain is expected.",
)
# Least cosine between an int8 vector and the fp32 one below which the export is reported as lossy
# (all-MiniLM-L6-v2 agrees to 0.99 on it, all-mpnet-base-v2 to 0.87).
LEAST_AGREEMENT = 0.95
logger = logging.getLogger(__name__)
_EXPORT_VERSION = "2"  # bump when the exported graph changes, so caches are rebuilt (2: reduce_range)


def _cache_name(model_path: str) -> str:
    """File name of the quantized model: the model folder's name plus a hash of its weights' path."""
    digest = hashlib.sha256(f"{_EXPORT_VERSION}:{Path(model_path).resolve()}".encode()).hexdigest()[:12]
    return f"{Path(model_path.rstrip('/')).name}-{digest}-int8.onnx"


def _export(torch: Any, module: Any, sample: dict[str, Any], inputs: Sequence[str], path: Path) -> None:
    """Trace the pooled model to an ONNX file with batch and sequence length left dynamic."""
    torch.onnx.export(
        module,
        tuple(sample[name] for name in inputs),
        str(path),
        input_names=list(inputs),
        output_names=["sentence_embedding"],
        dynamic_axes={
            **{name: {0: "batch", 1: "sequence"} for name in inputs},
            "sentence_embedding": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )


def export_int8(model_path: str, target: Path) -> Path:
    """Export the model (with pooling and normalisation) to ONNX and quantize it to int8 at target."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path, device="cpu", local_files_only=True).eval()
    transformer = model[0].auto_model

    class Pooled(torch.nn.Module):
        """The transformer followed by mean pooling over real tokens and L2 normalisation."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            hidden = self.transformer(  # type: ignore[operator]
                input_ids=input_ids, attention_mask=attention_mask, **extra
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    sample = model.preprocess(list(_SAMPLE))
    # what the model's tokenizer gives, as sentence-transformers passes it: BERT's tokenizers give
    # token type ids, MPNet's and RoBERTa's do not
    inputs = [name for name in _INPUTS if name in sample]
    target.parent.mkdir(parents=True, exist_ok=True)
    unique = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # another process may export at the same time
    fp32 = target.with_name(f"{target.name}.{unique}.fp32.tmp")
    quantized = target.with_name(f"{target.name}.{unique}.tmp")
    try:
        with warnings.catch_warnings():  # the legacy exporter's deprecation and tracer notices
            warnings.simplefilter("ignore")
            _export(torch, Pooled().eval(), sample, inputs, fp32)
        # reduce_range: weights in seven bits. On x86 CPUs without VNNI (AVX2 only) ONNX Runtime's
        # u8×s8 kernel adds pairs of products in 16 bits, which saturate with full-range weights:
        # measured on an AVX2-only EPYC, a text's vector then moved to a cosine of 0.989 with its
        # batch-mates (0.993 with reduce_range), and agreed with fp32 to 0.987 (0.993) alone.
        quantize_dynamic(
            str(fp32), str(quantized), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True
        )
        agreement = int8_agreement(fp32, quantized, {name: sample[name].numpy() for name in inputs})
        if agreement < LEAST_AGREEMENT:
            logger.warning(
                "the int8 export of %s agrees with the fp32 model only to a cosine of %.3f (under %.2f): "
                "RAG_EMBEDDING_BACKEND=torch keeps its full precision",
                model_path,
                agreement,
                LEAST_AGREEMENT,
            )
        os.replace(quantized, target)  # atomic: a concurrent reader sees no half-written model
    finally:
        fp32.unlink(missing_ok=True)
        quantized.unlink(missing_ok=True)
    return target


def int8_agreement(fp32: Path, quantized: Path, feeds: dict[str, Any]) -> float:
    """The least cosine between the two ONNX models' vectors for the same batch."""
    import onnxruntime

    def vectors(path: Path) -> NDArray[np.float32]:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return np.asarray(session.run(["sentence_embedding"], feeds)[0], dtype=np.float32)

    return float((vectors(fp32) * vectors(quantized)).sum(axis=1).min())


def _model_file(model_path: str, name: str) -> dict[str, Any]:
    """A JSON file of the model folder as a dict; empty when it is missing or not a JSON object."""
    try:
        content = json.loads((Path(model_path) / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


class OnnxInt8Embedder:
    """An Embedder running the int8 ONNX export of a sentence-transformers model."""

    def __init__(self, model_path: str, cache_dir: Path, batch_size: int = 32, threads: int = 0) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import onnxruntime
        from tokenizers import Tokenizer

        self._name = f"{model_path} (onnx-int8)"
        self._batch_size = batch_size
        path = cache_dir / _cache_name(model_path)
        if not path.exists():
            export_int8(model_path, path)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads > 0:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._max_length = self._max_seq_length(model_path)
        # The model's fast tokenizer, read by the tokenizers library itself: the same token ids as
        # transformers' AutoTokenizer without importing transformers (and with it torch, ~300 MB).
        self._tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=self._max_length)
        pad_token, pad_id = self._pad_token(model_path, self._tokenizer)
        self._tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
        # the inputs the exported graph takes (no token type ids for MPNet-like models)
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._dimension = int(self._session.get_outputs()[0].shape[-1] or 384)
        self._lock = threading.Lock()

    @staticmethod
    def _max_seq_length(model_path: str) -> int:
        """The sentence-transformers truncation length of the model (256 for MiniLM): its
        ``sentence_bert_config.json``, else its tokenizer's ``model_max_length`` (where
        sentence-transformers 5 and later save it), else 256."""
        for name, key in (
            ("sentence_bert_config.json", "max_seq_length"),
            ("tokenizer_config.json", "model_max_length"),
        ):
            length = _model_file(model_path, name).get(key)
            if isinstance(length, int) and 0 < length < 100_000:  # transformers writes a huge "no limit"
                return length
        return 256

    @staticmethod
    def _pad_token(model_path: str, tokenizer: Any) -> tuple[str, int]:
        """The padding token and its id: the model's own (``<pad>`` for MPNet), as its
        ``special_tokens_map.json`` or ``tokenizer_config.json`` names it, else BERT's ``[PAD]``."""
        for name in ("special_tokens_map.json", "tokenizer_config.json"):
            declared = _model_file(model_path, name).get("pad_token")
            token = declared.get("content") if isinstance(declared, dict) else declared
            if isinstance(token, str) and (pad := tokenizer.token_to_id(token)) is not None:
                return token, int(pad)
        pad = tokenizer.token_to_id("[PAD]")
        return "[PAD]", 0 if pad is None else int(pad)

    @property
    def name(self) -> str:
        """Model name or path, for reports."""
        return self._name

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return self._dimension

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit vectors for the given texts, one row each, in order (batched longest first)."""
        return embed_in_batches(texts, self._batch_size, self._dimension, self._encode_batch)

    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        """One run of the session: tokenise under the lock, infer outside it (sessions are thread-safe)."""
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        feeds = {
            name: np.array([getattr(e, _ENCODING_FIELDS[name]) for e in encodings], dtype=np.int64)
            for name in self._inputs
        }
        result = self._session.run(["sentence_embedding"], feeds)
        return np.asarray(result[0], dtype=np.float32)
