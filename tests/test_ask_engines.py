"""Both engines of `ask` (extractive with no endpoint, LLM with a fake model): abstaining with exactly
CANNOT_ANSWER, and the extractive engine's cited sentences."""

from __future__ import annotations

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import ASK_EVIDENCE, ASK_K, ASK_QUESTION, fake_llm, ask_db, open_fixture_library  # noqa: F401
from reviewer import citations, extractive
from reviewer.chains.ask import CANNOT_ANSWER
from reviewer.evidence import Evidence
from reviewer.extractive import NO_LLM_NOTE

pytestmark = pytest.mark.block_network  # no test here may reach the network

# Nothing in the sample corpus is about baking: the best cosine similarity over all 553 papers of ../shared/seeds
# is about 0.18; no sentence comes near the gate's answer threshold (0.51).
UNANSWERABLE = "What is the best recipe for sourdough bread?"


@pytest.fixture
def library(ask_db, minilm, monkeypatch, tmp_path):
    return open_fixture_library(ask_db, minilm, monkeypatch, tmp_path / "cache", {})


def test_extractive_engine_abstains_with_exactly_the_constant(library):
    assert library.llm() is None  # no endpoint configured
    answer = library.ask(UNANSWERABLE, k=ASK_K)
    assert answer.engine == "extractive"
    assert answer.text == CANNOT_ANSWER
    assert answer.citations == [] and answer.evidence == []
    assert len(answer.warnings) == 1 and answer.warnings[0].startswith(
        "no paper of this collection answers the question (best sentence similarity 0.")


def test_llm_engine_abstains_without_asking_the_model(library, tmp_path):
    llm, model = fake_llm(library, tmp_path, "This reply must never be requested.")
    answer = library.ask(UNANSWERABLE, k=ASK_K, llm=llm)
    assert answer.engine == "llm"
    assert answer.text == CANNOT_ANSWER
    assert model.received == []  # no evidence, no model call, no cost
    assert answer.usage.calls == 0 and answer.usage.input_tokens == 0


@pytest.mark.parametrize("reply", [
    CANNOT_ANSWER,
    "i cannot answer this from this collection: none of its papers address the question",
    "\nI cannot answer this from this collection: none of its papers address the question. [okafor2024pretraining]\n",
    "I cannot answer from this collection.",
])
def test_the_models_cannot_answer_reply_becomes_exactly_the_constant(library, tmp_path, reply):
    llm, model = fake_llm(library, tmp_path, reply)
    answer = library.ask(ASK_QUESTION, k=ASK_K, llm=llm)
    assert len(model.received) == 1
    assert answer.text == CANNOT_ANSWER
    assert answer.citations == [] and answer.warnings == []
    assert [e.key for e in answer.evidence] == ASK_EVIDENCE


def test_a_long_answer_that_mentions_the_phrase_is_still_an_answer(library, tmp_path):
    reply = ("Continued pretraining on a small supportive subset improves in-context learning by up to 18% "
             "[okafor2024pretraining]. Note that I cannot answer this from this collection for models other than the ones "
             "studied, since none of the papers compare architectures [raman2024demonstrations].")
    llm, _ = fake_llm(library, tmp_path, reply)
    answer = library.ask(ASK_QUESTION, k=ASK_K, llm=llm)
    assert answer.text == reply and [p.key for p in answer.citations] == ["okafor2024pretraining", "raman2024demonstrations"]


def test_extractive_engine_answers_with_cited_sentences(library):
    answer = library.ask(ASK_QUESTION, k=ASK_K)
    assert answer.engine == "extractive"
    assert answer.notice == NO_LLM_NOTE and NO_LLM_NOTE not in answer.text
    lines = answer.text.splitlines()
    assert 1 <= len(lines) <= 5
    for line in lines:
        assert line.startswith("- ") and line.rstrip().endswith("]")
        key = line.rsplit("[", 1)[1].rstrip("]")
        assert key in ASK_EVIDENCE
        # Every quoted sentence is really in that paper's abstract.
        abstract = library.get(key).abstract.replace("[", "(").replace("]", ")")
        assert line[2:].rsplit(" [", 1)[0] in abstract
    assert answer.citations and {p.key for p in answer.citations} <= set(ASK_EVIDENCE)
    assert "pretraining data" in answer.text.lower()
    assert answer.usage.calls == 0


def test_extractive_quotes_keep_their_own_brackets_out_of_the_citation_check(minilm):
    evidence = [Evidence("bert", "BERT", "The [CLS] token representation is used for sentence classification tasks. "
                                         "Pretraining uses masked language modelling on large corpora [12].")]
    text = extractive.answer("How is the [CLS] token used for classification?", evidence, minilm)
    assert text.splitlines()[0] == ("- The (CLS) token representation is used for sentence classification tasks. "
                                    "[bert]")
    assert citations.validate(text, ["bert"]).removed == []
