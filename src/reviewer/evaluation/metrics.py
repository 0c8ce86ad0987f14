"""Ranking metrics: nDCG@k, Recall@k, MRR@k and their mean over queries.

Definitions (the ones the project's reference figures use, see shared/eval/README.md):

- nDCG@k: the gain of a document is its qrel score as given (graded, possibly fractional;
  linear, not ``2**rel - 1``); rank ``r`` (1-based) is discounted by ``log2(r + 1)``;
  the ideal DCG sorts the query's own judged scores in descending order and takes the top
  ``k``. Unjudged documents have gain 0. A query whose ideal DCG is 0 scores 0.
- Recall@k: relevant means ``score >= threshold`` (1.0 by default); the fraction of the
  query's relevant documents found in the top ``k``.
- MRR@k: ``1 / rank`` of the first relevant document within the top ``k``, else 0.
- Recall and MRR are undefined (``None``) for a query with no relevant document, and such
  queries are left out of those averages; nDCG averages over every judged query.

A ranking is a sequence of document ids, best first (``(id, score)`` pairs are accepted
too, as returned by :func:`reviewer.retrieval.fusion.rrf`). A repeated id counts only at
its first position.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

Qrels = Mapping[str, Mapping[str, float]]
"""query id -> {document id -> graded relevance score}; judged pairs only."""

RELEVANCE_THRESHOLD = 1.0


def _ids(ranking: Iterable[str | tuple[str, float]]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in ranking:
        doc_id = item if isinstance(item, str) else item[0]
        if doc_id not in seen:
            seen.add(doc_id)
            out.append(doc_id)
    return out


def _check_k(k: int) -> None:
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def dcg(gains: Iterable[float]) -> float:
    """Sum of ``gain / log2(rank + 1)`` over ranks 1, 2, ..."""
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))


def ndcg_at_k(ranking: Sequence[str | tuple[str, float]], judged: Mapping[str, float], k: int = 10) -> float:
    """nDCG@k of one ranking against one query's judgements (linear gains)."""
    _check_k(k)
    ideal = dcg(sorted((float(s) for s in judged.values()), reverse=True)[:k])
    if ideal <= 0.0:
        return 0.0
    got = dcg(float(judged.get(doc_id, 0.0)) for doc_id in _ids(ranking)[:k])
    return got / ideal


def _relevant(judged: Mapping[str, float], threshold: float) -> set[str]:
    return {doc_id for doc_id, score in judged.items() if score >= threshold}


def recall_at_k(
    ranking: Sequence[str | tuple[str, float]],
    judged: Mapping[str, float],
    k: int = 100,
    threshold: float = RELEVANCE_THRESHOLD,
) -> float | None:
    """Fraction of relevant documents in the top ``k``; ``None`` if the query has none."""
    _check_k(k)
    relevant = _relevant(judged, threshold)
    if not relevant:
        return None
    found = sum(1 for doc_id in _ids(ranking)[:k] if doc_id in relevant)
    return found / len(relevant)


def mrr_at_k(
    ranking: Sequence[str | tuple[str, float]],
    judged: Mapping[str, float],
    k: int = 10,
    threshold: float = RELEVANCE_THRESHOLD,
) -> float | None:
    """Reciprocal rank of the first relevant document in the top ``k`` (0 if none there);
    ``None`` if the query has no relevant document at all."""
    _check_k(k)
    relevant = _relevant(judged, threshold)
    if not relevant:
        return None
    for rank, doc_id in enumerate(_ids(ranking)[:k], start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


_METRICS = {"ndcg": ndcg_at_k, "recall": recall_at_k, "mrr": mrr_at_k}
DEFAULT_METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


def _parse_metric(name: str) -> tuple[str, int]:
    base, sep, k = name.lower().partition("@")
    if base not in _METRICS or not sep or not k.isdigit() or int(k) < 1:
        raise ValueError(f"unknown metric {name!r}: use ndcg@K, recall@K or mrr@K with K >= 1")
    return base, int(k)


@dataclass(frozen=True)
class Evaluation:
    """Mean of each metric over the queries it is defined for, and the per-query values.

    ``counts[name]`` is how many queries went into ``means[name]``; ``per_query[qid][name]``
    is ``None`` where the metric is undefined for that query.
    """

    means: dict[str, float]
    counts: dict[str, int]
    per_query: dict[str, dict[str, float | None]] = field(repr=False)

    def format(self, digits: int = 3) -> str:
        """One line, e.g. ``ndcg@10=0.710 (n=20)  recall@10=0.412 (n=17)``."""
        return "  ".join(f"{m}={v:.{digits}f} (n={self.counts[m]})" for m, v in self.means.items())


def evaluate(
    run: Mapping[str, Sequence[str | tuple[str, float]]],
    qrels: Qrels,
    metrics: Sequence[str] = DEFAULT_METRICS,
    threshold: float = RELEVANCE_THRESHOLD,
) -> Evaluation:
    """Score a run (query id -> ranking) against qrels and average over queries.

    Every query in ``qrels`` is evaluated; a query missing from ``run`` counts as an empty
    ranking. Queries in ``run`` without judgements are ignored.
    """
    parsed = [(name, *_parse_metric(name)) for name in metrics]
    per_query: dict[str, dict[str, float | None]] = {}
    for qid in sorted(qrels):
        judged = qrels[qid]
        ranking = run.get(qid, ())
        values: dict[str, float | None] = {}
        for name, base, k in parsed:
            if base == "ndcg":
                values[name] = ndcg_at_k(ranking, judged, k)
            else:
                values[name] = _METRICS[base](ranking, judged, k, threshold)
        per_query[qid] = values
    means: dict[str, float] = {}
    counts: dict[str, int] = {}
    for name, _, _ in parsed:
        defined = [v[name] for v in per_query.values() if v[name] is not None]
        counts[name] = len(defined)
        means[name] = sum(defined) / len(defined) if defined else 0.0
    return Evaluation(means=means, counts=counts, per_query=per_query)


__all__ = [
    "Qrels",
    "RELEVANCE_THRESHOLD",
    "DEFAULT_METRICS",
    "Evaluation",
    "dcg",
    "ndcg_at_k",
    "recall_at_k",
    "mrr_at_k",
    "evaluate",
]
