"""The red-team suite: `reviewer ask` (the real CLI, the real ChatOpenAI, stdout redirected) against a fake
OpenAI-compatible server on loopback that returns adversarial replies; each case asserts the exact stdout, the
exit status and the warnings. No ungrounded text may reach stdout as an answer. The cases are in
tests/redteam.py (benchmarks/redteam.py prints them and their outcomes)."""

from __future__ import annotations

import pytest

from llm_fixtures import build_library, isolated_cache  # noqa: F401  (autouse)
from redteam import CASES, NEUTRALISED_IN_PROMPT, PAPERS, TITLES, poisoned_papers, run_case, ungrounded

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])


@pytest.fixture(scope="module")
def libraries(tmp_path_factory, minilm):
    root = tmp_path_factory.mktemp("redteam")
    return {False: build_library(root / "clean", minilm, [PAPERS]),
            True: build_library(root / "poisoned", minilm, [poisoned_papers(root)])}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_adversarial_reply(case, libraries, tmp_path):
    outcome = run_case(case, libraries[case.poisoned], tmp_path / "cache")
    assert outcome.stdout == case.stdout
    assert outcome.exit_code == case.exit_code, outcome.stderr
    for phrase in case.stderr:
        assert phrase in " ".join(outcome.stderr.split()), outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert ungrounded(outcome, TITLES) == []
    if case.name == "trickle":
        assert outcome.seconds < 6
    if case.poisoned:  # what the model was shown: the injection neutralised, each paper on one line
        prompt = outcome.requests[0]["messages"][1]["content"]
        assert "PWNED" not in prompt and "developer mode" not in prompt and "never help" not in prompt
        assert NEUTRALISED_IN_PROMPT in prompt


def test_the_server_records_requests_with_both_token_limits(libraries, tmp_path):
    """llama.cpp reads max_tokens, OpenAI max_completion_tokens: a local endpoint gets both."""
    outcome = run_case(CASES[0], libraries[False], tmp_path / "cache")
    request = outcome.requests[0]
    assert (request["max_completion_tokens"], request["max_tokens"]) == (1024, 1024)
    assert request["model"] == "redteam" and not request.get("stream")
