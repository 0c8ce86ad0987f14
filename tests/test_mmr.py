import numpy as np
import pytest

from reviewer.retrieval.mmr import mmr

# query q = (0.8, 0.6); cosine to q: a 0.8, b 0.8 (a's direction, longer), c 0.6, d 0.96
Q = [0.8, 0.6]
CANDS = [[1.0, 0.0], [3.0, 0.0], [0.0, 1.0], [0.6, 0.8]]
IDS = ["a", "b", "c", "d"]


def test_lambda_one_is_similarity_ranking_with_ties_in_given_order():
    assert mmr(Q, CANDS, IDS, k=4, lambda_=1.0) == ["d", "a", "b", "c"]


def test_high_lambda_keeps_the_near_duplicate():
    # 1: d (0.7*0.96); 2: a,b 0.7*0.8-0.3*0.6=0.38 > c 0.7*0.6-0.3*0.8=0.18 -> a (given first)
    # 3: b 0.56-0.3*1.0=0.26 > c 0.18 -> b
    assert mmr(Q, CANDS, IDS, k=3, lambda_=0.7) == ["d", "a", "b"]


def test_low_lambda_skips_the_near_duplicate():
    # 1: d; 2: a -0.18 > c -0.38 -> a; 3: b 0.24-0.7*1.0=-0.46 < c 0.18-0.7*0.8=-0.38 -> c
    assert mmr(Q, CANDS, IDS, k=3, lambda_=0.3) == ["d", "a", "c"]


def test_negative_similarity_to_the_selection_is_not_clamped():
    # after a: e gain 0.4*-0.6 - 0.6*-0.6 = 0.12 beats f 0.4*0 - 0.6*0 = 0
    got = mmr([1.0, 0.0], [[1.0, 0.0], [-0.6, 0.8], [0.0, 1.0]], ["a", "e", "f"], k=3, lambda_=0.4)
    assert got == ["a", "e", "f"]


def test_k_bounds_and_empty_input():
    assert mmr(Q, CANDS, IDS, k=10) == mmr(Q, CANDS, IDS, k=4)
    assert len(mmr(Q, CANDS, IDS, k=10)) == 4
    assert mmr(Q, CANDS, IDS, k=0) == []
    assert mmr(Q, np.zeros((0, 2)), [], k=3) == []


def test_zero_vectors_have_zero_similarity():
    assert mmr([1.0, 0.0], [[0.0, 0.0], [0.5, 0.5]], ["zero", "x"], k=2, lambda_=1.0) == ["x", "zero"]


def test_accepts_numpy_arrays():
    got = mmr(np.array(Q, dtype=np.float32), np.array(CANDS, dtype=np.float32), IDS, k=3, lambda_=0.3)
    assert got == ["d", "a", "c"]


@pytest.mark.parametrize(
    "args",
    [
        (Q, CANDS, IDS[:3], 2, 0.5),  # ids do not match rows
        ([1.0, 0.0, 0.0], CANDS, IDS, 2, 0.5),  # dimension mismatch
        (Q, CANDS, IDS, 2, 1.5),  # lambda out of range
        (Q, CANDS, IDS, -1, 0.5),  # negative k
    ],
)
def test_rejects_bad_arguments(args):
    with pytest.raises(ValueError):
        mmr(*args)
