"""The happy path through real HTTP: `Library.ask` with the real ChatOpenAI, replayed from cassettes.

The cassettes in cassettes/recorded/ were recorded by `make record` (scripts/record.py) from a llama.cpp server
running SmolLM2-135M-Instruct. That model is tiny: it proves the HTTP path (request, streaming, usage, the
citation validator on a real reply), never answer quality. Every assertion is made against what the cassette
holds, so re-recording against another endpoint keeps these tests meaningful; RECORDED pins the exact outcome
of the committed SmolLM2 cassettes on top of that.

Only this module records (`make record` runs it with --record-mode=rewrite); other tests replay its cassettes.
"""

from __future__ import annotations

import json

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import (ASK_EVIDENCE, ASK_K, ASK_LLM_ENV, ASK_QUESTION, ask_db,  # noqa: F401
                          cassette_endpoint_env, cassette_fixtures, open_fixture_library, recorded_reply)
from reviewer import grounding, prompts
from reviewer.chains.ask import CANNOT_ANSWER

pytestmark = [pytest.mark.vcr, pytest.mark.block_network]

# What the grounding policy made of SmolLM2's real replies (checked only when the cassette is from that model): it
# never cites, so nothing is removed and the reply is not presented as an answer (the cannot-answer reply instead);
# re-recorded after the prompt changed, it now runs to the 160-token limit.
RECORDED = {
    "recorded/ask": {"verdict": "uncited", "removed": [], "cited": [], "finish_reason": "length"},
    "recorded/ask_stream": {"verdict": "uncited", "removed": [], "cited": [], "finish_reason": "length"},
}


vcr_config, vcr_cassette_dir = cassette_fixtures()


@pytest.fixture
def ask_library(ask_db, minilm, monkeypatch, tmp_path, record_mode, request):
    endpoint = cassette_endpoint_env(request, record_mode)  # read before the environment is cleaned
    return open_fixture_library(ask_db, minilm, monkeypatch, tmp_path / "cache", {**ASK_LLM_ENV, **endpoint})


def _interaction(cassette, index: int) -> dict:
    """A cassette's interaction as plain strings, from memory (works while recording, too)."""
    request, response = cassette.requests[index], cassette.responses[index]
    body = response["body"]["string"]
    return {"request": {"body": request.body.decode() if isinstance(request.body, bytes) else request.body},
            "response": {"body": {"string": body.decode() if isinstance(body, bytes) else body}}}


def expected_grounding(library, recorded: dict):
    """What the grounding policy makes of a recorded reply, given the request the chain sent."""
    reply, _, _ = recorded_reply(recorded)
    body = json.loads(recorded["request"]["body"])
    papers = {key: library.get(key) for key in ASK_EVIDENCE}
    return grounding.check(reply, ASK_EVIDENCE, known=library.records().keys(),
                           examples=prompts.load("ask").example_keys, prompt=body["messages"][0]["content"],
                           ignore=[CANNOT_ANSWER], sources={k: f"{p.title} {p.abstract}" for k, p in papers.items()})


def _check_against_recording(library, answer, recorded: dict, name: str) -> None:
    """What the chain made of the recorded reply is exactly what the grounding policy makes of it: a grounded
    answer with its uncited claims marked, or (the model cited nothing of the evidence) the cannot-answer
    reply with the reason."""
    reply, _, finish = recorded_reply(recorded)
    model = json.loads(recorded["request"]["body"])["model"]
    assert [e.key for e in answer.evidence] == ASK_EVIDENCE
    expected = expected_grounding(library, recorded)
    if answer.status == "cannot_answer":  # the model abstained
        assert answer.text == CANNOT_ANSWER and answer.citations == []
    elif expected.verdict == "grounded":
        assert (answer.status, answer.text) == ("answered", expected.text)
        assert [p.key for p in answer.citations] == expected.keys and set(expected.keys) <= set(ASK_EVIDENCE)
    else:
        assert (answer.status, answer.text, answer.citations, answer.exit_code) == ("rejected", CANNOT_ANSWER, [], 3)
        assert answer.rejected.startswith(f"the model's reply was rejected: {expected.reason}")
        assert answer.warnings[-1] == answer.rejected
    if finish == "length":
        assert ("the reply was cut at the token limit (160 tokens): raise REVIEWER_LLM__MAX_TOKENS for a complete "
                "answer") in answer.warnings
    if model == "smollm2":
        pinned = RECORDED[name]
        assert (expected.verdict, expected.removed, expected.keys, finish) == (
            pinned["verdict"], pinned["removed"], pinned["cited"], pinned["finish_reason"])


@pytest.mark.default_cassette("recorded/ask")
def test_ask_through_real_http(ask_library, vcr, record_mode):
    answer = ask_library.ask(ASK_QUESTION, k=ASK_K)

    assert len(vcr.requests) == 1
    if record_mode == "none":
        assert vcr.play_count == 1 and vcr.all_played
    recorded = _interaction(vcr, 0)
    body = json.loads(recorded["request"]["body"])
    reply, usage, _ = recorded_reply(recorded)
    assert body["temperature"] == 0 and not body.get("stream")
    assert body["messages"][0]["role"] == "system" and ASK_QUESTION in body["messages"][1]["content"]
    assert answer.engine == "llm"
    _check_against_recording(ask_library, answer, recorded, "recorded/ask")
    # Usage as the server reported it (llama.cpp reports usage when not streaming).
    if usage:
        assert (answer.usage.input_tokens, answer.usage.output_tokens) == (usage["prompt_tokens"],
                                                                           usage["completion_tokens"])
        assert not answer.usage.estimated
    assert answer.usage.calls == 1 and answer.usage.cached_calls == 0


@pytest.mark.default_cassette("recorded/ask_stream")
def test_ask_streaming_through_real_http(ask_library, vcr, record_mode):
    from reviewer.tokens import count_message_tokens, count_tokens

    pieces: list[str] = []
    sent: list = []  # the messages the chain sent (the cassette's body is the recorded scenario's)
    llm = ask_library.llm()
    complete = llm.complete
    llm.complete = lambda messages, **options: (sent.append(messages), complete(messages, **options))[1]
    answer = ask_library.ask(ASK_QUESTION, k=ASK_K, on_token=pieces.append)

    assert len(vcr.requests) == 1
    if record_mode == "none":
        assert vcr.play_count == 1 and vcr.all_played
    recorded = _interaction(vcr, 0)
    body = json.loads(recorded["request"]["body"])
    reply, usage, _ = recorded_reply(recorded)
    assert body["stream"] is True
    assert len(pieces) > 3 and "".join(pieces) == reply  # streamed token by token, nothing lost
    _check_against_recording(ask_library, answer, recorded, "recorded/ask_stream")
    if usage is None:  # llama.cpp sends no usage while streaming: estimated with tiktoken, and marked so
        assert answer.usage.estimated
        assert answer.usage.input_tokens == count_message_tokens(sent[0], body["model"])
        assert answer.usage.output_tokens == count_tokens(reply, body["model"])
        assert answer.usage.summary().startswith("tokens: ~")
    else:
        assert not answer.usage.estimated
