"""No cassette holds anything that looks like a secret, and the recording configuration removes them."""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
import yaml

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import (CASSETTES, FAKE_KEY, SECRET_PATTERNS, SECRET_QUERY_PARAMETERS, SENSITIVE_HEADERS,
                          vcr_options)

pytestmark = pytest.mark.block_network  # no test here may reach the network

EXPECTED = {"recorded/ask.yaml", "recorded/ask_stream.yaml", "faults/401.yaml", "faults/429_then_success.yaml",
            "faults/500.yaml", "faults/ask_invented_key.yaml", "faults/ask_no_citations.yaml",
            "faults/ask_malformed_reply.yaml", "faults/ask_cannot_answer.yaml", "faults/empty_reply.yaml",
            "faults/malformed_body.yaml", "faults/stream_truncated.yaml", "faults/stream_with_usage.yaml"}


def secrets_in(text: str) -> list[str]:
    """What in ``text`` looks like a secret: pattern matches, and the keys of this shell if any are set."""
    found = [f"{name}: {m.group(0)!r}" for name, pattern in SECRET_PATTERNS.items() for m in pattern.finditer(text)]
    for variable in ("OPENAI_API_KEY", "REVIEWER_LLM__API_KEY", "AZURE_OPENAI_API_KEY"):
        value = os.environ.get(variable) or ""
        if len(value) >= 8 and value in text:
            found.append(f"the value of ${variable}")
    return found


def all_cassettes() -> list:
    return sorted(p for p in CASSETTES.rglob("*") if p.is_file())


def test_the_cassettes_are_all_there():
    assert EXPECTED <= {p.relative_to(CASSETTES).as_posix() for p in all_cassettes()}


@pytest.mark.parametrize("path", all_cassettes(), ids=lambda p: p.relative_to(CASSETTES).as_posix())
def test_no_cassette_holds_a_secret(path):
    text = path.read_text(encoding="utf-8")
    assert secrets_in(text) == []
    assert FAKE_KEY not in text
    if path.suffix == ".yaml":
        data = yaml.safe_load(text)
        assert data["version"] == 1 and data["interactions"]
        for interaction in data["interactions"]:
            request, response = interaction["request"], interaction["response"]
            assert not {h.lower() for h in request.get("headers") or {}} & set(SENSITIVE_HEADERS)
            assert not {h.lower() for h in response.get("headers") or {}} & set(SENSITIVE_HEADERS)
            query = {k.lower() for k, _ in parse_qsl(urlsplit(request["uri"]).query)}
            assert not query & set(SECRET_QUERY_PARAMETERS)
            # A hand-written body must not claim a compression it does not have.
            assert "content-encoding" not in {h.lower() for h in response.get("headers") or {}}


@pytest.mark.parametrize("planted", [
    "authorization: Bearer abcdef123456", "key sk-proj-AbCdEf123456", '"api-key": "0123456789abcdef"',
    "uri: https://x.openai.azure.com/chat?api-key=abc", "  Authorization:\n  - anything",
])
def test_the_scan_finds_planted_secrets(planted):
    assert secrets_in(planted)


def test_recording_filters_the_key_out_of_requests_and_responses(tmp_path):
    """Record through vcrpy with the project's configuration (against an in-process server) and read the file."""
    import vcr
    from reviewer.config import LLMSettings
    from reviewer.llm import LLM, make_chat_model

    def server(request):
        assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"  # the key did go out...
        return httpx2.Response(
            200,
            headers={"set-cookie": "__cf_bm=secret-cookie", "openai-organization": "my-org",
                     "openai-project": "proj_123", "content-type": "application/json"},
            json={"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "test-model",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": f"echo {FAKE_KEY}"},
                               "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}})

    settings = LLMSettings(base_url="http://llm.invalid/v1", model="test-model", api_key=FAKE_KEY, max_retries=0,
                           cache=False)
    recorder = vcr.VCR(**vcr_options())
    with recorder.use_cassette(str(tmp_path / "recorded.yaml"), record_mode="all"):
        client = httpx2.Client(transport=httpx2.MockTransport(server))
        llm = LLM(settings, chat_model=make_chat_model(settings, http_client=client))
        llm.complete([{"role": "user", "content": "hello"}])

    text = (tmp_path / "recorded.yaml").read_text()
    assert "chatcmpl-x" in text  # ...and the interaction was recorded...
    assert FAKE_KEY not in text and secrets_in(text) == []  # ...without it
    for value in ("secret-cookie", "my-org", "proj_123"):
        assert value not in text
