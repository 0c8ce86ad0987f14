"""The evidence gate: top keyword hits are kept whatever their cosine, near-miss questions are refused, and
ask, compare and review share the decision."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, REPO
from llm_fixtures import clean_env
from reviewer import gate
from reviewer.chains.ask import CANNOT_ANSWER
from review_fixtures import seeds_db  # noqa: F401  (a session fixture: the whole sample corpus)

MANY_SHOT = "What happens when hundreds or thousands of demonstrations are placed in the context window?"
# Near-miss questions (ML topics the sample corpus does not cover), from benchmarks/abstain/questions.jsonl.
NEAR_MISS = ["How does visual SLAM detect loop closures to correct accumulated drift?",
             "In federated learning with non-IID clients, how does FedProx reduce client drift compared with FedAvg?"]


@pytest.fixture
def seeds(seeds_db, minilm, monkeypatch, tmp_path):  # noqa: F811
    from reviewer.config import Settings
    from reviewer.library import Library

    clean_env(monkeypatch, tmp_path / "cache")
    return Library.open(settings=Settings(db=seeds_db), embedder=minilm)


def test_a_top_keyword_hit_with_a_low_cosine_is_evidence(seeds):
    hits = seeds.search(MANY_SHOT, k=8)
    decision = gate.decide(seeds, MANY_SHOT, hits)
    assert decision.answerable
    many = next(j for j in decision.judged if j.key == "manyshotincontext")
    assert many.paper_similarity < 0.3  # the old whole-paper cutoff (0.3) dropped it
    assert many.hit.ranks["bm25"] <= 3 and many.kept and many.why == "top-3 bm25"

    answer = seeds.ask(MANY_SHOT)
    assert "manyshotincontext" in [p.key for p in answer.citations]
    assert "[manyshotincontext]" in answer.text


@pytest.mark.parametrize("question", NEAR_MISS)
def test_a_near_miss_question_is_refused(seeds, question):
    answer = seeds.ask(question)
    assert answer.text == CANNOT_ANSWER and answer.citations == [] and answer.evidence == []
    assert answer.warnings[0].startswith("no paper of this collection answers the question (best sentence "
                                         "similarity 0.")
    assert answer.warnings[0].endswith(" < 0.51)")


def test_keyword_rank_keeps_an_unrelated_paper_only_when_the_question_is_answerable(open_library, tmp_path):
    odd = {"title": "Maintenance Records of the Qwxzy Harbour Cranes",
           "abstract": "This memo lists inspection dates for the cranes of a small harbour. The Qwxzy cranes are named "
                       "after the engineer who installed them. Each crane was repainted twice."}
    papers = tmp_path / "papers.jsonl"
    papers.write_text((FIXTURES / "ask" / "papers.jsonl").read_text(encoding="utf-8") + json.dumps(odd) + "\n",
                      encoding="utf-8")
    library = open_library()
    library.ingest([papers])
    key = next(p.key for p in library.papers() if p.title == odd["title"])

    question = "Are induction circuits behind in-context learning (Qwxzy)?"
    decision = gate.decide(library, question, library.search(question, k=8))
    crane = next(j for j in decision.judged if j.key == key)
    assert decision.answerable and crane.hit.ranks["bm25"] <= 3
    assert crane.paper_similarity < library.settings.gate.paper_threshold
    assert crane.kept and crane.why == "top-3 bm25"

    off = "Who installed the Qwxzy harbour cranes and when were they repainted?"
    decision = gate.decide(library, off, library.search(off, k=8))
    # The crane memo matches every word, so this is answerable; a question no sentence is close to is not,
    # even though keyword search still ranks the memo first.
    assert decision.answerable and decision.kept[0].key == key
    unrelated = "What is the Qwxzy recipe for sourdough bread fermentation?"
    decision = gate.decide(library, unrelated, library.search(unrelated, k=8))
    crane = next(j for j in decision.judged if j.key == key)
    assert crane.hit.ranks["bm25"] <= 3
    assert not decision.answerable and decision.kept == [] and len(decision.dropped) == len(decision.judged)


def test_the_committed_question_set_loads():
    from reviewer.evaluation.abstain import GROUPS, load_questions

    questions = load_questions(REPO / "benchmarks" / "abstain" / "questions.jsonl")
    counts = {g: sum(q.group == g for q in questions) for g in GROUPS}
    assert counts["answerable"] >= 40 and counts["off-topic"] >= 30 and counts["near-miss"] >= 30
    assert all(q.keys for q in questions if q.group == "answerable")
    assert NEAR_MISS[0] in [q.question for q in questions]
