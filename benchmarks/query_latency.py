"""Warm query latency (p50, p95) of the default search (rrf) and the other modes, on the sample corpus and at
100,000 papers.

Real ingestion of 100k abstracts is too slow on a laptop CPU (about 25 abstracts/s), so the large library
is synthetic: generated texts (words drawn from the sample corpus' vocabulary) for the BM25 side, and random
unit vectors written straight to Chroma for the dense side (7 sentence vectors per paper, as real abstracts
have). Query embedding is real. Short queries are titles; long queries are 4-sentence paragraphs.

    .venv/bin/python benchmarks/query_latency.py [--papers 100000] [--queries 40]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"


def percentiles(times: list[float]) -> str:
    ms = np.array(times) * 1000
    return f"p50 {np.percentile(ms, 50):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms"


def measure(library, queries: list[str], mode: str = "rrf") -> list[float]:
    for query in queries[:5]:  # warm: the model, the indexes, and the memory-mapped vectors' pages
        library.search(query, k=10, mode=mode)
    times = []
    for query in queries:
        t0 = time.perf_counter()
        library.search(query, k=10, mode=mode)
        times.append(time.perf_counter() - t0)
    return times


def synthetic_library(db: Path, n: int, embedder, vocabulary: list[str], rng: np.random.Generator):
    from reviewer.config import Settings
    from reviewer.corpus.model import Paper
    from reviewer.library import Library

    library = Library.open(settings=Settings(db=db), embedder=embedder)
    store, dim, sentences = library.store, embedder.dimension, 7
    batch = 5_000
    for start in range(0, n, batch):
        count = min(batch, n - start)
        words = rng.choice(vocabulary, size=(count, 160))
        papers = [Paper(key=f"p{start + i}", title=" ".join(w[:8]), abstract=" ".join(w[8:]),
                        provenance=[f"synthetic:{start + i}"]) for i, w in enumerate(words)]
        vectors = rng.standard_normal((count * (1 + sentences), dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store.upsert_sentences(papers, [sentences] * count, vectors[count:])
        store.upsert(papers, vectors[:count])
    store.new_revision()
    library.keyword_index(rebuild=True)
    return library


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()

    from reviewer.config import Settings
    from reviewer.corpus import load
    from reviewer.index.embedder import LocalMiniLMEmbedder
    from reviewer.library import Library
    from reviewer.retrieval.fusion import split_sentences

    embedder = LocalMiniLMEmbedder()
    papers = load([SEEDS]).papers
    rng = np.random.default_rng(0)
    picks = rng.choice(len(papers), size=args.queries, replace=False)
    short = [papers[i].title for i in picks]
    long = [" ".join(split_sentences(papers[i].abstract)[:4]) for i in picks]
    vocabulary = sorted({w.strip(".,;:()").lower() for p in papers for w in p.abstract.split() if w.isalpha()})

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        sample = Library.open(settings=Settings(db=Path(tmp) / "sample"), embedder=embedder)
        sample.ingest([SEEDS])
        print(f"sample corpus: {len(sample)} papers (ingested in {time.perf_counter() - t0:.0f} s)")
        for mode in ("rrf", "hybrid"):
            for label, queries in (("short", short), ("long", long)):
                print(f"  {mode + (' (default)' if mode == 'rrf' else ''):14} {label:5} queries: "
                      f"{percentiles(measure(sample, queries, mode))}")
        print(f"  cosine only,   short queries: {percentiles(measure(sample, short, 'cosine'))}")

        t0 = time.perf_counter()
        big = synthetic_library(Path(tmp) / "big", args.papers, embedder, vocabulary, rng)
        print(f"\nsynthetic library: {len(big):,} papers with random unit vectors and generated texts "
              f"(built in {time.perf_counter() - t0:.0f} s; not a real ingest)")
        for mode in ("rrf", "hybrid"):
            for label, queries in (("short", short), ("long", long)):
                target = "   (target p50 <= 50 ms)" if label == "short" else "   (target p50 <= 100 ms)"
                print(f"  {mode + (' (default)' if mode == 'rrf' else ''):14} {label:5} queries: "
                      f"{percentiles(measure(big, queries, mode))}{target}")
        print(f"  cosine only,   short queries: {percentiles(measure(big, short, 'cosine'))}")
        print(f"  bm25 only,     short queries: {percentiles(measure(big, short, 'bm25'))}")


if __name__ == "__main__":
    main()
