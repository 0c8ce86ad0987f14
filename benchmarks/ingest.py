"""Ingest throughput on the sample corpus, measured in one run.

Prints: raw embedder throughput (abstracts/s, model already loaded): embedding exactly what ingest embeds
for each abstract (the paper and each of its sentences, the latter used by hybrid search), and, for
comparison, the paper texts alone; end-to-end ingest throughput into a fresh embedded Chroma (parse + dedupe
+ keys + embed + upsert + keyword index + vector mirror); the ratio of end-to-end to raw (target >= 0.9),
and the time of a second, unchanged ingest (target <= 1 s).

    .venv/bin/python benchmarks/ingest.py [PATH ...]     (default: ../shared/seeds)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> None:
    from reviewer.config import Settings
    from reviewer.corpus import load
    from reviewer.index.embedder import LocalMiniLMEmbedder
    from reviewer.index.ingest import paper_sentences
    from reviewer.library import Library

    paths = argv or [str(REPO.parent / "shared" / "seeds")]
    papers = load(paths).papers
    texts = [p.embedding_text() for p in papers]
    embedder = LocalMiniLMEmbedder()
    embedder.embed_array(texts[:8])  # load the model once: both figures below exclude model loading

    t0 = time.perf_counter()
    embedder.embed_array(texts)
    papers_only = len(texts) / (time.perf_counter() - t0)
    sentences = [s for p in papers for s in paper_sentences(p)]
    t0 = time.perf_counter()
    embedder.embed_array(texts + sentences)
    raw = len(texts) / (time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as tmp:
        library = Library.open(settings=Settings(db=Path(tmp) / "db"), embedder=embedder)
        t0 = time.perf_counter()
        first = library.ingest(paths)
        e2e_seconds = time.perf_counter() - t0
        e2e = len(first.new) / e2e_seconds

        reopened = Library.open(settings=Settings(db=Path(tmp) / "db"), embedder=embedder)
        t0 = time.perf_counter()
        second = reopened.ingest(paths)
        again = time.perf_counter() - t0

    print(f"corpus: {', '.join(paths)}: {first.records} records, {len(papers)} unique papers")
    print(f"raw embedder throughput:     {raw:7.1f} abstracts/s  ({len(texts)} papers + {len(sentences)} sentences,"
          " batched by length)")
    print(f"  (paper texts alone:        {papers_only:7.1f} abstracts/s)")
    print(f"end-to-end ingest:           {e2e:7.1f} papers/s     ({e2e_seconds:.1f} s for {len(first.new)} papers)")
    print(f"ratio end-to-end / raw:      {e2e / raw:7.2f}            (target >= 0.9)")
    print(f"second, unchanged ingest:    {again:7.2f} s           (target <= 1 s; {second.embedded} embedded,"
          f" {len(second.unchanged)} unchanged)")


if __name__ == "__main__":
    main(sys.argv[1:])
