"""Themes of a set of papers: clusters of their embeddings, named by their distinctive terms, and a 2-D map.

* :func:`cluster` — KMeans (scikit-learn, ``random_state=0``, ``n_init=10``) on the papers' unit vectors. The
  number of clusters K is the one with the best silhouette (cosine) among ``MIN_K .. min(MAX_K, n // PAPERS_PER_THEME)``;
  fewer than ``2 * PAPERS_PER_THEME`` papers make one theme. A requested K is used as given (clamped to 1..n).
  Clusters are numbered by size (largest first, ties by their most central key), papers in a cluster by
  closeness to its centroid (ties by key), so the result does not depend on KMeans' arbitrary label order.
* :func:`distinctive_terms` — class-based TF-IDF (c-TF-IDF, as in BERTopic): each cluster's titles and
  abstracts are one document; a term scores ``tf(term, cluster) * log(1 + A / f(term))`` where ``A`` is the
  average number of words per cluster and ``f(term)`` the term's frequency over all clusters.
* :func:`project` — PCA to two dimensions (SVD of the centred vectors), each axis' sign fixed so that its
  largest-magnitude coordinate is positive: the same vectors always give the same map.

Everything is deterministic: same vectors and keys -> same clusters, terms and points.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MIN_K = 2
MAX_K = 6
PAPERS_PER_THEME = 4  # the automatic K never makes themes of fewer papers than this on average
RANDOM_STATE = 0
N_INIT = 10


@dataclass
class Clustering:
    """Clusters of papers: ``groups[i]`` are the keys of cluster i (most central first); ``silhouettes``: the
    silhouette of each K that was tried (empty when K was given or there were too few papers to choose)."""

    groups: list[list[str]]
    centroids: np.ndarray
    silhouettes: dict[int, float] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return len(self.groups)


def k_bounds(n: int) -> tuple[int, int]:
    """(lowest, highest) K the automatic choice considers for ``n`` papers; (1, 1) when there are too few."""
    high = min(MAX_K, n // PAPERS_PER_THEME)
    return (1, 1) if high < MIN_K else (MIN_K, high)


def cluster(keys: Sequence[str], vectors: np.ndarray, k: int | None = None) -> Clustering:
    """Cluster the papers ``keys`` (rows of ``vectors``, unit-normalised) into ``k`` themes, or into the K
    with the best silhouette within :func:`k_bounds` when ``k`` is None."""
    keys = list(keys)
    if len(keys) != len(vectors):
        raise ValueError(f"{len(keys)} keys but {len(vectors)} vectors")
    if not keys:
        return Clustering([], np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32))
    order = sorted(range(len(keys)), key=lambda i: keys[i])  # input order must not matter
    keys = [keys[i] for i in order]
    vectors = _unit(np.asarray(vectors, dtype=np.float64)[order])
    n = len(keys)
    silhouettes: dict[int, float] = {}
    if k is not None:
        k = max(1, min(int(k), n))
        labels = _kmeans(vectors, k)
    else:
        low, high = k_bounds(n)
        if high == 1:
            labels = np.zeros(n, dtype=int)
        else:
            from sklearn.metrics import silhouette_score

            best = None
            for candidate in range(low, high + 1):
                found = _kmeans(vectors, candidate)
                if len(set(found.tolist())) < 2:
                    continue
                silhouettes[candidate] = round(float(silhouette_score(vectors, found, metric="cosine")), 4)
                if best is None or silhouettes[candidate] > best[0]:  # ties keep the smaller K
                    best = (silhouettes[candidate], found)
            labels = best[1] if best is not None else np.zeros(n, dtype=int)
    return _ordered(keys, vectors, labels, silhouettes)


def _kmeans(vectors: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        return np.zeros(len(vectors), dtype=int)
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, random_state=RANDOM_STATE, n_init=N_INIT).fit_predict(vectors)


def _ordered(keys: list[str], vectors: np.ndarray, labels: np.ndarray, silhouettes: dict[int, float]) -> Clustering:
    """Clusters numbered by size (largest first), each one's keys by closeness to its centroid."""
    groups, centroids = [], []
    for label in sorted(set(labels.tolist())):
        rows = [i for i in range(len(keys)) if labels[i] == label]
        centroid = _unit(vectors[rows].mean(axis=0))
        closeness = vectors[rows] @ centroid
        ranked = sorted(range(len(rows)), key=lambda j: (-round(float(closeness[j]), 6), keys[rows[j]]))
        groups.append([keys[rows[j]] for j in ranked])
        centroids.append(centroid)
    order = sorted(range(len(groups)), key=lambda g: (-len(groups[g]), groups[g][0]))
    return Clustering([groups[g] for g in order], np.array([centroids[g] for g in order], dtype=np.float32),
                      silhouettes)


def _unit(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norms == 0, 1, norms)


# Words that say nothing about what a cluster of research abstracts is about (on top of English stop words).
RESEARCH_STOP_WORDS = frozenset("""
    paper papers propose proposed proposes present presents presented show shows shown results result approach
    approaches method methods novel new based using use used uses work works study studies demonstrate
    demonstrates existing state art performance model models task tasks data recent recently significantly
    significant improve improves improved improvement achieve achieves achieved experiments experimental
    evaluate evaluation framework introduce introduces including various different large furthermore
    moreover address code available github com https http et al specifically effective effectively
    key like ability abilities better challenge challenges paradigm capabilities capability llm llms
""".split())


def distinctive_terms(documents: Sequence[str], top: int = 5) -> list[list[str]]:
    """For each document (all the text of one cluster), its ``top`` most distinctive terms by c-TF-IDF,
    most distinctive first (ties alphabetical).

    Terms are words and two-word phrases (adjacent words, neither a stop word, not across punctuation). With several
    clusters, a term's score is also weighed by how much of its use is this cluster's own, so that words every
    cluster shares (the review's topic) do not name a theme. A word gives way to its most frequent phrase in
    the cluster when that phrase makes up at least ``BIGRAM_SHARE`` of its occurrences, and occurs twice or
    more ("heads" -> "induction heads"). A term that contains, or is contained in, a term already chosen is skipped ("tuning" after
    "fine-tuning", "instructions" after "instruction")."""
    if not documents:
        return []
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    stop = ENGLISH_STOP_WORDS | RESEARCH_STOP_WORDS

    def analyze(text: str) -> list[str]:  # phrases are adjacent words, never across punctuation or a stop word
        terms: list[str] = []
        for chunk in _CHUNK.split(text.lower()):
            words = _TOKEN.findall(chunk)
            terms += [w for w in words if w not in stop]
            terms += [f"{a} {b}" for a, b in zip(words, words[1:]) if a not in stop and b not in stop]
        return terms

    vectorizer = CountVectorizer(analyzer=analyze)
    try:
        counts = vectorizer.fit_transform(list(documents)).toarray().astype(np.float64)
    except ValueError:  # no words at all (empty vocabulary)
        return [[] for _ in documents]
    vocabulary = [str(t) for t in vectorizer.get_feature_names_out()]
    words_per_class = counts.sum(axis=1, keepdims=True)
    tf = counts / np.where(words_per_class == 0, 1, words_per_class)
    average_words = float(words_per_class.mean())
    frequency = counts.sum(axis=0)
    scores = tf * np.log(1 + average_words / np.where(frequency == 0, 1, frequency))
    k = len(documents)
    if k > 1:  # with few clusters the idf barely separates them: weigh by how much a term is this cluster's own
        total = tf.sum(axis=0)
        share = tf / np.where(total == 0, 1, total)
        scores = scores * np.clip((share - 1 / k) / (1 - 1 / k), 0, None)
    bigrams: dict[str, list[int]] = {}
    for i, term in enumerate(vocabulary):
        if " " in term:
            for word in term.split():
                bigrams.setdefault(word, []).append(i)
    out = []
    for row, count in zip(scores, counts):
        ranked = sorted(np.flatnonzero(row > 0), key=lambda i: (-round(float(row[i]), 12), vocabulary[i]))
        chosen: list[str] = []
        for i in ranked:
            term = vocabulary[i]
            if " " not in term:
                wider = [j for j in bigrams.get(term, []) if count[j] >= max(2, BIGRAM_SHARE * count[i])]
                if wider:
                    term = vocabulary[min(wider, key=lambda j: (-count[j], vocabulary[j]))]
            words = _words(term)
            if any(words <= _words(c) or _words(c) <= words for c in chosen):
                continue
            chosen.append(term)
            if len(chosen) == top:
                break
        out.append(chosen)
    return out


_TOKEN = re.compile(r"\b[a-z][a-z0-9\-]*[a-z0-9]\b")
_CHUNK = re.compile(r"[.,;:!?()\[\]{}\"]+(?:\s|$)|\s[-–—]\s")
BIGRAM_SHARE = 0.5


def _words(term: str) -> set[str]:
    """The words of a term for comparing terms: lowercase, hyphenated parts apart, a plural "s" dropped."""
    parts = re.findall(r"[a-z0-9]+", term.lower())
    return {p[:-1] if len(p) > 3 and p.endswith("s") and not p.endswith("ss") else p for p in parts}


def project(vectors: np.ndarray) -> np.ndarray:
    """2-D coordinates of ``vectors`` (one row each): their first two principal components, with each
    axis' sign fixed (its largest-magnitude coordinate positive). Fewer than 2 dimensions of spread give zeros."""
    vectors = np.asarray(vectors, dtype=np.float64)
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2))
    centred = vectors - vectors.mean(axis=0)
    if n == 1 or not np.any(centred):
        return np.zeros((n, 2))
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    points = np.zeros((n, 2))
    dims = min(2, len(s))
    points[:, :dims] = u[:, :dims] * s[:dims]
    for axis in range(2):
        column = points[:, axis]
        if np.any(column):
            j = int(np.argmax(np.abs(np.round(column, 9))))
            if column[j] < 0:
                points[:, axis] = -column
    return np.round(points, 6) + 0.0  # + 0.0 turns -0.0 into 0.0
