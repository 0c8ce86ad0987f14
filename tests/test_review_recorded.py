"""`Library.review` through real HTTP (the real ChatOpenAI), replayed from cassettes/recorded/review.yaml.

The cassette was recorded by `make record` (scripts/record.py) from a llama.cpp server running
SmolLM2-135M-Instruct on the fixture library (tests/fixtures/review: made-up papers, so the cassette holds no
sample-corpus text). That model is tiny: the recording proves the HTTP path of every step (structured outline
and verdicts through function calling, plain-text sections and introduction, usage), never the quality of the
draft. Every assertion is made against what the cassette holds, so re-recording against another endpoint keeps
the test meaningful; RECORDED pins the exact outcome of the committed SmolLM2 cassette on top of that.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import cassette_endpoint_env, cassette_fixtures, open_fixture_library, recorded_reply
from review_fixtures import REVIEW_GROUPS, REVIEW_THEMES, REVIEW_TOPIC, review_db  # noqa: F401
from reviewer import citations
from reviewer.chains.review import FRAMING_REASON, _clean
from reviewer.draft import REWRITTEN, SUPPORTED, UNCHECKED, UNSUPPORTED
from reviewer.llm import Usage

pytestmark = [pytest.mark.vcr, pytest.mark.block_network]

# The model parameters of the recorded requests (they are part of the request body).
REVIEW_LLM_ENV = {
    "REVIEWER_LLM__TEMPERATURE": "0",
    "REVIEWER_LLM__MAX_TOKENS": "256",
    "REVIEWER_LLM__MAX_RETRIES": "0",
    "REVIEWER_LLM__TIMEOUT": "300",
}
# What the chain made of SmolLM2's replies (checked only when the cassette is from that model). It returns an
# empty outline, twice (the repair call does not help; the themes keep their c-TF-IDF names), writes sections that cite nothing (every claim is
# flagged, so the support check has nothing to judge), and judges the support sentences unsupported (one
# wrongly) without rewriting them.
RECORDED = {
    "calls": 6, "names": ["Outline", "Outline", None, None, None, None],
    "themes": ["Student, teacher, soft labels", "Fine-tuning, adapter, languages",
               "Quantization, bits, outlier channels"],
    "flagged": 20, "cited": [], "warnings": 2,
}
RECORDED_SUPPORT = {"names": ["Verdicts", "Rewrites"], "verdicts": ["unsupported", "unsupported"]}


vcr_config, vcr_cassette_dir = cassette_fixtures()


@pytest.fixture
def library(review_db, minilm, monkeypatch, tmp_path, record_mode, request):
    endpoint = cassette_endpoint_env(request, record_mode)  # read before the environment is cleaned
    return open_fixture_library(review_db, minilm, monkeypatch, tmp_path / "cache", {**REVIEW_LLM_ENV, **endpoint})


def _requests(cassette) -> list[tuple[dict, dict]]:
    """(request body, recorded interaction as plain strings) of every call, from memory (works while recording)."""
    out = []
    for request, response in zip(cassette.requests, cassette.responses):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        text = response["body"]["string"]
        text = text.decode() if isinstance(text, bytes) else text
        out.append((json.loads(body), {"request": {"body": body}, "response": {"body": {"string": text}}}))
    return out


def _tool(body: dict) -> str | None:
    """The name of the function a structured request asks for (None for a plain-text request)."""
    tools = body.get("tools") or []
    return tools[0]["function"]["name"] if tools else None


@pytest.mark.default_cassette("recorded/review")
def test_review_through_real_http(library, vcr, record_mode):
    steps: list[tuple[str, int, int]] = []
    draft = library.review(REVIEW_TOPIC, themes=REVIEW_THEMES, progress=lambda *e: steps.append(e))

    calls = _requests(vcr)
    if record_mode == "none":
        assert vcr.play_count == len(calls) and vcr.all_played
    bodies = [body for body, _ in calls]
    assert all(b["temperature"] == 0 and not b.get("stream") and b["model"] == draft.settings["model"]
               for b in bodies)
    assert draft.engine == "llm" and steps[-1] == ("introduction", 1, 1)
    draft.check_citations()

    # outline: structured (function calling), possibly repaired once; the themes are the fixture's three
    names = [_tool(b) for b in bodies]
    outline_calls = next(i for i, n in enumerate(names) if n != "Outline")
    assert 1 <= outline_calls <= 2 and names[:outline_calls] == ["Outline"] * outline_calls
    assert sorted(t.keys for t in draft.themes) == sorted(REVIEW_GROUPS)
    assert sorted(t.id for t in draft.themes) == [0, 1, 2]

    # map: one plain-text call per section, holding exactly its theme's papers
    sections = calls[outline_calls:outline_calls + 3]
    for (body, recorded), section in zip(sections, draft.sections):
        assert _tool(body) is None
        prompt = body["messages"][1]["content"]
        assert {k for k in draft.papers if f"[{k}]" in prompt} == set(section.theme.keys)
        reply, _, _ = recorded_reply(recorded)
        checked = citations.validate(_clean(reply), section.theme.keys)
        written = [s for s in section.sentences() if s.reason != FRAMING_REASON and (s.support != UNCHECKED or s.keys)]
        assert {k for s in section.sentences() for k in s.keys} <= set(section.theme.keys)
        if checked.removed:
            assert (f"section {section.heading!r}: removed citation(s) of keys that were not among its papers: "
                    + ", ".join(checked.removed)) in draft.warnings
        for sentence in written:
            if sentence.support == REWRITTEN:
                assert sentence.original and sentence.original in checked.text
            else:
                assert sentence.text in checked.text

    # support check: structured calls (Verdicts, Rewrites), at most three per section, only for citing sentences
    support_names = names[outline_calls + 3:-1]
    assert set(support_names) <= {"Verdicts", "Rewrites"}
    citing = [s for s in draft.all_sentences() if s.keys]
    assert (len(support_names) == 0) == (len(citing) == 0)
    for sentence in draft.all_sentences():
        assert sentence.support in (SUPPORTED, REWRITTEN, UNSUPPORTED, UNCHECKED)
        assert (sentence.support == UNCHECKED) == (not sentence.keys and not sentence.flagged)
    assert [s for s in draft.all_sentences() if s.support == UNSUPPORTED] == draft.flagged

    # reduce: the introduction call sees the outline and section summaries, not the abstracts
    intro_body, intro_recorded = calls[-1]
    assert _tool(intro_body) is None
    intro_prompt = intro_body["messages"][1]["content"]
    assert all(f"{i}. {s.heading}" in intro_prompt for i, s in enumerate(draft.sections, 1))
    assert not any(p.abstract[:60] in intro_prompt for p in draft.papers.values())
    intro_reply, _, _ = recorded_reply(intro_recorded)
    assert all(support_text(s.text) in " ".join(intro_reply.split()) for s in draft.introduction)

    # usage: every call, as the server reported it
    reported = [recorded_reply(r)[1] for _, r in calls]
    assert draft.usage.calls == len(calls) and draft.usage.cached_calls == 0
    if all(reported):
        assert draft.usage.input_tokens == sum(u["prompt_tokens"] for u in reported)
        assert draft.usage.output_tokens == sum(u["completion_tokens"] for u in reported)
        assert not draft.usage.estimated

    if draft.settings["model"] == "smollm2" and RECORDED:
        assert {
            "calls": len(calls), "names": names, "themes": [t.name for t in draft.themes],
            "flagged": len(draft.flagged), "cited": draft.cited_keys(), "warnings": len(draft.warnings),
        } == RECORDED

    # the same run again is served by the response cache: no request, the same draft
    again = library.review(REVIEW_TOPIC, themes=REVIEW_THEMES)
    assert len(vcr.requests) == len(calls)
    assert again.usage.calls == 0 and again.usage.cached_calls == len(calls)  # repairs replayed from the cache too
    assert dataclasses.replace(again, usage=Usage()) == dataclasses.replace(draft, usage=Usage())
    assert again.to_json() == draft.to_json()


# Two hand-written sentences about the fixture papers: one faithful, one that cites the wrong paper.
SUPPORT_SENTENCES = [
    ("Keeping outlier channels in sixteen-bit precision lets the other weights be quantized to four bits "
     "[novak2024fourbit].", ["novak2024fourbit"]),
    ("Self-distillation over several generations keeps improving the student [petrova2024mixedprecision].",
     ["petrova2024mixedprecision"]),
]
SUPPORT_THEME = ["novak2024fourbit", "petrova2024mixedprecision"]


@pytest.mark.default_cassette("recorded/review_support")
def test_support_check_through_real_http(library, vcr, record_mode):
    """The LLM support check of one section (Verdicts, then Rewrites and a re-check when a sentence fails)."""
    from reviewer import support
    from reviewer.draft import Sentence

    papers = library.store.get(SUPPORT_THEME)
    sentences = [Sentence(text, keys) for text, keys in SUPPORT_SENTENCES]
    usage = support.check_with_llm(sentences, papers, library.llm(), allowed=SUPPORT_THEME)

    calls = _requests(vcr)
    if record_mode == "none":
        assert vcr.play_count == len(calls) and vcr.all_played
    names = [_tool(body) for body, _ in calls]
    assert names[0] == "Verdicts" and set(names) <= {"Verdicts", "Rewrites"} and len(calls) <= 3
    assert usage.calls == len(calls)
    prompt = calls[0][0]["messages"][1]["content"]
    assert "1. " + SUPPORT_SENTENCES[0][0] in prompt and "2. " + SUPPORT_SENTENCES[1][0] in prompt
    assert all(papers[k].abstract in prompt for k in SUPPORT_THEME)

    # the verdicts are the recorded tool call's, sentence by sentence (no verdict: unsupported)
    first = _verdicts(calls[0][1])
    for i, sentence in enumerate(sentences, 1):
        judged = first.get(i, (False, "the model gave no verdict"))
        if judged[0]:
            assert sentence.support == SUPPORTED and sentence.original is None
        else:
            assert sentence.support in (REWRITTEN, UNSUPPORTED)
            assert (sentence.support == REWRITTEN) == (sentence.original is not None)
            assert sentence.reason.startswith(judged[1] or "not supported") or \
                sentence.reason == f"first version unsupported: {judged[1] or 'not supported'}"
    if all(ok for ok, _ in (first.get(i, (False, "")) for i in (1, 2))):
        assert len(calls) == 1
    if RECORDED_SUPPORT and calls[0][0]["model"] == "smollm2":
        assert {"names": names, "verdicts": [s.support for s in sentences]} == RECORDED_SUPPORT


def _verdicts(recorded: dict) -> dict[int, tuple[bool, str]]:
    """{sentence number: (supported, reason)} of a recorded Verdicts tool call (first verdict per number)."""
    message = json.loads(recorded["response"]["body"]["string"])["choices"][0]["message"]
    arguments = json.loads(message["tool_calls"][0]["function"]["arguments"])
    out: dict[int, tuple[bool, str]] = {}
    for verdict in arguments.get("verdicts", []):
        out.setdefault(verdict["n"], (verdict["supported"], " ".join(verdict.get("reason", "").split())))
    return out


def support_text(text: str) -> str:
    """A sentence as it appears in the raw reply (citations removed by the chain are gone from both)."""
    return " ".join(citations.CITATION.sub("", text).split()).rstrip(".")[:40]
