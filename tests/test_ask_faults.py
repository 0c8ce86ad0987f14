"""What `ask` does with bad replies, through Library.ask and the real ChatOpenAI (hand-written cassettes in
cassettes/faults/, replayed on the recorded scenario's library, so the evidence is the recorded one:
okafor2024pretraining, raman2024demonstrations, berg2023induction)."""

from __future__ import annotations

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import (ASK_EVIDENCE, ASK_K, ASK_QUESTION, CASSETTES, FAKE_KEY, ask_db,  # noqa: F401
                          cassette_fixtures, open_fixture_library)
from reviewer.chains.ask import CANNOT_ANSWER

pytestmark = pytest.mark.block_network

FAULT_ENV = {"REVIEWER_LLM__BASE_URL": "http://llm.invalid/v1", "REVIEWER_LLM__MODEL": "test-model",
             "REVIEWER_LLM__API_KEY": FAKE_KEY, "REVIEWER_LLM__MAX_RETRIES": "0"}


vcr_config, vcr_cassette_dir = cassette_fixtures(CASSETTES / "faults", replay_only=True, match_on=("method", "uri"))


@pytest.fixture
def library(ask_db, minilm, monkeypatch, tmp_path):
    return open_fixture_library(ask_db, minilm, monkeypatch, tmp_path / "cache", FAULT_ENV)


@pytest.mark.vcr("ask_invented_key.yaml")
def test_a_key_not_in_the_evidence_is_removed_and_reported(library, vcr):
    answer = library.ask(ASK_QUESTION, k=ASK_K)
    assert vcr.play_count == 1
    assert [e.key for e in answer.evidence] == ASK_EVIDENCE
    assert answer.text == ("Continued pretraining on a small supportive subset of the pretraining data improves "
                           "in-context learning by up to 18% [okafor2024pretraining]. Meta-trained transformers become "
                           "general-purpose in-context learners (uncited).")
    assert [p.key for p in answer.citations] == ["okafor2024pretraining"]
    assert answer.citations[0].title == "Pretraining Mixtures Shape In-Context Learning"
    assert answer.warnings == [
        "removed citation(s) of keys that were not in the evidence: smith2023fake, vaswani2017attention",
        "1 claim(s) without a citation, marked (uncited): Meta-trained transformers become general-purpose "
        "in-context learners.",
    ]
    assert (answer.status, answer.exit_code, answer.uncited) == (
        "answered", 0, ["Meta-trained transformers become general-purpose in-context learners."])
    assert (answer.usage.input_tokens, answer.usage.output_tokens, answer.usage.calls) == (1250, 60, 1)


@pytest.mark.vcr("ask_no_citations.yaml")
def test_a_reply_without_citations_is_not_presented_as_an_answer(library, vcr):
    answer = library.ask(ASK_QUESTION, k=ASK_K)
    assert answer.text == CANNOT_ANSWER and answer.citations == []
    assert (answer.status, answer.exit_code) == ("rejected", 3)
    assert [e.key for e in answer.evidence] == ASK_EVIDENCE  # the best evidence, to read instead
    assert answer.warnings == [
        "the model's reply was rejected: it cites none of the papers it was shown (--allow-uncited shows such a "
        "reply, marked): 'Pretraining data that contains rare, long-tail tokens supports in-context learn…'"]


@pytest.mark.vcr("ask_no_citations.yaml")
def test_allowed_an_uncited_reply_is_shown_with_every_claim_marked(library, vcr):
    answer = library.ask(ASK_QUESTION, k=ASK_K, allow_uncited=True)
    assert answer.text == ("Pretraining data that contains rare, long-tail tokens supports in-context learning "
                           "(uncited). Challenging examples with long-range context help as well (uncited).")
    assert (answer.status, answer.exit_code, answer.citations) == ("uncited", 4, [])


@pytest.mark.vcr("ask_malformed_reply.yaml")
def test_a_malformed_reply_becomes_the_cannot_answer_reply_with_a_warning(library, vcr):
    answer = library.ask(ASK_QUESTION, k=ASK_K)
    assert answer.text == CANNOT_ANSWER and not answer.answered
    assert answer.citations == []
    assert [e.key for e in answer.evidence] == ASK_EVIDENCE  # what the model was shown is still reported
    assert answer.warnings == ["the model's reply was rejected: it is not prose (empty, or only citations and "
                               "markup): '[okafor2024pretraining] [raman2024demonstrations] ]] {{ ##'"]
    assert (answer.status, answer.exit_code) == ("rejected", 3)


@pytest.mark.vcr("ask_cannot_answer.yaml")
def test_the_models_cannot_answer_sentence_becomes_exactly_the_constant(library, vcr):
    answer = library.ask(ASK_QUESTION, k=ASK_K)
    assert answer.text == CANNOT_ANSWER
    assert answer.citations == [] and answer.warnings == []
    assert answer.to_dict()["text"] == CANNOT_ANSWER
