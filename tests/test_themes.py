"""Themes: clustering (K by silhouette within bounds, deterministic order), c-TF-IDF terms, the 2-D projection."""

from __future__ import annotations

import numpy as np
import pytest

from reviewer import themes

pytestmark = pytest.mark.block_network


def blobs(sizes, dim=16, spread=0.05, seed=1):
    """Unit vectors around len(sizes) orthogonal directions; keys "c{cluster}p{i}"."""
    rng = np.random.default_rng(seed)
    keys, rows = [], []
    for c, size in enumerate(sizes):
        centre = np.zeros(dim)
        centre[c] = 1.0
        for i in range(size):
            v = centre + spread * rng.standard_normal(dim)
            rows.append(v / np.linalg.norm(v))
            keys.append(f"c{c}p{i}")
    return keys, np.array(rows, dtype=np.float32)


@pytest.mark.parametrize("n, bounds", [(0, (1, 1)), (5, (1, 1)), (7, (1, 1)), (8, (2, 2)), (12, (2, 3)),
                                        (24, (2, 6)), (200, (2, 6))])
def test_k_bounds(n, bounds):
    assert themes.k_bounds(n) == bounds


def test_clear_clusters_are_found_with_k_chosen_by_silhouette():
    keys, vectors = blobs([6, 5, 4])
    clustering = themes.cluster(keys, vectors)
    assert clustering.k == 3
    assert set(clustering.silhouettes) == {2, 3}
    assert clustering.silhouettes[3] > clustering.silhouettes[2]
    # largest cluster first; every cluster is one blob
    assert [sorted(g) for g in clustering.groups] == [sorted(k for k in keys if k.startswith(f"c{c}"))
                                                       for c in range(3)]
    assert clustering.centroids.shape == (3, 16)
    assert next(i for i, group in enumerate(clustering.groups) if "c2p0" in group) == 2


def test_papers_in_a_theme_are_ordered_most_central_first():
    keys, vectors = blobs([6, 6])
    clustering = themes.cluster(keys, vectors, k=2)
    for group, centroid in zip(clustering.groups, clustering.centroids):
        rows = [keys.index(k) for k in group]
        closeness = vectors[rows] @ centroid
        assert list(closeness) == sorted(closeness, reverse=True)


def test_the_result_does_not_depend_on_input_order_and_is_repeatable():
    keys, vectors = blobs([5, 5, 4], spread=0.3, seed=3)
    first = themes.cluster(keys, vectors)
    perm = np.random.default_rng(0).permutation(len(keys))
    second = themes.cluster([keys[i] for i in perm], vectors[perm])
    assert first.groups == second.groups and first.silhouettes == second.silhouettes
    assert np.allclose(first.centroids, second.centroids)


def test_few_papers_make_one_theme_and_a_requested_k_is_clamped():
    keys, vectors = blobs([3, 3])
    assert themes.cluster(keys, vectors).k == 1  # 6 papers: under 2 * PAPERS_PER_THEME
    assert themes.cluster(keys, vectors, k=2).k == 2  # asked for: used
    assert themes.cluster(keys[:2], vectors[:2], k=5).k == 2  # never more themes than papers
    assert themes.cluster([], np.zeros((0, 16), np.float32)).groups == []


DOCS = [
    "Low-rank adapters for fine-tuning. Adapters train low-rank matrices; the adapters are small. "
    "Language models stay frozen while adapters learn.",
    "Quantization of weights to four bits. Quantization keeps outlier channels. Four-bit quantization of "
    "language models runs fast.",
    "Knowledge distillation trains a student from a teacher. The student matches the teacher's soft labels. "
    "Distillation of language models.",
]


def test_distinctive_terms_name_what_sets_each_cluster_apart():
    terms = themes.distinctive_terms(DOCS, top=3)
    assert terms == [["adapters", "low-rank", "fine-tuning"], ["quantization", "bits", "channels"],
                     ["distillation", "student", "teacher"]]
    flat = [t for ts in terms for t in ts]
    assert not any("language" in t for t in flat)  # in every cluster: not distinctive
    assert themes.distinctive_terms(DOCS, top=3) == terms  # deterministic


def test_a_bigram_replaces_its_unigram_and_variants_are_not_repeated():
    docs = ["Induction heads copy tokens. Induction heads form early. The heads matter. Attention heads.",
            "Task vectors compress demonstrations. A task vector modulates the model. Task vectors."]
    terms = themes.distinctive_terms(docs, top=4)
    assert terms[0][0] == "induction heads" and "heads" not in terms[0]  # the phrase, not its word
    assert "attention heads" not in terms[0]  # a phrase seen once does not replace its word
    assert terms[1][0] == "vectors" and "vector" not in terms[1]  # one of a word's forms


def test_distinctive_terms_of_empty_documents():
    assert themes.distinctive_terms([]) == []
    assert themes.distinctive_terms(["", "the of and"]) == [[], []]


def test_projection_is_deterministic_and_sign_normalised():
    keys, vectors = blobs([5, 5, 4], spread=0.3)
    points = themes.project(vectors)
    assert points.shape == (len(keys), 2)
    assert np.array_equal(points, themes.project(vectors.copy()))
    assert np.allclose(points, themes.project(-vectors))  # a flipped embedding space gives the same map
    perm = np.random.default_rng(0).permutation(len(keys))
    assert np.allclose(themes.project(vectors[perm]), points[perm])
    for axis in range(2):
        assert points[np.argmax(np.abs(points[:, axis])), axis] > 0


def test_projection_of_one_or_two_papers():
    assert themes.project(np.ones((1, 4))).tolist() == [[0.0, 0.0]]
    two = themes.project(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert two[:, 1].tolist() == [0.0, 0.0] and two[0, 0] == -two[1, 0] != 0
    assert themes.project(np.zeros((0, 4))).shape == (0, 2)
