"""The local embedder against sentence-transformers' own vectors, and its LangChain / Chroma faces."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

from reviewer.config import Settings
from reviewer.errors import ConfigError
from reviewer.index import onnx_minilm
from reviewer.index.embedder import LocalMiniLMEmbedder, OpenAIEmbedder, make_embedder

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text())
TOL = 1e-5

# Texts of very different lengths, so length-sorted batches really reorder them.
MIXED = [
    REFERENCE["texts"][3],
    "short",
    "",
    "Sparse mixture-of-experts layers route each token to a few experts.",
    REFERENCE["texts"][0],
    "a b c d e f g h i j k l m n o p q r s t u v w x y z " * 3,
    "Contrastive pre-training aligns image and text encoders in a shared space; zero-shot transfer follows.",
    "GPU",
    REFERENCE["texts"][2],
    "Why do large language models hallucinate citations, and how can retrieval reduce it? " * 4,
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("reviewer-cache")
    with pytest.MonkeyPatch.context() as mp:
        # Also reaches embedders Chroma rebuilds from a collection's config.
        mp.setenv("REVIEWER_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="module")
def embedder(cache_dir):
    return LocalMiniLMEmbedder(batch_size=4)


@pytest.fixture
def no_chroma_default(monkeypatch):
    """Make Chroma's downloading default embedder fail loudly if anything falls back to it."""
    from chromadb.api.types import DefaultEmbeddingFunction
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    def refuse(self, input):  # Chroma checks the (self, input) signature
        raise AssertionError("Chroma's default (downloading) embedding function was used")

    def refuse_download(self, *args, **kwargs):
        raise AssertionError("Chroma tried to download its default model")

    monkeypatch.setattr(DefaultEmbeddingFunction, "__call__", refuse)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "__call__", refuse)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "_download_model_if_not_exists", refuse_download)


# --------------------------------------------------------------------------------------------- numbers
def test_matches_sentence_transformers_reference(embedder):
    got = embedder.embed_array(REFERENCE["texts"])
    want = np.array(REFERENCE["vectors"], dtype=np.float32)
    assert got.shape == want.shape == (4, 384)
    assert np.abs(got - want).max() < TOL


def test_long_text_is_truncated_to_max_tokens(embedder):
    long_text = REFERENCE["texts"][3]
    assert REFERENCE["token_counts_untruncated"][3] > 256
    assert len(embedder.runner.token_ids([long_text])[0]) == 256
    # Words beyond the 256th word piece change nothing.
    padded = embedder.embed_query(long_text + " completely different trailing words" * 20)
    assert np.abs(np.array(padded) - np.array(embedder.embed_query(long_text))).max() < TOL


def test_max_tokens_setting_changes_truncation(cache_dir):
    short_window = LocalMiniLMEmbedder(max_tokens=128)
    assert len(short_window.runner.token_ids([REFERENCE["texts"][3]])[0]) == 128
    want = np.array(REFERENCE["vectors"][3])
    assert np.abs(np.array(short_window.embed_query(REFERENCE["texts"][3])) - want).max() > 1e-3


def test_length_batching_keeps_results_and_order(embedder):
    batched = embedder.embed_array(MIXED)  # batch_size=4: sorted by length, padded per batch
    one_by_one = np.stack([embedder.embed_array([t])[0] for t in MIXED])
    assert np.abs(batched - one_by_one).max() < TOL
    for batch_size, max_batch_tokens in ((1, 4096), (3, 4096), (64, 4096), (64, 300)):
        other = LocalMiniLMEmbedder(batch_size=batch_size, max_batch_tokens=max_batch_tokens).embed_array(MIXED)
        assert np.abs(other - one_by_one).max() < TOL


def test_batches_respect_both_limits():
    lengths = [300, 5, 256, 17, 17, 130, 2, 256, 64, 9]
    for batch_size, max_batch_tokens in ((4, 4096), (32, 512), (3, 10**9), (32, 100)):
        batches = onnx_minilm.length_batches(lengths, batch_size, max_batch_tokens)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        widths = [lengths[i] for b in batches for i in b]
        assert widths == sorted(widths)  # grouped by length
        for b in batches:
            assert len(b) <= batch_size
            assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= max_batch_tokens
    assert onnx_minilm.length_batches([], 32, 4096) == []


def test_unit_norm_dimension_dtype(embedder):
    vectors = embedder.embed_array(MIXED)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(MIXED), embedder.dimension) == (len(MIXED), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_inputs(embedder):
    assert embedder.embed_documents([]) == []
    assert embedder.embed_array([]).shape == (0, 384)
    assert embedder([]) == []
    assert len(embedder.embed_query("")) == 384  # an empty text still has [CLS] [SEP]


def test_rejects_a_bare_string(embedder):
    with pytest.raises(TypeError):
        embedder.embed_documents("not a list")


# --------------------------------------------------------------------------------------------- LangChain face
def test_langchain_interface(embedder):
    from langchain_core.embeddings import Embeddings

    assert isinstance(embedder, Embeddings)
    assert embedder.name == "all-MiniLM-L6-v2" and embedder.dimension == 384
    docs = embedder.embed_documents(["alpha", "beta"])
    assert isinstance(docs, list) and all(isinstance(x, float) for x in docs[0])
    query = embedder.embed_query("alpha")
    assert isinstance(query, list) and len(query) == 384
    assert np.abs(np.array(query) - np.array(docs[0])).max() < TOL


def test_model_loads_lazily_and_is_shared(cache_dir):
    fresh = LocalMiniLMEmbedder(batch_size=7)
    assert fresh._runner is None
    fresh.embed_query("x")
    assert fresh._runner is LocalMiniLMEmbedder(batch_size=7).load()._runner


def test_importing_the_module_loads_nothing_heavy():
    code = (
        "import sys, reviewer.index.embedder as e; e.LocalMiniLMEmbedder(); "
        "heavy = {'onnxruntime', 'onnx', 'tokenizers', 'chromadb', 'langchain_openai'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------------- ONNX cache
def test_onnx_is_cached_once(cache_dir, embedder):
    embedder.load()
    files = list((cache_dir / "onnx").glob("*.onnx"))
    assert len(files) == 1 and embedder.runner.onnx_path == files[0]
    before = files[0].stat().st_mtime_ns
    again = onnx_minilm.cached_onnx_path(onnx_minilm.bundled_weights_dir(), cache_dir)
    assert again == files[0] and again.stat().st_mtime_ns == before
    assert not list((cache_dir / "onnx").glob("*.tmp"))


def test_concurrent_builds_leave_one_complete_file(tmp_path):
    weights = onnx_minilm.bundled_weights_dir()
    results, errors = [], []

    def build():
        try:
            results.append(onnx_minilm.cached_onnx_path(weights, tmp_path))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1
    assert [p.name for p in (tmp_path / "onnx").iterdir()] == [results[0].name]
    import onnx

    onnx.checker.check_model(str(results[0]))


def test_damaged_cache_file_is_rebuilt(tmp_path):
    weights = onnx_minilm.bundled_weights_dir()
    path = onnx_minilm.cached_onnx_path(weights, tmp_path)
    path.write_bytes(path.read_bytes()[:1000])
    runner = onnx_minilm.MiniLMRunner(weights, onnx_minilm.RunnerOptions(), tmp_path)
    want = np.array(REFERENCE["vectors"][1], dtype=np.float32)
    assert np.abs(runner.embed([REFERENCE["texts"][1]])[0] - want).max() < TOL


def test_missing_weights_file_is_a_config_error(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match="model.safetensors"):
        LocalMiniLMEmbedder(model_dir=tmp_path, batch_size=5).embed_query("x")


# --------------------------------------------------------------------------------------------- Chroma face
def _add_and_query(client, embedder):
    collection = client.get_or_create_collection("papers", embedding_function=embedder)
    collection.add(
        ids=["fold", "bread", "mol"],
        documents=[
            "Transformers predict protein structures from amino-acid sequences.",
            "A recipe for banana bread with walnuts.",
            "Graph neural networks for molecular property prediction.",
        ],
    )
    result = collection.query(query_texts=["deep learning for biology"], n_results=3, include=["distances", "embeddings"])
    assert result["ids"][0][-1] == "bread"
    stored = collection.get(ids=["mol"], include=["embeddings"])["embeddings"][0]
    want = embedder.embed_query("Graph neural networks for molecular property prediction.")
    assert np.abs(np.array(stored) - np.array(want)).max() < TOL
    return collection


def test_chroma_ephemeral_client(embedder, no_chroma_default):
    import chromadb

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = chromadb.EphemeralClient()
        collection = _add_and_query(client, embedder)
        client.delete_collection(collection.name)
    config = collection.configuration_json["embedding_function"]
    assert config == {"type": "known", "name": "all-MiniLM-L6-v2", "config": {"max_tokens": 256}}


def test_chroma_persistent_client_reopens_with_our_embedder(tmp_path, embedder, no_chroma_default):
    import chromadb

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _add_and_query(chromadb.PersistentClient(path=str(tmp_path)), embedder)
        reopened = chromadb.PersistentClient(path=str(tmp_path))
        # Passed explicitly: used as is.
        hits = reopened.get_collection("papers", embedding_function=embedder).query(query_texts=["baking"], n_results=1)
        assert hits["ids"] == [["bread"]]
        # Left out: Chroma rebuilds ours from the stored config, never its downloading default.
        hits = reopened.get_collection("papers").query(query_texts=["baking"], n_results=1)
        assert hits["ids"] == [["bread"]]


def test_chroma_refuses_another_embedder(tmp_path, embedder):
    import chromadb

    client = chromadb.PersistentClient(path=str(tmp_path))
    client.get_or_create_collection("papers", embedding_function=embedder)
    with pytest.raises(ValueError, match="embedding function"):
        client.get_or_create_collection("papers", embedding_function=OpenAIEmbedder(client=_FakeEmbeddings()))


# --------------------------------------------------------------------------------------------- OpenAI + factory
class _FakeEmbeddings:
    """Stands in for langchain_openai.OpenAIEmbeddings: unit vectors derived from the text length."""

    def __init__(self, dim: int = 1536):
        self.dim, self.calls = dim, []

    def embed_documents(self, texts):
        self.calls.append(list(texts))
        out = []
        for text in texts:
            v = np.zeros(self.dim)
            v[len(text) % self.dim] = 1.0
            out.append(v.tolist())
        return out


def test_openai_embedder_interfaces():
    fake = _FakeEmbeddings()
    emb = OpenAIEmbedder("text-embedding-3-small", client=fake)
    assert emb.name == "openai:text-embedding-3-small" and emb.name() == emb.name
    assert emb.dimension == 1536
    assert emb.embed_array(["ab", "abc"]).shape == (2, 1536)
    assert len(emb.embed_query("ab")) == 1536
    assert [v.shape for v in emb(["x"])] == [(1536,)]
    assert emb.embed_documents([]) == [] and fake.calls[-1] == ["x"]
    assert emb.get_config() == {"model": "text-embedding-3-small"}


def test_openai_dimension_of_an_unknown_model_comes_from_an_embedding():
    emb = OpenAIEmbedder("nomic-embed-text", client=_FakeEmbeddings(dim=768))
    assert emb.name == "openai:nomic-embed-text"
    assert emb.dimension == 768


def test_openai_without_key_is_a_config_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIEmbedder().embed_query("x")


def test_openai_client_is_built_lazily_without_tiktoken(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    emb = OpenAIEmbedder("text-embedding-3-large", batch_size=16)
    assert emb._client is None
    client = emb.client
    assert client.model == "text-embedding-3-large" and client.chunk_size == 16
    assert client.check_embedding_ctx_length is False
    assert emb.dimension == 3072


def test_make_embedder_follows_settings(monkeypatch):
    local = make_embedder(Settings(embedding={"batch_size": 8, "max_tokens": 128, "threads": 2}))
    assert isinstance(local, LocalMiniLMEmbedder)
    assert (local.options.batch_size, local.options.max_tokens, local.options.threads) == (8, 128, 2)
    assert local._runner is None
    remote = make_embedder(Settings(embedding={"provider": "openai", "openai_model": "text-embedding-3-large"}))
    assert isinstance(remote, OpenAIEmbedder) and remote.name == "openai:text-embedding-3-large"
    monkeypatch.setenv("REVIEWER_EMBEDDING__PROVIDER", "local")
    assert isinstance(make_embedder(), LocalMiniLMEmbedder)
