"""Retrieval variants against plain RRF on every dev set together (the figures behind the README's choice of the
default search mode).

Each variant is computed with exact cosine (every paper vector of the eval library) rather than through Chroma's
approximate index, from the same eval libraries `reviewer eval retrieval` builds under the cache directory (run it
once first on the data sets). For each variant and data set it prints nDCG@10, its change against plain RRF,
per-query wins/losses, and the two-sided paired randomization p-value.

    .venv/bin/python benchmarks/retrieval_variants.py ../shared/eval/doris-mae-dev ../shared/eval/scifact-train \\
        ../shared/eval/scholarqa-multi
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DEPTH, K = 100, 60


def top(scores: np.ndarray, n: int = DEPTH, positive: bool = False) -> list[int]:
    order = np.argsort(-scores, kind="stable")[:n]
    return [int(i) for i in order if not positive or scores[i] > 0]


def fused(lists, weights=None, k=K) -> list[int]:
    from reviewer.retrieval.fusion import rrf

    return [d for d, _ in rrf(lists, k, weights=weights, depth=DEPTH)]


def variants(text: str, library, keys, papers, mean_vectors, title_bm25) -> dict[str, list[int]]:
    """Every variant's ranking (indexes into ``keys``) for one query."""
    from reviewer.index.keyword import tokenize
    from reviewer.retrieval.search import query_windows

    bm = np.asarray(library.keyword_index().scores(text), dtype=np.float64)
    query = library.embedder.embed_array([text])[0]
    cos = papers @ query
    windows = query_windows(text)
    window_vecs = query[None, :] if windows == [text] else library.embedder.embed_array(windows)
    bm_list, cos_list = top(bm, positive=True), top(cos)
    pool = list(dict.fromkeys(cos_list + bm_list))
    units, owners = library.vector_mirror().sentence_vectors([keys[i] for i in pool])
    best = np.full((len(pool), window_vecs.shape[0]), -np.inf)
    if owners:
        np.maximum.at(best, np.asarray(owners, dtype=np.intp), units @ window_vecs.T)
    best[~np.isfinite(best)] = 0.0
    coverage, pool_cos = best.mean(axis=1), cos[pool]
    dense = [pool[j] for j in np.argsort(-(pool_cos + coverage), kind="stable")[:DEPTH]]
    by_coverage = [pool[j] for j in np.argsort(-coverage, kind="stable")[:DEPTH]]
    ids = title_bm25.get_tokens_ids(tokenize([text])[0])
    titled = np.asarray(title_bm25.get_scores_from_ids(ids), dtype=np.float64) if ids else np.zeros(len(keys))
    mean_list = top(mean_vectors @ query)
    return {
        "bm25": bm_list,
        "cosine": cos_list,
        "rrf (default)": fused([bm_list, cos_list]),
        "hybrid (bm25 + cosine+coverage)": fused([bm_list, dense]),
        "rrf + coverage list": fused([bm_list, cos_list, by_coverage]),
        "rrf + coverage list at weight 0.5": fused([bm_list, cos_list, by_coverage], [1, 1, 0.5]),
        "rrf of bm25, cosine, hybrid dense": fused([bm_list, cos_list, dense]),
        "hybrid for > 2 sentences, else rrf": fused([bm_list, dense if len(windows) > 1 else cos_list]),
        "rrf, cosine to mean of sentences": fused([bm_list, mean_list]),
        "rrf, titles twice in bm25": fused([top(titled, positive=True), cos_list]),
        "rrf k=20": fused([bm_list, cos_list], k=20),
    }


def run(path: Path) -> tuple[str, dict[str, dict[str, float]]]:
    """{variant: {query id: nDCG@10}} on one data set."""
    import bm25s

    from reviewer.evaluation.beir import load_beir
    from reviewer.evaluation.harness import eval_db, open_eval_library
    from reviewer.evaluation.metrics import evaluate
    from reviewer.index.keyword import tokenize

    dataset = load_beir(path)
    library = open_eval_library(dataset, eval_db(path))
    mirror = library.vector_mirror()
    keys = library.keyword_index().keys
    papers = mirror.paper_vectors(keys)
    units, owners = mirror.sentence_vectors(keys)
    sums = np.zeros_like(papers)
    np.add.at(sums, np.asarray(owners, dtype=np.intp), units)
    counts = np.bincount(np.asarray(owners, dtype=np.intp), minlength=len(keys))[:, None]
    means = np.where(counts > 0, sums, papers)
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    title_bm25 = bm25s.BM25()
    title_bm25.index(tokenize([f"{dataset.corpus[k].title} {dataset.corpus[k].full_text}" for k in keys]),
                     show_progress=False)
    runs: dict[str, dict[str, list[str]]] = {}
    for qid in sorted(dataset.qrels):
        for name, ranking in variants(dataset.queries[qid].text, library, keys, papers, means, title_bm25).items():
            runs.setdefault(name, {})[qid] = [keys[i] for i in ranking]
    return dataset.name, {name: {q: v["ndcg@10"] for q, v in evaluate(run, dataset.qrels, ["ndcg@10"]).per_query.items()}
                          for name, run in runs.items()}


def main() -> None:
    from reviewer.evaluation.paired import paired

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="+", type=Path)
    args = parser.parse_args()
    results = [run(path) for path in args.datasets]
    names = list(results[0][1])
    width = max(len(n) for n in names)
    print(f"nDCG@10 per data set: value, change vs plain RRF, per-query wins/losses, paired randomization p")
    for name in names:
        cells = []
        for dataset, scores in results:
            r = paired(dataset, "ndcg@10", scores["rrf (default)"], scores[name])
            cells.append(f"{dataset}: {r.mean_b:.3f} {r.delta:+.3f} {r.wins}/{r.losses} p={r.p_value:.2f}")
        print(f"{name:{width}}  " + "  |  ".join(cells))


if __name__ == "__main__":
    main()
