"""One settings tree for every front end.

Values come, highest priority first, from: arguments passed in code or on the command line,
``REVIEWER_*`` environment variables (nested fields use ``__``, e.g. ``REVIEWER_EMBEDDING__BATCH_SIZE``),
and the defaults below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from reviewer.errors import ConfigError

# USD per million tokens (input, output). Unknown models (local servers) cost 0; override with
# REVIEWER_LLM_PRICES='{"my-model": [0.5, 1.5]}'.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}


class EmbeddingSettings(BaseModel):
    provider: Literal["local", "openai"] = Field(
        "local",
        description="'local': all-MiniLM-L6-v2 run with onnxruntime from weights shipped in a package "
        "(no network). 'openai': an OpenAI embedding model (needs an API key).",
    )
    openai_model: str = Field("text-embedding-3-small", description="Embedding model used when provider='openai'.")
    batch_size: int = Field(32, ge=1, le=1024, description="Texts per embedding call; texts are batched by similar length.")
    max_tokens: int = Field(256, ge=16, le=512, description="Longer texts are truncated to this many word pieces (the model's limit).")
    threads: int = Field(0, ge=0, description="onnxruntime intra-op threads; 0 lets onnxruntime choose.")


class IngestSettings(BaseModel):
    max_field_chars: int = Field(
        20_000,
        ge=100,
        description="A title or abstract longer than this is cut to this length and a warning names the record.",
    )
    max_title_chars: int = Field(1_000, ge=20, description="A title longer than this is not a title: the record is skipped.")
    upsert_batch: int = Field(256, ge=1, description="Papers embedded and written to Chroma per step (a crash loses at most two steps).")


class RetrievalSettings(BaseModel):
    mode: Literal["bm25", "cosine", "dense", "rrf", "hybrid"] = Field(
        "rrf",
        description="Default search mode: 'rrf' (BM25 and plain cosine fused by reciprocal rank; the default, see the "
                    "README's retrieval quality table), 'hybrid' (BM25 and cosine + sentence-window coverage), "
                    "'bm25', 'cosine' or 'dense' (cosine + sentence-window coverage) alone.")
    depth: int = Field(100, ge=1, le=10_000, description="How many papers each retriever ranks before fusion.")
    rrf_k: float = Field(60.0, gt=0, description="Reciprocal rank fusion constant: score = sum 1/(rrf_k + rank).")
    mmr_lambda: float = Field(
        0.5, ge=0.0, le=1.0, description="MMR trade-off: 1 = relevance only, 0 = diversity only."
    )


class GateSettings(BaseModel):
    """The evidence gate (see reviewer.gate): calibrated on benchmarks/abstain/questions.jsonl."""

    answer_threshold: float = Field(
        0.51, ge=-1.0, le=1.0,
        description="The collection can answer a question when some sentence of a retrieved paper has at least this "
                    "cosine similarity to it (all-MiniLM-L6-v2); otherwise the fixed cannot-answer reply is given.")
    paper_threshold: float = Field(
        0.3, ge=-1.0, le=1.0,
        description="A retrieved paper outside the top ranks is evidence only when its cosine similarity to the "
                    "question (whole paper) reaches this (all-MiniLM-L6-v2: unrelated text scores about 0.0-0.2).")
    top_ranks: int = Field(
        3, ge=0, le=100,
        description="A paper this high in either retriever's list (BM25 or dense) is always kept as evidence.")


class LLMSettings(BaseSettings):
    """The chat model: any OpenAI-compatible endpoint (OpenAI, Azure-style, Ollama, vLLM, llama.cpp, LM Studio).

    Read from ``REVIEWER_LLM_*`` (e.g. ``REVIEWER_LLM_BASE_URL``, ``REVIEWER_LLM_MODEL``); the key also from
    ``OPENAI_API_KEY``. With neither a base URL nor a key, no model is configured and the extractive engine answers.
    """

    model_config = SettingsConfigDict(env_prefix="REVIEWER_LLM_", extra="ignore")

    model: str = Field("gpt-4o-mini", description="Model name as the endpoint knows it.")
    base_url: str | None = Field(None, description="Endpoint, e.g. http://localhost:11434/v1 (Ollama). None: OpenAI.")
    api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("REVIEWER_LLM_API_KEY", "OPENAI_API_KEY", "api_key"),
        description="API key; local servers accept any non-empty value.",
    )
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature (0: reproducible).")
    max_tokens: int = Field(1024, ge=16, description="Most tokens the model may write per reply.")
    timeout: float = Field(
        60.0, gt=0,
        description="Seconds one model call may take in all: connecting, retries and a slow or trickling stream "
                    "included (each read also times out after this long).",
    )
    command_timeout: float = Field(600.0, gt=0, description="Seconds all the model calls of one command (an ask, a "
                                   "compare, a review, one chat answer) may take together.")
    max_reply_chars: int = Field(20_000, ge=100, description="A reply longer than this many characters is cut "
                                 "there, with a warning (a runaway model cannot flood the terminal or the cache).")
    condense_max_tokens: int = Field(96, ge=16, description="Token budget of the chat's condense step (rewriting "
                                     "a follow-up as a standalone question: one line).")
    max_retries: int = Field(3, ge=0, le=10, description="Retries on 429/5xx/timeouts, with exponential backoff and jitter.")
    evidence_tokens: int = Field(3000, ge=50, description="Token budget for the evidence packed into a prompt.")
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES),
        description="USD per million (input, output) tokens, by model name.",
    )
    cache: bool = Field(True, description="Reuse identical earlier replies from the on-disk cache (zero tokens).")
    structured_method: Literal["function_calling", "json_schema", "json_mode"] = Field(
        "function_calling",
        description="How tables and outlines are requested: function_calling works with OpenAI, vLLM, Ollama and "
                    "llama.cpp servers; json_schema needs a server that supports strict response formats.",
    )

    @property
    def configured(self) -> bool:
        """True when an endpoint is configured (a base URL or an API key)."""
        return bool(self.base_url or (self.api_key and self.api_key.get_secret_value()))


class Settings(BaseSettings):
    """Everything reviewer can be configured with."""

    model_config = SettingsConfigDict(env_prefix="REVIEWER_", env_nested_delimiter="__", extra="ignore")

    db: Path = Field(
        Path(".reviewer"),
        description="Data directory: the embedded Chroma database and the keyword index live here.",
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (`chroma run`), e.g. http://127.0.0.1:8000. "
        "When set, vectors are stored there instead of the embedded database; the keyword index stays in `db`.",
    )
    chroma_connect_timeout: float = Field(
        2.0, gt=0, le=120, description="Seconds to wait for a Chroma server to accept a connection (and for the "
        "health check made before anything heavy is loaded).")
    chroma_read_timeout: float = Field(
        30.0, gt=0, le=3600, description="Seconds to wait for a Chroma server's reply before giving up.")
    collection: str = Field(
        "papers", min_length=3, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$",
        description="Chroma collection name: 3-63 letters, digits, '.', '_' or '-', starting and ending with a "
        "letter or digit.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    gate: GateSettings = Field(default_factory=GateSettings)


def load_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit overrides (None values are ignored).

    An invalid value is a :class:`ConfigError` naming the variable, the value and what is allowed.
    """
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
    except SettingsError as exc:  # a JSON-valued variable that is not JSON
        raise ConfigError(f"{exc}: check the REVIEWER_* variable of that name (it takes a JSON value)") from None


def _explain(exc) -> str:
    prefix = "REVIEWER_LLM_" if exc.title == "LLMSettings" else "REVIEWER_"
    parts = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        if prefix == "REVIEWER_" and loc[:1] == ["llm"]:
            name = "REVIEWER_LLM_" + "__".join(loc[1:]).upper()
        else:
            name = prefix + "__".join(loc).upper()
        allowed = error["msg"].removeprefix("Input should be ").removeprefix("String should ")
        parts.append(f"{name}={error.get('input')!r} is not valid: allowed: {allowed}")
    return "invalid setting: " + "; ".join(parts)


__all__ = ["Settings", "GateSettings", "EmbeddingSettings", "IngestSettings", "RetrievalSettings", "LLMSettings", "load_settings"]
