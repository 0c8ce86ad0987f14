import itertools

import pytest

from reviewer.retrieval.fusion import rrf


def test_rrf_sums_reciprocal_ranks():
    fused = rrf([["a", "b", "c"], ["b", "c", "d"]], k=60)
    assert [d for d, _ in fused] == ["b", "c", "a", "d"]
    scores = dict(fused)
    assert scores["a"] == 1 / 61
    assert scores["b"] == 1 / 62 + 1 / 61
    assert scores["c"] == 1 / 63 + 1 / 62
    assert scores["d"] == 1 / 63


def test_rrf_weights_scale_each_ranking():
    scores = dict(rrf([["a", "b", "c"], ["b", "c", "d"]], k=60, weights=[2, 1]))
    assert scores == {"a": 2 / 61, "b": 2 / 62 + 1 / 61, "c": 2 / 63 + 1 / 62, "d": 1 / 63}


def test_rrf_k_changes_order():
    rankings = [["a", "x", "y", "b"], ["c", "b"]]
    # k=0: a=1, c=1, b=1/4+1/2=0.75 ; k=60: b=1/64+1/62 beats a=1/61 and c=1/61
    assert [d for d, _ in rrf(rankings, k=0)][:3] == ["a", "c", "b"]
    assert [d for d, _ in rrf(rankings, k=60)][:3] == ["b", "a", "c"]


def test_rrf_depth_cuts_each_ranking():
    fused = rrf([["a", "b", "c"], ["b", "c", "d"]], k=60, depth=1)
    assert fused == [("a", 1 / 61), ("b", 1 / 61)]


def test_rrf_ties_broken_by_best_rank_then_ranking_order():
    # equal scores, same best rank (1): the ranking given first wins
    assert [d for d, _ in rrf([["a", "b"], ["b", "a"]])] == ["a", "b"]
    assert [d for d, _ in rrf([["b", "a"], ["a", "b"]])] == ["b", "a"]
    # equal scores (2/2 == 1/1), different best ranks: the better best rank wins
    fused = rrf([["x", "d1"], ["d2"]], k=0, weights=[2, 1])
    assert fused == [("x", 2.0), ("d2", 1.0), ("d1", 1.0)]


def test_rrf_scores_do_not_depend_on_ranking_order():
    rankings = [["a", "b", "c", "d"], ["d", "c", "b", "a"], ["b", "d", "a", "c"], ["c", "a", "d", "b"]]
    reference = dict(rrf(rankings, k=1.0 / 3, weights=[0.1, 0.7, 0.3, 0.9]))
    for perm in itertools.permutations(range(4)):
        scores = dict(rrf([rankings[i] for i in perm], k=1.0 / 3, weights=[[0.1, 0.7, 0.3, 0.9][i] for i in perm]))
        assert scores == reference  # exact: contributions are summed with math.fsum


def test_rrf_repeated_id_counts_once_at_first_position():
    assert rrf([["a", "a", "b"]], k=0) == [("a", 1.0), ("b", 1 / 3)]


def test_rrf_zero_weight_keeps_document_with_zero_score():
    assert rrf([["a"], ["b"]], k=0, weights=[1, 0]) == [("a", 1.0), ("b", 0.0)]


def test_rrf_empty_inputs():
    assert rrf([]) == []
    assert rrf([[], []]) == []


@pytest.mark.parametrize(
    "kwargs",
    [{"weights": [1.0]}, {"weights": [1.0, -1.0]}, {"weights": [1.0, float("nan")]}, {"k": -1}, {"depth": 0}],
)
def test_rrf_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        rrf([["a"], ["b"]], **kwargs)


# ---------------------------------------------------------------- long-query helpers

import numpy as np  # noqa: E402

from reviewer.retrieval.fusion import (  # noqa: E402
    coverage_scores,
    long_query_dense_scores,
    pack_sentences,
    sentence_windows,
    split_sentences,
)


def test_split_sentences_rules():
    assert split_sentences("") == []
    assert split_sentences("  One two three.   Four five six!  Seven eight nine?") == [
        "One two three.",
        "Four five six!",
        "Seven eight nine?",
    ]
    # abbreviations do not end a sentence; decimals and lower-case continuations neither
    assert split_sentences("We use e.g. Adam and SGD here. Results improve by 3.5 points. See Fig. 2 below now.") == [
        "We use e.g. Adam and SGD here.",
        "Results improve by 3.5 points.",
        "See Fig. 2 below now.",
    ]
    # sentences glued by the source are split; pieces under min_words join their neighbour
    assert split_sentences("Labels are costly to get.To address this we propose X. It works. Ok.") == [
        "Labels are costly to get.",
        "To address this we propose X.",
        "It works. Ok.",
    ]


def test_sentence_windows():
    assert sentence_windows(["a", "b", "c", "d"], 2) == ["a b", "b c", "c d"]
    assert sentence_windows(["a", "b", "c"], 3) == ["a b c"]
    assert sentence_windows(["a"], 2) == ["a"]
    assert sentence_windows([], 2) == []
    assert sentence_windows(["a", "b"], 1) == ["a", "b"]
    with pytest.raises(ValueError):
        sentence_windows(["a"], 0)


def test_pack_sentences():
    sentences = ["one two three", "four five", "six seven eight nine ten eleven"]
    assert pack_sentences(sentences, 5) == ["one two three four five", "six seven eight nine ten", "eleven"]
    assert pack_sentences(sentences, 100) == [" ".join(sentences)]
    assert pack_sentences([], 5) == []
    # a custom length function (here: characters)
    assert pack_sentences(["ab", "cd", "ef"], 5, length=len) == ["ab cd", "ef"]


def test_coverage_scores_mean_of_best_unit_per_window():
    sims = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    scores = coverage_scores(sims, owners=[0, 0, 1], n_docs=3)
    assert scores.tolist() == [pytest.approx(0.85), pytest.approx(0.5), -1.0]  # doc 2 has no unit
    # one window given as a vector
    assert coverage_scores(np.array([0.3, 0.7]), [1, 1], n_docs=2).tolist() == [-1.0, pytest.approx(0.7)]


def test_coverage_scores_rejects_bad_shapes():
    with pytest.raises(ValueError):
        coverage_scores(np.zeros((2, 1)), [0], n_docs=1)
    with pytest.raises(ValueError):
        coverage_scores(np.zeros((1, 1)), [3], n_docs=2)
    with pytest.raises(ValueError):
        coverage_scores(np.zeros((1, 0)), [0], n_docs=1)


def test_long_query_dense_scores_adds_whole_cosine_and_coverage():
    query = np.array([1.0, 0.0])
    windows = np.array([[1.0, 0.0], [0.0, 1.0]])
    docs = np.array([[0.6, 0.8], [1.0, 0.0]])
    # doc 0 has sentences along x and y (covers both windows); doc 1 one sentence along x
    units = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    scores = long_query_dense_scores(query, windows, docs, units, [0, 0, 1])
    # doc 0: cos 0.6 + mean(1, 1) = 1.6 ; doc 1: cos 1.0 + mean(1, 0) = 1.5
    assert scores.tolist() == [pytest.approx(1.6), pytest.approx(1.5)]
