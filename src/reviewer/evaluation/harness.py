"""`reviewer eval retrieval`: run every query of a BEIR-format data set through each search mode.

The corpus is indexed in its own library under the cache directory, named by the hash of corpus.jsonl,
so a second run on the same data embeds nothing.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reviewer.config import Settings
from reviewer.corpus.model import Paper
from reviewer.evaluation.beir import BeirDataset, load_beir
from reviewer.evaluation.metrics import DEFAULT_METRICS, evaluate


@dataclass
class ModeResult:
    mode: str
    means: dict[str, float]
    counts: dict[str, int]
    latency_p50_ms: float
    latency_p95_ms: float
    per_query: dict[str, dict[str, float | None]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        """Means (4 decimals), counts, latency, and every query's values (for `reviewer eval compare`)."""
        return {"mode": self.mode, **{m: round(v, 4) for m, v in self.means.items()},
                "queries": self.counts, "latency_p50_ms": round(self.latency_p50_ms, 1),
                "latency_p95_ms": round(self.latency_p95_ms, 1),
                "per_query": {q: {m: (None if v is None else round(v, 6)) for m, v in values.items()}
                              for q, values in self.per_query.items()}}


def corpus_hash(dataset_dir: Path) -> str:
    digest = hashlib.sha256()
    with open(dataset_dir / "corpus.jsonl", "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def eval_db(dataset_dir: Path) -> Path:
    from platformdirs import user_cache_dir

    root = Path(os.environ.get("REVIEWER_CACHE_DIR") or user_cache_dir("reviewer"))
    return root / "eval" / f"{dataset_dir.name}-{corpus_hash(dataset_dir)}-v2"  # v2: sentence-vector layout


def open_eval_library(dataset: BeirDataset, db: Path, settings: Settings | None = None, *, embedder=None,
                      progress=None):
    """The data set's own library (built on first use; reused while corpus.jsonl is unchanged)."""
    from reviewer.index.ingest import IngestReport, store_papers
    from reviewer.library import Library

    settings = (settings or Settings()).model_copy(update={"db": db, "chroma_url": None})
    library = Library.open(settings=settings, embedder=embedder)
    if len(library) != len(dataset.corpus):
        papers = [Paper(key=doc.id, title=doc.title, abstract=doc.text, provenance=[f"corpus.jsonl:{doc.id}"])
                  for doc in dataset.corpus.values()]
        wrote = store_papers(papers, library.store, library.embedder.embed_array, IngestReport(),
                             batch_size=settings.ingest.upsert_batch, progress=progress)
        library.keyword_index(rebuild=wrote)
    return library


def run(library, dataset: BeirDataset, modes: Sequence[str], *, depth: int = 100,
        metrics: Sequence[str] = DEFAULT_METRICS, progress=None) -> list[ModeResult]:
    """Every query through every mode; metrics as defined in shared/eval/README.md.
    ``progress(done, total)`` is called after each query of each mode."""
    results = []
    queries = [dataset.queries[qid] for qid in sorted(dataset.qrels) if qid in dataset.queries]
    total = len(queries) * len(modes)
    for number, mode in enumerate(modes):
        library.search(queries[0].text, k=depth, mode=mode)  # warm: model, indexes, caches
        rankings, latencies = {}, []
        for done, query in enumerate(queries, start=1):
            started = time.perf_counter()
            hits = library.search(query.text, k=depth, mode=mode)
            latencies.append((time.perf_counter() - started) * 1000)
            rankings[query.id] = [h.key for h in hits]
            if progress:
                progress(number * len(queries) + done, total)
        scored = evaluate(rankings, dataset.qrels, metrics)
        results.append(ModeResult(mode, scored.means, scored.counts, float(np.percentile(latencies, 50)),
                                  float(np.percentile(latencies, 95)), scored.per_query))
    return results


def evaluate_dataset(path: str | Path, modes: Sequence[str], settings: Settings | None = None, *,
                     embedder=None, progress=None, query_progress=None) -> tuple[BeirDataset, list[ModeResult]]:
    """Index the data set (cached) and run ``modes`` on it. ``progress`` follows the indexing,
    ``query_progress`` the queries (both as ``(done, total)``)."""
    dataset_dir = Path(path)
    dataset = load_beir(dataset_dir)
    library = open_eval_library(dataset, eval_db(dataset_dir), settings, embedder=embedder, progress=progress)
    return dataset, run(library, dataset, modes, progress=query_progress)
