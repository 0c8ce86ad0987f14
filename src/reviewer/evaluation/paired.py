"""Paired comparison of two retrieval runs on the same queries: `reviewer eval compare`.

For each data set both runs were measured on, the per-query values of one metric (nDCG@10 by default) are
paired by query id. Reported: the mean of each run, the mean difference (B − A), how many queries B wins,
loses and ties (|difference| < 1e-9), and a two-sided **paired randomization test** (sign-flip permutation
test on the mean difference; Fisher-Pitman): under the null hypothesis that A and B are exchangeable, each
query's difference is equally likely to have either sign. The p-value is the share of sign assignments whose
mean difference is at least as far from 0 as the observed one — computed exactly over all 2^n assignments
when n ≤ 16 queries, otherwise estimated from 20,000 random assignments (fixed seed, so it is reproducible)
as ``(hits + 1) / (draws + 1)``.

A difference is called significant at p < 0.05. The project's rule for retrieval changes: keep a change only
when it does not lose significantly on any data set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
EXACT_UP_TO = 16
DRAWS = 20_000
SEED = 0
TIE = 1e-9


@dataclass(frozen=True)
class Paired:
    """One data set's paired comparison of run A and run B on one metric."""

    dataset: str
    metric: str
    queries: int
    mean_a: float
    mean_b: float
    wins: int  # queries where B is better
    losses: int  # queries where B is worse
    ties: int
    p_value: float

    @property
    def delta(self) -> float:
        return self.mean_b - self.mean_a

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    @property
    def verdict(self) -> str:
        if not self.significant:
            return "no significant difference"
        return "B significantly better" if self.delta > 0 else "B significantly worse"

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "metric": self.metric, "queries": self.queries,
                "mean_a": round(self.mean_a, 4), "mean_b": round(self.mean_b, 4), "delta": round(self.delta, 4),
                "wins": self.wins, "losses": self.losses, "ties": self.ties, "p_value": round(self.p_value, 4),
                "verdict": self.verdict}


def randomization_p(differences) -> float:
    """Two-sided p-value of the paired randomization (sign-flip) test of mean(differences) = 0."""
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.abs(d) >= TIE]  # a zero difference is the same under either sign
    n = d.size
    if n == 0:
        return 1.0
    observed = abs(d.sum())
    if n <= EXACT_UP_TO:
        signs = 1 - 2 * ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1)  # every assignment of signs
        sums = np.abs(signs @ d)
        return float(np.mean(sums >= observed - 1e-12))
    rng = np.random.default_rng(SEED)
    hits = 0
    for start in range(0, DRAWS, 2_000):
        signs = rng.choice((-1.0, 1.0), size=(min(2_000, DRAWS - start), n))
        hits += int(np.sum(np.abs(signs @ d) >= observed - 1e-12))
    return (hits + 1) / (DRAWS + 1)


def paired(dataset: str, metric: str, a: Mapping[str, float | None], b: Mapping[str, float | None]) -> Paired:
    """Compare per-query values ``a`` and ``b`` (query id -> value; None: undefined for that query, left out)."""
    shared = sorted(q for q in a if q in b and a[q] is not None and b[q] is not None)
    va = np.array([a[q] for q in shared], dtype=np.float64)
    vb = np.array([b[q] for q in shared], dtype=np.float64)
    diff = vb - va
    return Paired(dataset, metric, len(shared), float(va.mean()) if shared else 0.0,
                  float(vb.mean()) if shared else 0.0, int(np.sum(diff >= TIE)), int(np.sum(diff <= -TIE)),
                  int(np.sum(np.abs(diff) < TIE)), randomization_p(diff))


__all__ = ["Paired", "paired", "randomization_p", "ALPHA"]
