"""`Library.compare` through real HTTP: the real ChatOpenAI with structured output (function calling), replayed
from cassettes/recorded/compare*.yaml.

The cassettes were recorded (`make record`, scripts/record.py: this module with --record-mode=rewrite) from a
llama.cpp server running SmolLM2-135M-Instruct, whose grammar-constrained tool calls always have the table's
shape but whose cells are poor: it proves the HTTP path (the tool schema sent, the tool call parsed, the repair
retry, usage) and the cell checks on a real reply, never table quality. The assertions follow what the cassette
holds, so re-recording against another endpoint keeps them meaningful; RECORDED pins the exact outcome of the
committed SmolLM2 cassettes on top of that. The scenario (tests/fixtures/compare: made-up papers only, since
cassettes hold the prompt) is fixed in tests/test_compare.py.
"""

from __future__ import annotations

import json

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import cassette_endpoint_env, cassette_fixtures, open_fixture_library
from reviewer.chains.compare import NOT_REPORTED, check_cells
from test_compare import (ASPECTS3, COMPARE_EVIDENCE, COMPARE_K, COMPARE_METHODS, UNCOVERED_WARNING,  # noqa: F401
                          assert_grounded, compare_db)

pytestmark = [pytest.mark.vcr, pytest.mark.block_network]

# The model parameters of the recorded requests (part of the request body). A table is long: 600 tokens.
COMPARE_LLM_ENV = {
    "REVIEWER_LLM__TEMPERATURE": "0",
    "REVIEWER_LLM__MAX_TOKENS": "600",
    "REVIEWER_LLM__MAX_RETRIES": "0",
    "REVIEWER_LLM__TIMEOUT": "300",
}
COVERED = ["low-rank adaptation", "prompt tuning"]  # quantum annealing has no evidence: it is never sent
TOPIC = "parameter-efficient fine-tuning of language models"

# What the chain made of SmolLM2's real replies (checked only when the cassette is from that model).
# SmolLM2 lists keys of another method's evidence or made-up ones ("method_name"): they are removed; its only
# cell left with a valid key keeps its (meaningless) text; the others say "not reported", and why.
RECORDED: dict[str, dict] = {
    "recorded/compare": {
        "requests": 1,
        "cells": {
            "low-rank adaptation": {"task": (NOT_REPORTED, []),
                                    "approach": ("HighLighTD1024983675.png", ["lindqvist2024lowrank"]),
                                    "results": (NOT_REPORTED, [])},
            "prompt tuning": {a: (NOT_REPORTED, []) for a in ASPECTS3},
            "quantum annealing": {a: (NOT_REPORTED, []) for a in ASPECTS3},
        },
        "warnings": [
            UNCOVERED_WARNING,
            "removed citation(s) of keys that were not in that method's evidence: low-rank adaptation / task: "
            "method_name; prompt tuning / task: lindqvist2024lowrank; prompt tuning / results: lindqvist2024lowrank",
            "5 cell(s) cited no paper of that method's evidence and say 'not reported' instead: low-rank adaptation / "
            "task: 'highlighted text with bold text in the table'; low-rank adaptation / results: 'highlighted text "
            "with bold text in the table'; prompt tuning / task: 'HighLighTD1024983675.png'; prompt tuning / "
            "approach: 'highlighted text with bold text in the table'; prompt tuning / results: "
            "'HighLighTD1024983675.png'",
        ],
    },
    "recorded/compare_topic": {"error": True},
}


vcr_config, vcr_cassette_dir = cassette_fixtures()


@pytest.fixture
def compare_library(compare_db, minilm, monkeypatch, tmp_path, record_mode, request):
    endpoint = cassette_endpoint_env(request, record_mode)  # read before the environment is cleaned
    return open_fixture_library(compare_db, minilm, monkeypatch, tmp_path / "cache", {**COMPARE_LLM_ENV, **endpoint})


def _exchange(cassette, index: int) -> tuple[dict, dict]:
    """(request body, response body) of a cassette's interaction, from memory (works while recording, too)."""
    request, response = cassette.requests[index], cassette.responses[index]
    body = response["body"]["string"]
    return (json.loads(request.body.decode() if isinstance(request.body, bytes) else request.body),
            json.loads(body.decode() if isinstance(body, bytes) else body))


def _tool_arguments(response: dict) -> str:
    """The arguments of the tool call in a recorded chat completion (a JSON string, valid or not)."""
    message = response["choices"][0]["message"]
    return message["tool_calls"][0]["function"]["arguments"]


def _usage(responses: list[dict]) -> tuple[int, int]:
    return (sum(r["usage"]["prompt_tokens"] for r in responses),
            sum(r["usage"]["completion_tokens"] for r in responses))


@pytest.mark.default_cassette("recorded/compare")
def test_compare_through_real_http(compare_library, vcr, record_mode):
    comparison = compare_library.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K)

    count = len(vcr.requests)
    assert count in (1, 2)  # a first reply that is not a valid table gets one repair retry
    if record_mode == "none":
        assert vcr.play_count == count and vcr.all_played
    exchanges = [_exchange(vcr, i) for i in range(count)]
    body, _ = exchanges[0]
    # The request: temperature 0, the table schema as a forced tool call, each method's own evidence.
    assert body["temperature"] == 0 and not body.get("stream")
    tool = body["tools"][0]["function"]
    assert tool["name"] == "ComparisonTable" and body["tool_choice"]["function"]["name"] == "ComparisonTable"
    assert tool["parameters"]["required"] == COVERED
    assert tool["parameters"]["properties"][COVERED[0]]["required"] == ASPECTS3
    user = body["messages"][1]["content"]
    for method in COVERED:
        assert f"Method: {method}\n" in user
        assert all(f"[{key}]" in user for key in COMPARE_EVIDENCE[method])
    assert "quantum annealing" not in user and "okonkwo2024forecasting" not in user
    if count == 2:  # the repair request shows the model its first reply and what was wrong with it
        repair = exchanges[1][0]["messages"]
        assert repair[:2] == body["messages"]
        assert repair[2]["role"] == "assistant" and repair[3]["content"].startswith("That reply is not valid: ")

    # The result is exactly what the cell checks make of the (last) recorded tool call.
    reply = json.loads(_tool_arguments(exchanges[-1][1]))
    drafts = {m: {a: (reply[m][a]["text"], reply[m][a]["keys"]) for a in ASPECTS3} for m in COVERED}
    evidence = {m: [e for e in comparison.evidence[m]] for m in COMPARE_METHODS}
    warnings = [UNCOVERED_WARNING]
    if count == 2:
        warnings.append("the model's first table was not valid; it was asked once to repair it, and the repaired "
                        "table is shown")
    expected = check_cells(COMPARE_METHODS, ASPECTS3, drafts, evidence, warnings)
    assert comparison.cells == expected and comparison.warnings == warnings
    assert {m: [e.key for e in items] for m, items in comparison.evidence.items()} == COMPARE_EVIDENCE
    assert_grounded(comparison, compare_library)
    # Keys the model listed that were not in that method's evidence were removed, and said so.
    for method in COVERED:
        allowed = set(COMPARE_EVIDENCE[method])
        for aspect in ASPECTS3:
            unknown = [k for k in reply[method][aspect]["keys"] if k.strip() and k.strip("[] @") not in allowed]
            if unknown:
                assert any(f"{method} / {aspect}: " in w for w in comparison.warnings if w.startswith("removed"))
    assert all(c.text == NOT_REPORTED and not c.keys for c in comparison.cells["quantum annealing"].values())
    assert (comparison.usage.input_tokens, comparison.usage.output_tokens) == _usage([r for _, r in exchanges])
    assert comparison.usage.calls == count and not comparison.usage.estimated

    if body["model"] == "smollm2":
        pinned = RECORDED["recorded/compare"]
        assert count == pinned["requests"]
        assert {m: {a: (c.text, c.keys) for a, c in row.items()} for m, row in comparison.cells.items()} == \
            pinned["cells"]
        assert comparison.warnings == pinned["warnings"]


@pytest.mark.default_cassette("recorded/compare_topic")
def test_compare_topic_through_real_http(compare_library, vcr, record_mode):
    """--topic: a structured call lists the methods (only names found in the topic's papers count), then the
    table call compares them."""
    from reviewer.llm import LLMError

    try:
        comparison = compare_library.compare(topic=TOPIC, aspects=["task"], k=COMPARE_K)
    except LLMError as exc:
        comparison, error = None, str(exc)
    count = len(vcr.requests)
    if record_mode == "none":
        assert vcr.play_count == count and vcr.all_played
    exchanges = [_exchange(vcr, i) for i in range(count)]
    first, _ = exchanges[0]
    assert first["tools"][0]["function"]["name"] == "MethodList"
    assert f"Topic: {TOPIC}" in first["messages"][1]["content"]
    assert "at most 4 methods" in first["messages"][0]["content"]
    lists = [i for i, (b, _) in enumerate(exchanges) if b["tools"][0]["function"]["name"] == "MethodList"]
    assert lists in ([0], [0, 1])  # one repair at most
    if first["model"] == "smollm2":  # it lists "1.0", "2.0", "3.0" twice: the repair fails, a clear error
        assert comparison is None and RECORDED["recorded/compare_topic"]["error"]
    if comparison is None:  # twice no usable method name: an error, and no table was asked for
        assert lists == [0, 1] and count == 2
        assert error.startswith(f"the model {first['model']!r} twice sent a reply that is not a valid MethodList (it "
                                "names no method that occurs in the evidence")
        return
    names = json.loads(_tool_arguments(exchanges[lists[-1]][1]))["methods"]
    evidence_text = first["messages"][1]["content"].casefold()
    assert comparison.methods and all(m.casefold() in evidence_text for m in comparison.methods)
    assert all(any(m.casefold() == " ".join(n.split()).strip(" \"'`*.,;:!?()[]{}").casefold() for n in names)
               for m in comparison.methods)
    table = [b for b, _ in exchanges[len(lists):]]
    assert table and table[0]["tools"][0]["function"]["name"] == "ComparisonTable"
    assert_grounded(comparison, compare_library)
    for method in comparison.methods:  # a found method's evidence mentions it
        assert all(method.casefold() in f"{e.title} {e.abstract}".casefold() for e in comparison.evidence[method])
    assert comparison.usage.calls == count
    assert (comparison.usage.input_tokens, comparison.usage.output_tokens) == _usage([r for _, r in exchanges])
