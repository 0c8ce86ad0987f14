import json
import math

import pytest

from reviewer.errors import InputError, ParseError
from reviewer.evaluation.beir import Document, load_beir
from reviewer.evaluation.metrics import dcg, evaluate, mrr_at_k, ndcg_at_k, recall_at_k

JUDGED = {"a": 2.0, "b": 1.0, "c": 0.5, "d": 0.0}
RANKING = ["c", "x", "a", "b"]  # x is unjudged


def test_dcg_uses_linear_gain_and_log2_discount():
    assert dcg([2.0, 1.0, 0.5]) == 2.0 + 1.0 / math.log2(3) + 0.5 / 2.0


def test_ndcg_hand_computed():
    # DCG@3 = 0.5/1 + 0/log2(3) + 2/2 = 1.5 ; IDCG@3 = 2/1 + 1/log2(3) + 0.5/2
    expected = 1.5 / (2.0 + 1.0 / math.log2(3) + 0.25)
    assert ndcg_at_k(RANKING, JUDGED, k=3) == pytest.approx(expected, abs=1e-15)
    assert ndcg_at_k(RANKING, JUDGED, k=3) == pytest.approx(0.520666, abs=1e-6)


def test_ndcg_perfect_and_fractional_gains():
    assert ndcg_at_k(["a", "b", "c"], JUDGED, k=10) == pytest.approx(1.0)
    judged = {"p": 0.733333, "q": 0.2}
    expected = (0.2 + 0.733333 / math.log2(3)) / (0.733333 + 0.2 / math.log2(3))
    assert ndcg_at_k(["q", "p"], judged, k=10) == pytest.approx(expected, abs=1e-15)


def test_ndcg_ideal_uses_only_top_k_judged_scores():
    # only the best judged score counts in the ideal at k=1
    assert ndcg_at_k(["b"], JUDGED, k=1) == pytest.approx(0.5)


def test_ndcg_zero_when_nothing_has_gain():
    assert ndcg_at_k(["a"], {"a": 0.0}, k=10) == 0.0
    assert ndcg_at_k([], JUDGED, k=10) == 0.0


def test_recall_relevance_threshold_is_inclusive():
    # relevant: a (2.0), b (1.0); c (0.5) is not
    assert recall_at_k(RANKING, JUDGED, k=2) == 0.0
    assert recall_at_k(RANKING, JUDGED, k=3) == 0.5
    assert recall_at_k(RANKING, JUDGED, k=4) == 1.0
    assert recall_at_k(["z"], {"z": 0.999999, "y": 1.0}, k=1) == 0.0


def test_mrr_first_relevant_within_k():
    assert mrr_at_k(RANKING, JUDGED, k=10) == pytest.approx(1 / 3)
    assert mrr_at_k(RANKING, JUDGED, k=2) == 0.0
    assert mrr_at_k(["b", "a"], JUDGED, k=10) == 1.0


def test_recall_and_mrr_undefined_without_relevant_documents():
    judged = {"a": 0.5, "b": 0.0}
    assert recall_at_k(["a"], judged, k=10) is None
    assert mrr_at_k(["a"], judged, k=10) is None
    assert ndcg_at_k(["a"], judged, k=10) == 1.0


def test_repeated_ids_count_once_and_pairs_are_accepted():
    assert ndcg_at_k(["a", "a", "b"], JUDGED, k=2) == ndcg_at_k(["a", "b"], JUDGED, k=2)
    assert recall_at_k([("c", 0.9), ("a", 0.8)], JUDGED, k=2) == 0.5


def test_bad_k_is_rejected():
    with pytest.raises(ValueError):
        ndcg_at_k(RANKING, JUDGED, k=0)


def test_evaluate_averages_over_defined_queries():
    qrels = {"q1": JUDGED, "q2": {"e": 0.5}, "q3": {"f": 1.5}}
    run = {"q1": RANKING, "q2": ["e"], "q9": ["a"]}  # q3 missing: empty ranking; q9 unjudged: ignored
    result = evaluate(run, qrels, metrics=("ndcg@3", "recall@3", "mrr@10"))
    ndcg_q1 = 1.5 / (2.0 + 1.0 / math.log2(3) + 0.25)
    assert result.means["ndcg@3"] == pytest.approx((ndcg_q1 + 1.0 + 0.0) / 3)
    assert result.counts == {"ndcg@3": 3, "recall@3": 2, "mrr@10": 2}
    assert result.means["recall@3"] == pytest.approx((0.5 + 0.0) / 2)
    assert result.means["mrr@10"] == pytest.approx((1 / 3 + 0.0) / 2)
    assert result.per_query["q2"]["recall@3"] is None
    assert "ndcg@3=" in result.format()


def test_evaluate_rejects_unknown_metric():
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate({}, {"q": {"a": 1.0}}, metrics=("map@10",))


# ---------------------------------------------------------------- BEIR loader


def _write(tmp_path, corpus=None, queries=None, qrels=None):
    corpus = corpus if corpus is not None else [{"_id": "d1", "title": "T", "text": "one"}, {"_id": "d2", "text": "two"}]
    queries = queries if queries is not None else [{"_id": "q1", "text": "what"}]
    (tmp_path / "corpus.jsonl").write_text("".join(c if isinstance(c, str) else json.dumps(c) + "\n" for c in corpus))
    (tmp_path / "queries.jsonl").write_text("".join(q if isinstance(q, str) else json.dumps(q) + "\n" for q in queries))
    (tmp_path / "qrels.tsv").write_text(qrels if qrels is not None else "query-id\tcorpus-id\tscore\nq1\td1\t0.733333\nq1\td2\t0\n")
    return tmp_path


def test_load_beir(tmp_path):
    data = load_beir(_write(tmp_path))
    assert data.corpus["d1"] == Document("d1", "T", "one")
    assert data.corpus["d1"].full_text == "T one"
    assert data.corpus["d2"].full_text == "two"
    assert data.queries["q1"].text == "what"
    assert data.qrels == {"q1": {"d1": 0.733333, "d2": 0.0}}


def test_load_beir_split_layout(tmp_path):
    _write(tmp_path)
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels.tsv").rename(tmp_path / "qrels" / "dev.tsv")
    assert load_beir(tmp_path, split="dev").qrels["q1"]["d1"] == 0.733333
    with pytest.raises(InputError, match="no qrels file"):
        load_beir(tmp_path, split="test")


@pytest.mark.parametrize(
    "files, where, message",
    [
        ({"corpus": [{"_id": "d1", "text": "x"}, "{not json\n"]}, "corpus.jsonl:2", "invalid JSON"),
        ({"corpus": [{"_id": "d1", "text": "x"}, {"text": "y"}]}, "corpus.jsonl:2", 'missing "_id"'),
        ({"corpus": [{"_id": "d1", "text": "x"}, {"_id": "d1", "text": "y"}]}, "corpus.jsonl:2", "duplicate _id 'd1'"),
        ({"corpus": [{"_id": "d1", "text": 3}]}, "corpus.jsonl:1", '"text" must be a string'),
        ({"corpus": ["[1, 2]\n"]}, "corpus.jsonl:1", "expected a JSON object"),
        ({"queries": [{"_id": "q1"}]}, "queries.jsonl:1", 'missing "text"'),
        ({"qrels": "qid\tdid\tscore\n"}, "qrels.tsv:1", "expected the header"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\n"}, "qrels.tsv:2", "expected 3 tab-separated columns"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\thigh\n"}, "qrels.tsv:2", "is not a number"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1\t2\n"}, "qrels.tsv:3", "judged twice"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td7\t1\n"}, "qrels.tsv:3", "'d7' is not in corpus.jsonl"),
        ({"qrels": "query-id\tcorpus-id\tscore\nq2\td1\t1\n"}, "qrels.tsv:2", "'q2' is not in queries.jsonl"),
    ],
)
def test_load_beir_errors_name_file_and_line(tmp_path, files, where, message):
    _write(tmp_path, **files)
    with pytest.raises(ParseError) as info:
        load_beir(tmp_path)
    assert where in str(info.value)
    assert message in str(info.value)


def test_load_beir_unknown_ids_allowed_when_not_checked(tmp_path):
    _write(tmp_path, qrels="query-id\tcorpus-id\tscore\nq1\td7\t1\n")
    assert load_beir(tmp_path, check_ids=False).qrels == {"q1": {"d7": 1.0}}


def test_load_beir_missing_directory_or_file(tmp_path):
    with pytest.raises(InputError, match="not a directory"):
        load_beir(tmp_path / "nope")
    _write(tmp_path)
    (tmp_path / "queries.jsonl").unlink()
    with pytest.raises(InputError, match="missing queries.jsonl"):
        load_beir(tmp_path)
