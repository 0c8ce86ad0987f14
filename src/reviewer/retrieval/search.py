"""Search over a library: BM25, plain cosine, and their fusions.

Modes (``settings.retrieval.mode``, ``--mode``):

- ``bm25``: keyword search alone (bm25s).
- ``cosine``: plain cosine of the query and each paper: the exact nearest ``depth`` of the vector mirror, ties
  broken by key (:func:`exact_nearest`).
- ``rrf`` (the default): reciprocal rank fusion of the ``bm25`` and ``cosine`` lists (k=60, top ``depth`` of each).
- ``dense``: a long-query-aware dense list: each candidate (dense top ``depth`` plus BM25 top ``depth``) scores
  ``cos(query, paper) + mean over the query's 2-sentence windows of the best cos(window, paper sentence)``.
- ``hybrid``: reciprocal rank fusion of ``bm25`` and ``dense``.

``rrf`` is the default because nothing else beat it on all three dev sets together (doris-mae-dev,
scifact-train, scholarqa-multi; see the README): the sentence-window term of ``dense``/``hybrid`` helps paragraph
queries on doris-mae-dev, but the gain did not hold on unseen DORIS-MAE queries and it loses on scholarqa-multi.

Every result carries its 1-based rank in each list that has it (:attr:`Ranked.ranks`), which the evidence gate
(:mod:`reviewer.gate`) uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from reviewer.retrieval.fusion import coverage_scores, rrf, sentence_windows, split_sentences
from reviewer.retrieval.mmr import mmr

Mode = Literal["bm25", "cosine", "dense", "rrf", "hybrid"]
MODES: tuple[str, ...] = ("bm25", "cosine", "dense", "rrf", "hybrid")


@dataclass
class Filters:
    """Which papers may be returned. Empty filters allow everything."""

    year_min: int | None = None
    year_max: int | None = None
    source: str | None = None  # substring of a provenance file path
    venue: str | None = None  # case-insensitive substring
    keys: Sequence[str] | None = None  # only these
    exclude: Sequence[str] = field(default_factory=tuple)

    def active(self) -> bool:
        return any(v is not None for v in (self.year_min, self.year_max, self.source, self.venue, self.keys)) or bool(
            self.exclude)

    def allows(self, paper) -> bool:
        if self.keys is not None and paper.key not in set(self.keys):
            return False
        if paper.key in set(self.exclude):
            return False
        if self.year_min is not None and (paper.year is None or paper.year < self.year_min):
            return False
        if self.year_max is not None and (paper.year is None or paper.year > self.year_max):
            return False
        if self.source and not any(self.source in p.rsplit(":", 1)[0] for p in paper.provenance):
            return False
        if self.venue and self.venue.lower() not in (paper.venue or "").lower():
            return False
        return True


@dataclass
class Ranked:
    """One fused result before papers are fetched."""

    key: str
    score: float
    found_by: list[str]
    ranks: dict[str, int] = field(default_factory=dict)  # 1-based rank in each retriever's list that has it
    relevance: float = 0.0  # ``score`` on a 0-1 scale (see :func:`relevance`)


def relevance(mode: str, score: float, *, lists: int = 2, rrf_k: float = 60.0, best: float = 0.0) -> float:
    """A raw ``score`` of ``mode`` on a 0-1 scale, for people: a fused score over the most it can be (first in
    every list: ``lists / (rrf_k + 1)``); a cosine as is (negative: 0); ``dense`` (cosine + coverage, each at
    most 1) halved; BM25 over the best score of the query (``best``), whose scale depends on the query."""
    if mode in ("rrf", "hybrid"):
        value = score * (rrf_k + 1) / lists
    elif mode == "dense":
        value = score / 2
    elif mode == "bm25":
        value = score / best if best > 0 else 0.0
    else:
        value = score
    return round(min(1.0, max(0.0, value)), 4)


def query_windows(query: str) -> list[str]:
    """The query's 2-sentence windows (the query itself when it has at most two sentences)."""
    return sentence_windows(split_sentences(query), 2) or [query]


def search(library, query: str, *, k: int = 10, mode: Mode = "hybrid", use_mmr: bool = False,
           filters: Filters | None = None) -> list[Ranked]:
    """Rank the library's papers for ``query``."""
    settings = library.settings.retrieval
    if mode not in MODES:
        from reviewer.errors import InputError

        raise InputError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
    allowed = None
    if filters is not None and filters.active():
        allowed = [key for key, rec in library.records().items() if filters.allows(rec.paper)]
        if not allowed:
            return []
    depth = max(settings.depth, k * (3 if use_mmr else 1))

    lists: dict[str, list[tuple[str, float]]] = {}
    query_vec = None
    if mode in ("bm25", "rrf", "hybrid"):
        lists["bm25"] = library.keyword_index().search(query, depth, allowed=allowed)
    if mode in ("cosine", "rrf"):
        query_vec = library.embedder.embed_array([query])[0]
        lists["cosine"] = _cosine(library, query_vec, depth, allowed)
    if mode in ("dense", "hybrid"):
        query_vec = library.embedder.embed_array([query])[0]
        lists["dense"] = _dense(library, query, query_vec, depth, allowed, lists.get("bm25", []))

    ranks = {name: {key: rank for rank, (key, _) in enumerate(found, start=1)} for name, found in lists.items()}
    if mode in ("rrf", "hybrid"):
        names = list(lists)
        fused = rrf([[key for key, _ in lists[name]] for name in names], k=settings.rrf_k, depth=depth)
        ranked = [Ranked(key, score, [n for n in names if key in ranks[n]], {n: ranks[n][key] for n in names
                                                                           if key in ranks[n]})
                  for key, score in fused]
    else:
        ranked = [Ranked(key, score, [mode], {mode: rank}) for rank, (key, score) in enumerate(lists[mode], start=1)]
    best = ranked[0].score if ranked else 0.0
    for item in ranked:
        item.relevance = relevance(mode, item.score, lists=len(lists), rrf_k=settings.rrf_k, best=best)

    if use_mmr and ranked:
        if query_vec is None:
            query_vec = library.embedder.embed_array([query])[0]
        pool = ranked[: max(k * 3, k)]
        vectors = library.vector_mirror().paper_vectors([r.key for r in pool])
        chosen = mmr(query_vec, vectors, [r.key for r in pool], k, lambda_=settings.mmr_lambda)
        by_key = {r.key: r for r in pool}
        return [by_key[key] for key in chosen]
    return ranked[:k]


def _cosine(library, query_vec: np.ndarray, depth: int, allowed) -> list[tuple[str, float]]:
    """Plain cosine ranking: the exact nearest ``depth`` papers of the vector mirror (see :func:`exact_nearest`)."""
    return exact_nearest(library.vector_mirror(), query_vec, depth, allowed)


def _dense(library, query: str, query_vec: np.ndarray, depth: int, allowed, bm25: list[tuple[str, float]]):
    """Dense ranking of the candidates: whole-query cosine + sentence-window coverage."""
    store = library.store  # Library.search has re-read the collection's revision (another process may write)
    nearest = exact_nearest(library.vector_mirror(), query_vec, depth, allowed)
    candidates = list(dict.fromkeys([key for key, _ in nearest] + [key for key, _ in bm25]))
    if not candidates:
        return []
    windows = query_windows(query)
    window_vecs = query_vec[None, :] if windows == [query] else library.embedder.embed_array(windows)
    mirror = library.vector_mirror()
    if any(key not in mirror for key in candidates):  # another process wrote since this library was opened
        store.refresh()
        mirror = library.vector_mirror()
        candidates = [key for key in candidates if key in mirror]
    doc_vecs = mirror.paper_vectors(candidates)
    unit_vecs, owners = mirror.sentence_vectors(candidates)
    coverage = coverage_scores(unit_vecs @ window_vecs.T, owners, len(candidates),
                               empty=0.0) if owners else np.zeros(len(candidates))
    scores = doc_vecs @ query_vec + coverage
    order = np.argsort(-scores, kind="stable")[:depth]
    return [(candidates[i], float(scores[i])) for i in order]


def exact_nearest(mirror, query_vec: np.ndarray, depth: int, allowed=None) -> list[tuple[str, float]]:
    """The ``depth`` papers of the vector mirror most similar to ``query_vec`` (among ``allowed`` keys, when
    given), by exact cosine, ties broken by key. Chroma's HNSW index is approximate: for a weak query its
    candidate list differed between processes, so the same query gave different rankings (and missed the
    response cache); one matrix-vector product over the memory-mapped mirror is exact and the same everywhere."""
    keys, scores = mirror.similarities(query_vec, allowed)
    if not keys:
        return []
    if depth < len(keys):  # the top ``depth``, and every paper tied with the last of them
        kth = np.partition(-scores, depth - 1)[depth - 1]
        top = np.flatnonzero(-scores <= kth)
    else:
        top = np.arange(len(keys))
    order = sorted(top.tolist(), key=lambda i: (-float(scores[i]), keys[i]))[:depth]
    return [(keys[i], float(scores[i])) for i in order]
