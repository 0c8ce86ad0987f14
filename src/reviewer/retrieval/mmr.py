"""Maximal marginal relevance (Carbonell & Goldstein, SIGIR 1998) for diverse evidence sets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def mmr(
    query_vec: Sequence[float] | np.ndarray,
    cand_vecs: Sequence[Sequence[float]] | np.ndarray,
    cand_ids: Sequence[str],
    k: int,
    lambda_: float = 0.5,
) -> list[str]:
    """Pick ``k`` candidates greedily, each maximising

        ``lambda_ * sim(query, c) - (1 - lambda_) * max(sim(c, s) for s already selected)``

    where ``sim`` is cosine similarity (a zero vector has similarity 0 to everything) and the
    max over an empty selection is 0, so the first pick is the candidate most similar to the
    query. ``lambda_ = 1`` is plain similarity ranking; ``lambda_ = 0`` only avoids redundancy.
    Ties go to the candidate given first. Returns fewer than ``k`` ids when there are fewer
    candidates.
    """
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must be in [0, 1], got {lambda_!r}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k!r}")
    query = np.asarray(query_vec, dtype=np.float64).reshape(-1)
    cands = np.asarray(cand_vecs, dtype=np.float64)
    if len(cand_ids) == 0:
        return []
    if cands.ndim != 2 or cands.shape[0] != len(cand_ids):
        raise ValueError(f"cand_vecs must be a matrix with one row per id: got shape {cands.shape} for {len(cand_ids)} ids")
    if cands.shape[1] != query.shape[0]:
        raise ValueError(f"query has dimension {query.shape[0]} but candidates have {cands.shape[1]}")

    cands = _unit_rows(cands)
    relevance = cands @ _unit_rows(query)
    redundancy = np.zeros(len(cand_ids))  # max similarity to the selection; 0 while it is empty
    available = np.ones(len(cand_ids), dtype=bool)
    picked: list[int] = []
    for _ in range(min(k, len(cand_ids))):
        gain = lambda_ * relevance - (1.0 - lambda_) * redundancy
        gain[~available] = -np.inf
        best = int(np.argmax(gain))  # argmax returns the first of equal values
        picked.append(best)
        available[best] = False
        similarity = cands @ cands[best]
        redundancy = similarity if len(picked) == 1 else np.maximum(redundancy, similarity)
    return [cand_ids[i] for i in picked]


__all__ = ["mmr"]
