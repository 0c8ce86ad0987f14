"""Fusion: combine several rankings, or several views of a long query, into one.

- :func:`rrf` — reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009), optionally weighted.
  The hybrid search fuses the BM25 ranking and the dense ranking with it (k=60, equal weights).
- :func:`coverage_scores` — score-level fusion of a paragraph-long query split into sentence
  windows against documents split into sentences: for each query window take its best-matching
  sentence of the document, then average over windows ("how much of the query does the document
  cover"). The dense ranking adds it to the whole-query cosine (see :func:`long_query_dense_scores`).
- :func:`split_sentences`, :func:`sentence_windows`, :func:`pack_sentences` — the splitting rules
  those views are built with (plain regular expressions, no model).

Determinism of :func:`rrf`: contributions are added with :func:`math.fsum` (exactly rounded, so the order in
which rankings are given never changes a score), and ties are broken by the best (smallest) rank
a document has in any ranking, then by the position of the first ranking that gives it that rank.
The result therefore depends only on the inputs, never on hashing or dict order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np


def _check_weights(weights: Sequence[float] | None, n: int) -> list[float]:
    if weights is None:
        return [1.0] * n
    if len(weights) != n:
        raise ValueError(f"got {len(weights)} weights for {n} rankings; give one weight per ranking")
    out = [float(w) for w in weights]
    if any(not math.isfinite(w) or w < 0 for w in out):
        raise ValueError(f"weights must be finite and >= 0, got {list(weights)}")
    return out


def rrf(
    rankings: Sequence[Sequence[str]],
    k: float = 60,
    weights: Sequence[float] | None = None,
    depth: int | None = None,
) -> list[tuple[str, float]]:
    """Reciprocal rank fusion.

    ``score(d) = sum_i weights[i] / (k + rank_i(d))`` over the rankings that contain ``d``
    within their first ``depth`` entries (all entries when ``depth`` is None); ranks are
    1-based. A document repeated within one ranking counts at its first position only.

    Returns ``(id, score)`` pairs, best first, for every document that appears in some
    ranking (including those whose weights are all 0, which score 0). Ties: smaller best
    rank first, then the earlier ranking (in the order given) that achieves that best rank.
    """
    if not math.isfinite(k) or k < 0:
        raise ValueError(f"k must be a finite number >= 0, got {k!r}")
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be >= 1 or None, got {depth!r}")
    w = _check_weights(weights, len(rankings))
    contributions: dict[str, list[float]] = {}
    best: dict[str, tuple[int, int]] = {}  # id -> (best rank, index of first ranking giving it)
    for index, ranking in enumerate(rankings):
        seen: set[str] = set()
        for rank, doc_id in enumerate(ranking if depth is None else ranking[:depth], start=1):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            contributions.setdefault(doc_id, []).append(w[index] / (k + rank))
            if doc_id not in best or rank < best[doc_id][0]:
                best[doc_id] = (rank, index)
    scores = {doc_id: math.fsum(parts) for doc_id, parts in contributions.items()}
    order = sorted(scores, key=lambda d: (-scores[d], best[d]))
    return [(doc_id, scores[doc_id]) for doc_id in order]


# ---------------------------------------------------------------- long queries, sentence views

_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|et al|etc|vs|cf|Fig|Figs|Eq|Eqs|Sec|Ref|approx|resp|No|Dr|Mr|Ms|St)\.$")
# A sentence ends at '.', '!' or '?' followed by white space and an upper-case letter, a digit or an
# opening quote/bracket; or, where a source glued two sentences together ("tasks.To address"), at a
# '.'/'!'/'?' after a lower-case letter, digit or closing bracket directly followed by a capitalised word.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|(?<=[a-z0-9)\]][.!?])(?=[A-Z][a-z])")


def split_sentences(text: str, min_words: int = 3) -> list[str]:
    """Split prose into sentences.

    White space is normalised first. A piece is glued to the previous one when that one ends with a
    common abbreviation (``e.g.``, ``i.e.``, ``et al.``, ``Fig.``, ...) or has fewer than ``min_words``
    words; a final piece shorter than ``min_words`` words joins the previous sentence.
    """
    text = " ".join(text.split())
    if not text:
        return []
    out: list[str] = []
    for piece in _BOUNDARY.split(text):
        piece = piece.strip()
        if not piece:
            continue
        if out and (_ABBREVIATION.search(out[-1]) or len(out[-1].split()) < min_words):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    if len(out) > 1 and len(out[-1].split()) < min_words:
        last = out.pop()
        out[-1] = f"{out[-1]} {last}"
    return out


def sentence_windows(sentences: Sequence[str], size: int = 2) -> list[str]:
    """Every run of ``size`` consecutive sentences (stride 1), joined with a space.

    Fewer than ``size`` sentences give one window holding them all; none give no window.
    """
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size!r}")
    if not sentences:
        return []
    if len(sentences) <= size:
        return [" ".join(sentences)]
    return [" ".join(sentences[i : i + size]) for i in range(len(sentences) - size + 1)]


def _word_count(text: str) -> int:
    return len(text.split())


def pack_sentences(
    sentences: Sequence[str], limit: int, length: Callable[[str], int] = _word_count
) -> list[str]:
    """Greedily pack consecutive sentences into chunks whose ``length`` is at most ``limit``.

    Use it to embed a text longer than the model's window without losing any of it (embed each
    chunk, average the vectors, re-normalise). ``length`` defaults to a word count; pass the
    tokenizer's count (e.g. word pieces including [CLS]/[SEP]) to respect a model's limit exactly.
    A single sentence longer than ``limit`` is cut at word boundaries.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit!r}")
    chunks: list[str] = []
    current: list[str] = []
    for sentence in sentences:
        if current and length(" ".join([*current, sentence])) > limit:
            chunks.append(" ".join(current))
            current = []
        if length(sentence) <= limit:
            current.append(sentence)
            continue
        words = sentence.split()
        piece: list[str] = []
        for word in words:
            if piece and length(" ".join([*piece, word])) > limit:
                chunks.append(" ".join(piece))
                piece = []
            piece.append(word)
        current = piece
    if current:
        chunks.append(" ".join(current))
    return chunks


def coverage_scores(
    similarities: np.ndarray, owners: Sequence[int] | np.ndarray, n_docs: int, empty: float = -1.0
) -> np.ndarray:
    """Mean over query windows of each document's best-matching unit.

    ``similarities[u, w]`` is the similarity (cosine) of document unit ``u`` (e.g. a sentence) to
    query window ``w``; ``owners[u]`` is the index (0 .. n_docs-1) of the document unit ``u`` belongs
    to. Returns ``score[d] = mean_w max_{u of d} similarities[u, w]``; a document with no unit gets
    ``empty`` (default -1.0, the lowest cosine).
    """
    sims = np.asarray(similarities, dtype=np.float64)
    if sims.ndim == 1:
        sims = sims[:, None]
    owners = np.asarray(owners, dtype=np.intp)
    if sims.ndim != 2 or owners.shape != (sims.shape[0],):
        raise ValueError(
            f"similarities must be (units, windows) with one owner per unit: got {sims.shape} and {owners.shape}"
        )
    if sims.shape[1] == 0:
        raise ValueError("need at least one query window")
    if owners.size and (owners.min() < 0 or owners.max() >= n_docs):
        raise ValueError(f"owners must lie in 0 .. {n_docs - 1}")
    best = np.full((n_docs, sims.shape[1]), -np.inf)
    np.maximum.at(best, owners, sims)
    scores = best.mean(axis=1)
    scores[~np.isfinite(scores)] = empty
    return scores


def long_query_dense_scores(
    query_vec: np.ndarray,
    window_vecs: np.ndarray,
    doc_vecs: np.ndarray,
    unit_vecs: np.ndarray,
    unit_owners: Sequence[int] | np.ndarray,
) -> np.ndarray:
    """Dense score of every document for a (possibly paragraph-long) query:
    ``cos(query, document) + coverage_scores(cos(units, windows))``.

    All vectors must be L2-normalised (dot product = cosine). ``query_vec`` embeds the whole query
    (if it exceeds the model's window: the re-normalised mean of its :func:`pack_sentences` chunks),
    ``window_vecs`` the query's :func:`sentence_windows` (size 2), ``doc_vecs`` whole documents,
    ``unit_vecs`` the documents' sentences with their document index in ``unit_owners``.
    """
    doc_vecs = np.asarray(doc_vecs)
    whole = doc_vecs @ np.asarray(query_vec).reshape(-1)
    windows = np.atleast_2d(np.asarray(window_vecs))
    coverage = coverage_scores(np.asarray(unit_vecs) @ windows.T, unit_owners, doc_vecs.shape[0])
    return whole.astype(np.float64) + coverage


__all__ = [
    "rrf",
    "coverage_scores",
    "long_query_dense_scores",
    "split_sentences",
    "sentence_windows",
    "pack_sentences",
]
