"""reviewer against the pipeline a user would otherwise write: LangChain + Chroma with the same MiniLM model.

The naive pipeline: embed each paper's title + abstract (the same texts reviewer embeds for papers, with the same
loaded embedder), ``collection.add`` them to a Chroma collection in batches, and answer a query with LangChain's
``Chroma(...).similarity_search``. reviewer: ``Library.ingest`` (parse, dedupe, keys, papers *and* sentences
embedded, Chroma, keyword index, vector mirror) and ``Library.search`` (default mode, BM25 + exact cosine fused).

Everything is measured in one run and interleaved (reviewer, naive, naive, reviewer, ...) ``--rounds`` times, so
the two share whatever else the machine is doing; the figures to compare are the ratios. Printed:

* ingest papers/s (each round into fresh folders; model loading excluded for both; parsing included for both);
* warm short (a title) and paragraph (4 sentences of an abstract) query p50/p95;
* cold process: ``reviewer search QUERY --db DIR`` vs a minimal naive search script, wall time and peak RSS;
* the machine's load average (``os.getloadavg``) at the start and the end.

Ratios are reviewer/naive for throughput (higher is better) and naive/reviewer for times (higher is better),
so >= 1.0 always means reviewer is at least as fast.

With ``--synthetic N`` a second part builds an N-paper library for each side from generated texts and random
unit vectors (as ``benchmarks/query_latency.py``; 7 sentence vectors per paper for reviewer) and measures warm
queries, cold search and disk bytes per paper there (ingest is not measured: embedding N abstracts takes too long).

    .venv/bin/python benchmarks/peers.py [--rounds 3] [--queries 30] [--synthetic 20000] [PATH ...]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"
REVIEWER = str(Path(sys.executable).with_name("reviewer"))
NAIVE_BATCH = 64
COLLECTION = "naive"

# The naive cold search, as a user would write it: open the persisted Chroma through LangChain, embed, search.
NAIVE_SEARCH = """
import sys
from langchain_chroma import Chroma
from reviewer.index.embedder import LocalMiniLMEmbedder
store = Chroma(collection_name=%r, embedding_function=LocalMiniLMEmbedder(), persist_directory=sys.argv[1])
for doc in store.similarity_search(sys.argv[2], k=10):
    print(doc.metadata.get("key"), doc.page_content[:60])
""" % COLLECTION


# ---------------------------------------------------------------------------------------------- naive pipeline
def naive_client(folder: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False))


def naive_ingest(paths: list[str], folder: Path, embedder) -> int:
    """Parse, embed title + abstract, ``collection.add`` in batches. Returns the number of papers stored."""
    from reviewer.corpus import load

    papers = load(paths).papers
    collection = naive_client(folder).get_or_create_collection(
        COLLECTION, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
    for start in range(0, len(papers), NAIVE_BATCH):
        batch = papers[start:start + NAIVE_BATCH]
        texts = [p.embedding_text() for p in batch]
        collection.add(ids=[f"{start + i}" for i in range(len(batch))], embeddings=embedder.embed_array(texts),
                       documents=texts, metadatas=[{"key": p.key, "title": p.title} for p in batch])
    return len(papers)


def naive_store(folder: Path, embedder):
    from langchain_chroma import Chroma

    return Chroma(client=naive_client(folder), collection_name=COLLECTION, embedding_function=embedder)


# ---------------------------------------------------------------------------------------------- measuring
def timed(fn):
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def pct(times: list[float], q: float) -> float:
    return float(np.percentile(np.array(times) * 1000, q))


# Run a command and report its own wall time and peak RSS. A tiny wrapper process, because a child forked
# straight from this (large) process would inherit its RSS high-water mark.
WRAPPER = """
import os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(time.perf_counter() - t0, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def cold(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one process running ``cmd`` to the end."""
    done = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, env=env)
    try:
        seconds, rss, code = done.stdout.split()
    except ValueError:
        code = "?"
    if done.returncode != 0 or code != "0":
        raise SystemExit(f"{' '.join(cmd[:3])} ... failed: {done.stderr.strip()[-300:]}")
    return float(seconds), int(rss) / 1024


def warm_queries(library, naive, queries: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Each query run by both sides back to back (order alternating), ``rounds`` times; warmed first."""
    for query in queries[:5]:
        library.search(query, k=10)
        naive.similarity_search(query, k=10)
    ours, theirs = [], []
    for r in range(rounds):
        for i, query in enumerate(queries):
            first_ours = (r + i) % 2 == 0
            if first_ours:
                ours.append(timed(lambda: library.search(query, k=10))[0])
            theirs.append(timed(lambda: naive.similarity_search(query, k=10))[0])
            if not first_ours:
                ours.append(timed(lambda: library.search(query, k=10))[0])
    return ours, theirs


def cold_searches(db: Path, naive_dir: Path, queries: list[str], rounds: int) -> dict:
    script = [sys.executable, "-c", NAIVE_SEARCH, str(naive_dir)]
    env = {**os.environ, "NO_COLOR": "1"}
    cold([REVIEWER, "search", queries[0], "--db", str(db)], env)  # warm the file cache for both
    cold(script + [queries[0]], env)
    out = {"ours": [], "theirs": [], "ours_rss": [], "theirs_rss": []}
    for r in range(rounds):
        query = queries[r % len(queries)]
        runs = [("ours", [REVIEWER, "search", query, "--db", str(db)]), ("theirs", script + [query])]
        for side, cmd in (runs if r % 2 == 0 else runs[::-1]):
            seconds, rss = cold(cmd, env)
            out[side].append(seconds)
            out[f"{side}_rss"].append(rss)
    return out


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------------- output
ROWS: list[tuple[str, str, str, str]] = []


def row(what: str, ours: str, theirs: str, ratio: float | None) -> None:
    ROWS.append((what, ours, theirs, "" if ratio is None else f"{ratio:.2f}"))
    print(f"  {what:44} reviewer {ours:>18}   naive {theirs:>18}   ratio {ROWS[-1][3]:>5}", flush=True)


def query_rows(label: str, ours: list[float], theirs: list[float]) -> None:
    for q in (50, 95):
        row(f"{label} query p{q} (ms)", f"{pct(ours, q):.1f}", f"{pct(theirs, q):.1f}", pct(theirs, q) / pct(ours, q))


def cold_rows(label: str, figures: dict) -> None:
    ours, theirs = statistics.median(figures["ours"]), statistics.median(figures["theirs"])
    row(f"{label}cold search process, median (s)", f"{ours:.2f}", f"{theirs:.2f}", theirs / ours)
    ours_rss, theirs_rss = max(figures["ours_rss"]), max(figures["theirs_rss"])
    row(f"{label}cold search peak RSS (MB)", f"{ours_rss:.0f}", f"{theirs_rss:.0f}", theirs_rss / ours_rss)


def load_note() -> str:
    return "load average (1/5/15 min): " + " / ".join(f"{x:.2f}" for x in os.getloadavg()) + f", {os.cpu_count()} CPUs"


# ---------------------------------------------------------------------------------------------- parts
def sample_part(paths: list[str], args, embedder, tmp: Path) -> None:
    from reviewer.config import Settings
    from reviewer.corpus import load
    from reviewer.library import Library
    from reviewer.retrieval.fusion import split_sentences

    papers = load(paths).papers
    rng = np.random.default_rng(0)
    picks = rng.choice(len(papers), size=min(args.queries, len(papers)), replace=False)
    short = [papers[i].title for i in picks]
    paragraph = [" ".join(split_sentences(papers[i].abstract)[:4]) for i in picks]

    print(f"sample corpus: {', '.join(paths)}: {len(papers)} papers; {args.rounds} interleaved rounds", flush=True)
    ours_rates, theirs_rates = [], []
    for r in range(args.rounds):
        db, naive_dir = tmp / f"db{r}", tmp / f"naive{r}"

        def reviewer_ingest():
            return len(Library.open(settings=Settings(db=db), embedder=embedder).ingest(paths).new)

        sides = [("ours", reviewer_ingest), ("theirs", lambda: naive_ingest(paths, naive_dir, embedder))]
        for side, run in (sides if r % 2 == 0 else sides[::-1]):
            seconds, count = timed(run)
            (ours_rates if side == "ours" else theirs_rates).append(count / seconds)
        print(f"  round {r + 1}: reviewer {ours_rates[-1]:.1f} papers/s, naive {theirs_rates[-1]:.1f} papers/s",
              flush=True)
    ours, theirs = statistics.median(ours_rates), statistics.median(theirs_rates)
    row("ingest, median of rounds (papers/s)", f"{ours:.1f}", f"{theirs:.1f}", ours / theirs)
    ours_disk, theirs_disk = disk_bytes(db) / len(papers), disk_bytes(naive_dir) / len(papers)
    row("disk per paper (KB)", f"{ours_disk / 1024:.1f}", f"{theirs_disk / 1024:.1f}", theirs_disk / ours_disk)

    library = Library.open(settings=Settings(db=db), embedder=embedder, create=False)
    naive = naive_store(naive_dir, embedder)
    query_rows("short", *warm_queries(library, naive, short, args.rounds))
    query_rows("paragraph", *warm_queries(library, naive, paragraph, args.rounds))
    cold_rows("", cold_searches(db, naive_dir, short, args.rounds))


def synthetic_part(n: int, args, embedder, tmp: Path) -> None:
    from reviewer.corpus import load
    from reviewer.retrieval.fusion import split_sentences

    sys.path.insert(0, str(REPO / "benchmarks"))
    from query_latency import synthetic_library

    papers = load([SEEDS]).papers
    rng = np.random.default_rng(1)
    picks = rng.choice(len(papers), size=min(args.queries, len(papers)), replace=False)
    short = [papers[i].title for i in picks]
    paragraph = [" ".join(split_sentences(papers[i].abstract)[:4]) for i in picks]
    vocabulary = sorted({w.strip(".,;:()").lower() for p in papers for w in p.abstract.split() if w.isalpha()})

    print(f"\nsynthetic library: {n:,} papers (generated texts, random unit vectors; queries embedded for real)",
          flush=True)
    db, naive_dir = tmp / "big", tmp / "big-naive"
    seconds, library = timed(lambda: synthetic_library(db, n, embedder, vocabulary, np.random.default_rng(2)))
    library.vector_mirror()
    print(f"  reviewer library built in {seconds:.0f} s", flush=True)
    # The naive side: the same texts and paper vectors (same generator, same seed, same draw order).
    seconds, _ = timed(lambda: _naive_synthetic(naive_dir, n, embedder.dimension, vocabulary, np.random.default_rng(2)))
    print(f"  naive collection built in {seconds:.0f} s", flush=True)
    ours_disk, theirs_disk = disk_bytes(db) / n, disk_bytes(naive_dir) / n
    row(f"{n // 1000}k: disk per paper (KB)", f"{ours_disk / 1024:.1f}", f"{theirs_disk / 1024:.1f}",
        theirs_disk / ours_disk)
    naive = naive_store(naive_dir, embedder)
    query_rows(f"{n // 1000}k: short", *warm_queries(library, naive, short, 1))
    query_rows(f"{n // 1000}k: paragraph", *warm_queries(library, naive, paragraph, 1))
    cold_rows(f"{n // 1000}k: ", cold_searches(db, naive_dir, short, args.rounds))


def _naive_synthetic(folder: Path, n: int, dim: int, vocabulary: list[str], rng) -> None:
    collection = naive_client(folder).get_or_create_collection(
        COLLECTION, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
    batch, sentences = 5_000, 7
    for start in range(0, n, batch):
        count = min(batch, n - start)
        words = rng.choice(vocabulary, size=(count, 160))
        texts = [" ".join(w[:8]) + "\n\n" + " ".join(w[8:]) for w in words]
        vectors = rng.standard_normal((count * (1 + sentences), dim)).astype(np.float32)[:count]
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        for part in range(0, count, NAIVE_BATCH * 16):
            end = min(count, part + NAIVE_BATCH * 16)
            collection.add(ids=[f"p{start + i}" for i in range(part, end)], embeddings=vectors[part:end],
                           documents=texts[part:end], metadatas=[{"key": f"p{start + i}"} for i in range(part, end)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(SEEDS)])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--synthetic", type=int, default=0, metavar="N", help="also an N-paper synthetic library")
    args = parser.parse_args()

    from reviewer.index.embedder import LocalMiniLMEmbedder

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: still remove the temporary libraries
    start_load = load_note()
    print(f"at the start: {start_load}", flush=True)
    embedder = LocalMiniLMEmbedder().load()
    embedder.embed_array(["warm up the model"])
    with tempfile.TemporaryDirectory(prefix="reviewer-peers-") as folder:
        sample_part(args.paths, args, embedder, Path(folder))
    if args.synthetic:
        with tempfile.TemporaryDirectory(prefix="reviewer-peers-") as folder:
            synthetic_part(args.synthetic, args, embedder, Path(folder))
    print(f"at the end:   {load_note()}")
    print("\n| figure | reviewer | naive LangChain + Chroma | ratio (≥ 1: reviewer faster/smaller) |")
    print("|---|---|---|---|")
    for what, ours, theirs, ratio in ROWS:
        print(f"| {what} | {ours} | {theirs} | {ratio} |")


if __name__ == "__main__":
    main()
