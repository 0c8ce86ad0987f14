"""One settings tree for every front end.

Values come, highest priority first, from: arguments passed in code or on the command line (``--model``),
``REVIEWER_*`` environment variables, the TOML config file (:func:`config_file`: ``config.toml`` in the user
config directory, or in ``$REVIEWER_CONFIG_DIR``; ``reviewer config set KEY VALUE`` writes it), and the defaults
below.

One naming scheme: ``REVIEWER_`` + the setting's path with ``__`` between the levels, e.g. ``REVIEWER_DB``,
``REVIEWER_LLM__MODEL``, ``REVIEWER_EMBEDDING__BATCH_SIZE``; in the config file the same paths are TOML tables
(``[llm] model = "gpt-4o-mini"``) and on ``reviewer config set`` dotted (``llm.model``). The former names of the
LLM settings (``REVIEWER_LLM_MODEL``, ``REVIEWER_LLM_BASE_URL``, ...) still work, below the new ones, and the CLI
says once that they are deprecated (:func:`deprecated_names`). ``OPENAI_API_KEY`` is read as ``llm.api_key``.
"""

from __future__ import annotations

import json
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from reviewer.errors import ConfigError

# USD per million tokens (input, output). Unknown models (local servers) cost 0; override with
# REVIEWER_LLM__PRICES='{"my-model": [0.5, 1.5]}'.
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
    key_style: Literal["title-words", "first-word"] = Field(
        "title-words",
        description="Keys of new papers without authors and year: 'title-words' (the short name before a colon, "
                    "else two significant title words: 'taskvectors'), or 'first-word' (the former rule: one "
                    "word). Keys already stored never change.")


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


class LLMSettings(BaseModel):
    """The chat model: any OpenAI-compatible endpoint (OpenAI, Azure-style, Ollama, vLLM, llama.cpp, LM Studio).

    Read from ``REVIEWER_LLM__*`` (e.g. ``REVIEWER_LLM__BASE_URL``, ``REVIEWER_LLM__MODEL``) or the config file's
    ``[llm]`` table; the key also from ``OPENAI_API_KEY``. With neither a base URL nor a key, no model is
    configured and the extractive engine answers.
    """

    model_config = SettingsConfigDict(extra="ignore")

    model: str = Field("gpt-4o-mini", description="Model name as the endpoint knows it (--model on the command line).")
    base_url: str | None = Field(None, description="Endpoint, e.g. http://localhost:11434/v1 (Ollama). None: OpenAI.")
    api_key: SecretStr | None = Field(
        None, description="API key (or OPENAI_API_KEY); local servers accept any non-empty value. Never written to "
                          "the config file, a log or a message.")
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
    log: bool = Field(True, description="Record every ask, compare, review and chat answer of the CLI in logs.db in "
                                        "the user data directory (`reviewer logs`); --no-log skips one command.")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        if _DEFAULTS_ONLY.get():
            return (init_settings,)
        return (init_settings, env_settings, _LegacyEnv(settings_cls), _ConfigFile(settings_cls))


_DEFAULTS_ONLY: ContextVar[bool] = ContextVar("defaults_only", default=False)

# The former LLM variable names (REVIEWER_LLM_MODEL, ...): still read, below the REVIEWER_LLM__* ones.
LEGACY_LLM_PREFIX = "REVIEWER_LLM_"


def config_dir() -> Path:
    """Where config.toml lives: $REVIEWER_CONFIG_DIR, else the user config directory (platformdirs)."""
    if os.environ.get("REVIEWER_CONFIG_DIR"):
        return Path(os.environ["REVIEWER_CONFIG_DIR"])
    from platformdirs import user_config_dir

    return Path(user_config_dir("reviewer"))


def data_dir() -> Path:
    """Where logs.db lives: $REVIEWER_DATA_DIR, else the user data directory (platformdirs)."""
    if os.environ.get("REVIEWER_DATA_DIR"):
        return Path(os.environ["REVIEWER_DATA_DIR"])
    from platformdirs import user_data_dir

    return Path(user_data_dir("reviewer"))


def config_file() -> Path:
    return config_dir() / "config.toml"


def read_config_file(path: Path | None = None) -> dict:
    """The config file's tables ({} when there is none); a file that is not TOML is a ConfigError."""
    import tomllib

    path = path or config_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the config file {path} is not valid TOML ({exc}): fix it, or remove it "
                          "(`reviewer config path` prints where it is)") from None


def deprecated_names() -> list[str]:
    """The former REVIEWER_LLM_<NAME> variables set in the environment (each also has a REVIEWER_LLM__ name)."""
    names = {LEGACY_LLM_PREFIX + name.upper() for name in LLMSettings.model_fields}
    return sorted(name for name in os.environ if name in names)


class _LegacyEnv(PydanticBaseSettingsSource):
    """REVIEWER_LLM_<NAME> (the former names) and OPENAI_API_KEY, as ``llm.<name>``."""

    def get_field_value(self, field, field_name):  # pragma: no cover - __call__ does the work
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        llm: dict[str, Any] = {}
        if os.environ.get("OPENAI_API_KEY"):
            llm["api_key"] = os.environ["OPENAI_API_KEY"]
        for name, field in LLMSettings.model_fields.items():
            value = os.environ.get(LEGACY_LLM_PREFIX + name.upper())
            if value is None:
                continue
            if name == "prices":
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    raise ConfigError(f"{LEGACY_LLM_PREFIX}PRICES={value!r} is not valid: it takes a JSON value, "
                                      'e.g. \'{"my-model": [0.5, 1.5]}\'') from None
            llm[name] = value
        return {"llm": llm} if llm else {}


class _ConfigFile(PydanticBaseSettingsSource):
    """The TOML config file (lowest priority above the defaults)."""

    def get_field_value(self, field, field_name):  # pragma: no cover - __call__ does the work
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        data = read_config_file()
        data.get("llm", {}).pop("api_key", None)  # never read a key from a file (see `reviewer config set`)
        return data


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
        for name, value in os.environ.items():
            if name.startswith("REVIEWER_") and "__" in name and value.strip()[:1] not in ("{", "["):
                path = normalise_path_or_none(name)
                if path and isinstance(setting_value(Settings.model_construct(), path), (dict, list)):
                    raise ConfigError(f"{name}={value!r} is not valid: it takes a JSON value, e.g. "
                                      f"{name}='{{\"my-model\": [0.5, 1.5]}}'") from None
        raise ConfigError(f"{exc}: check the REVIEWER_* variables that take a JSON value") from None


def _explain(exc) -> str:
    parts = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        allowed = error["msg"].removeprefix("Input should be ").removeprefix("String should ")
        parts.append(f"{setting_origin(loc)[1] or env_name(loc)}={error.get('input')!r} is not valid: "
                     f"allowed: {allowed}")
    return "invalid setting: " + "; ".join(parts)


def env_name(path: list[str] | str) -> str:
    """The environment variable of a setting: ``llm.model`` -> ``REVIEWER_LLM__MODEL``."""
    parts = path.split(".") if isinstance(path, str) else list(path)
    return "REVIEWER_" + "__".join(parts).upper()


def setting_origin(path: list[str] | str, overrides: dict | None = None) -> tuple[str, str | None]:
    """Where the setting at ``path`` (``"llm.model"``) comes from: (description, the name to fix it under).

    "option" (an argument), "env NAME", "env NAME (deprecated: use NEW)", "config file PATH" or "default"."""
    parts = path.split(".") if isinstance(path, str) else list(path)
    node: Any = overrides or {}
    for part in parts:
        node = node.get(part) if isinstance(node, dict) else None
    if node is not None:
        return "option", None
    name = env_name(parts)
    if name in os.environ:
        return f"env {name}", name
    if parts[:1] == ["llm"] and len(parts) == 2:
        legacy = LEGACY_LLM_PREFIX + parts[1].upper()
        if legacy in os.environ:
            return f"env {legacy} (deprecated: use {name})", legacy
        if parts[1] == "api_key" and os.environ.get("OPENAI_API_KEY"):
            return "env OPENAI_API_KEY", "OPENAI_API_KEY"
    node = read_config_file()
    for part in parts:
        node = node.get(part) if isinstance(node, dict) else None
    if node is not None and parts != ["llm", "api_key"]:
        return f"config file {config_file()}", ".".join(parts)
    return "default", None


def leaf_paths(model: type[BaseModel] = None, prefix: tuple[str, ...] = ()) -> list[str]:
    """Every setting's dotted path (``db``, ``llm.model``, ...), in declaration order."""
    model = model or Settings
    paths = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += leaf_paths(annotation, prefix + (name,))
        else:
            paths.append(".".join(prefix + (name,)))
    return paths


def setting_value(settings: Settings, path: str):
    value: Any = settings
    for part in path.split("."):
        value = getattr(value, part)
    return value


def describe_field(path: str) -> str:
    model: Any = Settings
    parts = path.split(".")
    for part in parts[:-1]:
        model = model.model_fields[part].annotation
    return model.model_fields[parts[-1]].description or ""


def normalise_path(key: str) -> str:
    """``llm.model``, ``LLM__MODEL``, ``REVIEWER_LLM__MODEL`` -> ``llm.model``; unknown names are a ConfigError
    naming the closest ones."""
    text = key.strip()
    if text.upper().startswith("REVIEWER_"):
        text = text[len("REVIEWER_"):]
    path = text.lower().replace("__", ".").replace("-", "_")
    paths = leaf_paths()
    if path in paths:
        return path
    import difflib

    close = difflib.get_close_matches(path, paths, n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ConfigError(f"unknown setting {key!r}{hint}: `reviewer config show` lists them all")


def normalise_path_or_none(key: str) -> str | None:
    try:
        return normalise_path(key)
    except ConfigError:
        return None


def set_config_value(key: str, value: str, path: Path | None = None) -> tuple[str, Any]:
    """Validate ``value`` for the setting ``key`` and write it into the config file (created if needed);
    returns (the setting's path, the value stored). API keys are refused: they belong in the environment."""
    import tomli_w

    dotted = normalise_path(key)
    if dotted == "llm.api_key":
        raise ConfigError("API keys are not stored in the config file: set OPENAI_API_KEY or REVIEWER_LLM__API_KEY "
                          "in the environment instead")
    path = path or config_file()
    data = read_config_file(path)
    parsed: Any = value
    if dotted == "llm.prices":
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            raise ConfigError('llm.prices takes JSON, e.g. \'{"my-model": [0.5, 1.5]}\'') from None
    candidate = json.loads(json.dumps(data))
    node = candidate
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = parsed
    token = _DEFAULTS_ONLY.set(True)
    try:
        validated = Settings(**candidate)
    except Exception as exc:
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            error = exc.errors()[0]
            allowed = error["msg"].removeprefix("Input should be ").removeprefix("String should ")
            raise ConfigError(f"{dotted}={value!r} is not valid: allowed: {allowed}") from None
        raise
    finally:
        _DEFAULTS_ONLY.reset(token)
    stored = setting_value(validated, dotted)
    if isinstance(stored, Path):
        stored = str(stored)
    elif isinstance(stored, dict):
        stored = {k: list(v) if isinstance(v, tuple) else v for k, v in stored.items()}
    node[parts[-1]] = stored
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomli_w.dumps(candidate), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the config file {path}: {exc.strerror or exc}") from None
    return dotted, stored


__all__ = ["Settings", "config_file", "config_dir", "data_dir", "deprecated_names", "setting_origin", "GateSettings", "EmbeddingSettings", "IngestSettings", "RetrievalSettings", "LLMSettings", "load_settings"]
