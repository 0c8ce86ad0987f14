"""`reviewer eval`: several data sets in one run, the paired comparison of two runs, and its test statistic."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES
from reviewer.cli.main import app
from reviewer.evaluation.paired import paired, randomization_p


def test_randomization_p_is_exact_for_small_sets():
    # Four differences of equal size, three positive: of the 16 sign assignments, only the 6 that sum to 0 are
    # closer to 0 than the observed sum, so p = 10/16.
    assert randomization_p([0.1, 0.1, 0.1, -0.1]) == pytest.approx(10 / 16)
    # Every difference positive: only "all +" and "all -" are as extreme: 2/2^n.
    assert randomization_p([0.2] * 5) == pytest.approx(2 / 32)
    assert randomization_p([0.2] * 6) == pytest.approx(2 / 64)
    assert randomization_p([0.0, 0.0]) == 1.0  # nothing differs
    assert randomization_p([0.3, 0.0, 0.0]) == pytest.approx(1.0)  # ties carry no sign: 2 of 2 assignments


def test_randomization_p_estimate_for_large_sets_is_reproducible():
    diffs = [0.01] * 30 + [-0.01] * 10  # 40 queries: estimated from random sign flips with a fixed seed
    p = randomization_p(diffs)
    assert p == randomization_p(diffs)
    assert 0.001 < p < 0.05  # binomial two-sided tail of 10/40 is about 0.0022..0.004 for the mean statistic


def test_paired_counts_wins_losses_ties_and_leaves_out_undefined_queries():
    a = {"q1": 0.5, "q2": 0.5, "q3": 0.5, "q4": 0.5, "q5": 0.2, "q6": None}
    b = {"q1": 0.6, "q2": 0.6, "q3": 0.6, "q4": 0.4, "q5": 0.2, "q6": 1.0, "q7": 1.0}
    result = paired("tiny", "ndcg@10", a, b)
    assert (result.queries, result.wins, result.losses, result.ties) == (5, 3, 1, 1)
    assert result.mean_a == pytest.approx(0.44) and result.mean_b == pytest.approx(0.48)
    assert result.delta == pytest.approx(0.04)
    assert result.p_value == pytest.approx(10 / 16)  # the tie has no sign: the four others as above
    assert result.verdict == "no significant difference"


@pytest.fixture
def two_sets(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_CACHE_DIR", str(tmp_path / "cache"))
    other = tmp_path / "beir-tiny-copy"
    shutil.copytree(FIXTURES / "beir-tiny", other)
    return [str(FIXTURES / "beir-tiny"), str(other)]


def test_eval_retrieval_measures_several_sets_in_one_table(two_sets, tmp_path):
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(app, ["eval", "retrieval", *two_sets, "--mode", "bm25", "--mode", "cosine",
                                      "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "beir-tiny " in result.output and "beir-tiny-copy" in result.output and "cosine" in result.output
    data = json.loads(out.read_text())
    assert [d["dataset"] for d in data["datasets"]] == ["beir-tiny", "beir-tiny-copy"]
    first = data["datasets"][0]
    assert [r["mode"] for r in first["results"]] == ["bm25", "cosine"]
    bm25 = first["results"][0]
    assert bm25["mrr@10"] == 1.0 and set(bm25["per_query"]) == {"q1", "q2"}
    assert bm25["per_query"]["q2"] == {"ndcg@10": 1.0, "recall@10": 1.0, "recall@100": 1.0, "mrr@10": 1.0}

    compared = CliRunner().invoke(app, ["eval", "compare", f"{out}:bm25", f"{out}:cosine", "--json",
                                        str(tmp_path / "cmp.json")])
    assert compared.exit_code == 0, compared.output
    assert "paired randomization test" in compared.output
    assert "B loses significantly on no data set" in compared.output  # two queries can never be significant
    rows = json.loads((tmp_path / "cmp.json").read_text())["datasets"]
    assert [r["dataset"] for r in rows] == ["beir-tiny", "beir-tiny-copy"]
    assert rows[0]["queries"] == 2 and rows[0]["wins"] + rows[0]["losses"] + rows[0]["ties"] == 2
    assert rows[0]["p_value"] >= 0.5


def test_eval_compare_says_which_mode_to_pick(two_sets, tmp_path):
    out = tmp_path / "eval.json"
    CliRunner().invoke(app, ["eval", "retrieval", two_sets[0], "--mode", "bm25", "--mode", "rrf", "--json", str(out)])
    result = CliRunner().invoke(app, ["eval", "compare", str(out), f"{out}:rrf"])
    assert result.exit_code == 1
    assert "has several modes (bm25, rrf): say which" in str(result.exception)
    missing = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "nope.json"), f"{out}:rrf"])
    assert missing.exit_code == 1 and "no such file" in str(missing.exception)
