"""One settings tree for every front end.

Values come, highest priority first, from: arguments passed in code or on the command line,
``REVIEWER_*`` environment variables (nested fields use ``__``, e.g. ``REVIEWER_EMBEDDING__BATCH_SIZE``),
and the defaults below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    upsert_batch: int = Field(64, ge=1, description="Papers embedded and written to Chroma per step (a crash loses at most one step).")


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
    collection: str = Field("papers", min_length=3, description="Chroma collection name.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)


def load_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit overrides (None values are ignored)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


__all__ = ["Settings", "EmbeddingSettings", "IngestSettings", "load_settings"]
