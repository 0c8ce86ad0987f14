"""Embedders: the local all-MiniLM-L6-v2 (default, no network) and OpenAI embedding models.

Every embedder speaks three dialects, so one instance serves the whole program:

* LangChain ``Embeddings``: ``embed_documents(texts) -> list[list[float]]``, ``embed_query(text) -> list[float]``.
* Chroma ``EmbeddingFunction``: ``__call__(input) -> list[np.ndarray]``, ``embed_query(input=[...])``,
  ``name()``, ``get_config()``, ``build_from_config()``, ``is_legacy()``, ``default_space()`` ... Pass it as
  ``embedding_function=`` to ``get_or_create_collection``; Chroma then records its name in the collection
  and refuses a later embedder with another name. Never leave the argument out: Chroma's implicit default
  downloads a model at first use, which fails offline.
* ``embed_array(texts) -> np.ndarray`` (float32, n x dimension, unit rows) for internal use.

``name`` is both a string and callable: ``embedder.name == "all-MiniLM-L6-v2"`` (what reviewer records) and
``embedder.name() == "all-MiniLM-L6-v2"`` (what Chroma's protocol calls, also on the class).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from reviewer.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from reviewer.config import Settings
    from reviewer.index.onnx_minilm import MiniLMRunner

LOCAL_MODEL_NAME = "all-MiniLM-L6-v2"
LOCAL_DIMENSION = 384

# Output sizes of OpenAI's embedding models (their default `dimensions`).
OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class _CallableName(str):
    """A str that returns itself when called: satisfies both ``obj.name`` and Chroma's ``obj.name()``."""

    def __call__(self) -> str:
        return str(self)


class _NameAttribute:
    """``name`` on an instance is the instance's name; on the class, the class default (Chroma calls ``cls.name()``)."""

    def __get__(self, obj: Any, cls: type) -> _CallableName:
        if obj is None:
            return _CallableName(cls._default_name)
        return _CallableName(obj._name)


class _ChromaProtocol:
    """The parts of chromadb's EmbeddingFunction protocol that are the same for every embedder here.

    Not a subclass of chromadb's class, so importing this module does not import chromadb (0.8 s).
    """

    _default_name: str = ""
    _name: str = ""
    name = _NameAttribute()

    # Subclasses define embed_array(texts) -> float32 array (n x dimension, unit rows); the rest builds on it.
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str | None = None, *, input: Sequence[str] | None = None):  # noqa: A002
        """LangChain: ``embed_query(text) -> list[float]``. Chroma: ``embed_query(input=[...]) -> list[ndarray]``."""
        if input is not None:
            return self(input)
        if not isinstance(text, str):
            raise TypeError(f"embed_query expects a string, got {type(text).__name__}")
        return self.embed_array([text])[0].tolist()

    # Chroma calls ef(input=[...]) for documents; each embedding must be a 1-D numpy array.
    def __call__(self, input: Sequence[str]) -> list[np.ndarray]:  # noqa: A002 - Chroma's parameter name
        return list(self.embed_array(list(input)))

    def embed_with_retries(self, input: Sequence[str], **_retry: Any) -> list[np.ndarray]:  # noqa: A002
        return self(input)

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        # Vectors have unit length: cosine, l2 and ip rank alike; cosine distances are the easiest to read.
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine", "l2", "ip"]

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        return None

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        return None

    def _register_with_chroma(self) -> None:
        """Let Chroma rebuild this embedder from a collection's stored config (get_collection without one).

        Done only when Chroma is already imported; creating a collection with this embedder registers it too.
        """
        registry = sys.modules.get("chromadb.utils.embedding_functions")
        if registry is not None:
            registry.known_embedding_functions[self._name] = type(self)


# --------------------------------------------------------------------------------------------- local MiniLM
_runners: dict[tuple, "MiniLMRunner"] = {}
_runners_lock = threading.Lock()


def _shared_runner(model_dir: Path | None, options: Any, cache_dir: Path | None) -> "MiniLMRunner":
    """One tokenizer + onnxruntime session per (weights, options) in the process, built on first use."""
    from reviewer.index import onnx_minilm

    key = (str(model_dir) if model_dir else None, options, str(cache_dir) if cache_dir else None)
    with _runners_lock:
        runner = _runners.get(key)
        if runner is None:
            weights = Path(model_dir) if model_dir else onnx_minilm.bundled_weights_dir()
            runner = onnx_minilm.MiniLMRunner(weights, options, cache_dir)
            if runner.dimension != LOCAL_DIMENSION:
                raise ConfigError(
                    f"{weights} holds a model with {runner.dimension}-dimensional outputs, not all-MiniLM-L6-v2 "
                    f"({LOCAL_DIMENSION}); point the embedder at an all-MiniLM-L6-v2 snapshot."
                )
            _runners[key] = runner
        return runner


class LocalMiniLMEmbedder(_ChromaProtocol, Embeddings):
    """all-MiniLM-L6-v2 (384 dimensions) with onnxruntime; weights from a package, no network, no torch.

    Matches sentence-transformers' output (mean pooling, L2 norm, 256-word-piece truncation) to ~1e-7.
    The model is loaded on first use; instances with equal settings share one loaded model.
    """

    _default_name = LOCAL_MODEL_NAME

    def __init__(
        self,
        *,
        batch_size: int = 32,
        max_tokens: int = 256,
        threads: int = 0,
        model_dir: str | Path | None = None,
        cache_dir: str | Path | None = None,
        optimization: str = "all",
        max_batch_tokens: int = 2048,
    ):
        from reviewer.index.onnx_minilm import RunnerOptions

        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}.")
        if not 1 <= max_tokens <= 512:
            raise ConfigError(f"max_tokens must be between 1 and 512 (the model's position limit), got {max_tokens}.")
        if optimization not in ("disable", "basic", "extended", "all"):
            raise ConfigError(f"optimization must be disable, basic, extended or all, got {optimization!r}.")
        self._name = LOCAL_MODEL_NAME
        self.options = RunnerOptions(
            batch_size=batch_size,
            max_tokens=max_tokens,
            threads=threads,
            optimization=optimization,
            max_batch_tokens=max_batch_tokens,
        )
        self.model_dir = Path(model_dir).expanduser() if model_dir else None
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else None
        self._runner: MiniLMRunner | None = None
        self._register_with_chroma()

    @property
    def dimension(self) -> int:
        return LOCAL_DIMENSION

    @property
    def runner(self) -> "MiniLMRunner":
        if self._runner is None:
            self._runner = _shared_runner(self.model_dir, self.options, self.cache_dir)
        return self._runner

    def load(self) -> "LocalMiniLMEmbedder":
        """Load the model now instead of at the first call (e.g. before timing, or in a REPL's start-up)."""
        _ = self.runner
        return self

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts)
        if not texts:
            return np.empty((0, LOCAL_DIMENSION), dtype=np.float32)
        return self.runner.embed(texts)

    # Chroma stores this in the collection and calls build_from_config with it when no embedder is passed.
    # Only what changes the vectors goes in: batch size and threads are this machine's business.
    def get_config(self) -> dict[str, Any]:
        return {"max_tokens": self.options.max_tokens}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "LocalMiniLMEmbedder":
        return LocalMiniLMEmbedder(max_tokens=int(config.get("max_tokens", 256)))

    def __repr__(self) -> str:
        source = str(self.model_dir) if self.model_dir else "bundled"
        return f"LocalMiniLMEmbedder(weights={source}, batch_size={self.options.batch_size}, max_tokens={self.options.max_tokens}, threads={self.options.threads})"


# --------------------------------------------------------------------------------------------- OpenAI
class OpenAIEmbedder(_ChromaProtocol, Embeddings):
    """An OpenAI (or OpenAI-compatible) embedding model through langchain_openai; needs an API key.

    Texts are sent as strings (``check_embedding_ctx_length=False``): no tiktoken download, and servers that
    accept only strings (Ollama, vLLM, llama.cpp) work too. Pass ``client`` to inject any LangChain
    Embeddings (tests do).
    """

    _default_name = "openai:text-embedding-3-small"

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        batch_size: int = 32,
        api_key: str | None = None,
        base_url: str | None = None,
        client: Embeddings | None = None,
    ):
        self.model = model
        self.batch_size = batch_size
        self.api_key = api_key
        self.base_url = base_url
        self._name = f"openai:{model}"
        self._client = client
        self._dimension: int | None = OPENAI_DIMENSIONS.get(model)
        self._register_with_chroma()

    @property
    def dimension(self) -> int:
        """From a table for OpenAI's models; otherwise learnt from the first embedding (one request if needed)."""
        if self._dimension is None:
            self._dimension = int(self.embed_array(["dimension probe"]).shape[1])
        return self._dimension

    @property
    def client(self) -> Embeddings:
        if self._client is None:
            try:
                from langchain_openai import OpenAIEmbeddings
            except ImportError as exc:  # pragma: no cover - pinned dependency
                raise ConfigError("The OpenAI embedder needs langchain-openai: pip install langchain-openai.") from exc
            if not (self.api_key or os.environ.get("OPENAI_API_KEY")):
                raise ConfigError(
                    "The OpenAI embedder needs an API key: set OPENAI_API_KEY, or use the local embedder "
                    "(REVIEWER_EMBEDDING__PROVIDER=local)."
                )
            kwargs: dict[str, Any] = {
                "model": self.model,
                "chunk_size": self.batch_size,
                "check_embedding_ctx_length": False,
                "max_retries": 2,
            }
            if self.api_key:
                kwargs["api_key"] = self.api_key
            if self.base_url:
                kwargs["base_url"] = self.base_url
            self._client = OpenAIEmbeddings(**kwargs)
        return self._client

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts)
        if not texts:
            return np.empty((0, self._dimension or 0), dtype=np.float32)
        array = np.asarray(self.client.embed_documents(texts), dtype=np.float32)
        if self._dimension is None:
            self._dimension = int(array.shape[1])
        return array

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "OpenAIEmbedder":
        return OpenAIEmbedder(model=config.get("model", "text-embedding-3-small"))

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(model={self.model!r}, base_url={self.base_url!r})"


# --------------------------------------------------------------------------------------------- helpers
def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a list of strings, got one string (use embed_query for a single text)")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text {i} is {type(text).__name__}, not str")
    return texts


Embedder = LocalMiniLMEmbedder | OpenAIEmbedder


def make_embedder(settings: "Settings | None" = None) -> Embedder:
    """The embedder the settings ask for (``settings.embedding.provider``); nothing is loaded until first use."""
    if settings is None:
        from reviewer.config import load_settings

        settings = load_settings()
    emb = settings.embedding
    if emb.provider == "local":
        return LocalMiniLMEmbedder(
            batch_size=emb.batch_size,
            max_tokens=emb.max_tokens,
            threads=emb.threads,
            # Optional settings; honoured when config.py has them.
            model_dir=getattr(emb, "model_dir", None),
            cache_dir=getattr(settings, "cache_dir", None),
        )
    if emb.provider == "openai":
        return OpenAIEmbedder(
            model=emb.openai_model,
            batch_size=emb.batch_size,
            api_key=_secret(getattr(emb, "openai_api_key", None)),
            base_url=getattr(emb, "openai_base_url", None),
        )
    raise ConfigError(f"Unknown embedding provider {emb.provider!r}: use 'local' or 'openai'.")


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


__all__ = [
    "LocalMiniLMEmbedder",
    "OpenAIEmbedder",
    "Embedder",
    "make_embedder",
    "LOCAL_MODEL_NAME",
    "LOCAL_DIMENSION",
    "OPENAI_DIMENSIONS",
]
