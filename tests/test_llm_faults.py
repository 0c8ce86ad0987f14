"""Robustness of the LLM layer against a misbehaving endpoint, with the real ChatOpenAI and openai client.

HTTP faults are hand-written cassettes (cassettes/faults/, replayed by vcrpy, matched on method and uri);
faults a cassette cannot express (a connection cut in the middle of a stream, a timeout) use an httpx2
MockTransport. Every error must say what to do and never contain the key.
"""

from __future__ import annotations

import logging
import time

import httpx2
import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import CASSETTES, FAKE_KEY, cassette_fixtures, clean_env
from reviewer.llm import LLM, LLMError, ResponseCache, make_chat_model

pytestmark = pytest.mark.block_network

MESSAGES = [{"role": "user", "content": "Say hello."}]
BASE_URL = "http://llm.invalid/v1"


vcr_config, vcr_cassette_dir = cassette_fixtures(CASSETTES / "faults", replay_only=True, match_on=("method", "uri"))


@pytest.fixture
def make_llm(monkeypatch, tmp_path, caplog):
    """An LLM on the fault endpoint with the fake key, ``retries`` retries and a fresh cache; DEBUG logs kept."""
    from reviewer.config import LLMSettings

    clean_env(monkeypatch, tmp_path / "cache")
    caplog.set_level(logging.DEBUG)

    def _make(retries: int = 0, **chat_options) -> LLM:
        settings = LLMSettings(base_url=BASE_URL, model="test-model", api_key=FAKE_KEY, max_retries=retries,
                               timeout=5)
        return LLM(settings, chat_model=make_chat_model(settings, **chat_options),
                   cache=ResponseCache(tmp_path / "responses.sqlite"))

    return _make


def _no_key_anywhere(error: Exception | None, caplog) -> None:
    if error is not None:
        assert FAKE_KEY not in str(error) and FAKE_KEY not in repr(error)
    assert FAKE_KEY not in caplog.text


@pytest.mark.vcr("401.yaml")
def test_401_says_check_your_key(make_llm, vcr, caplog):
    with pytest.raises(LLMError) as error:
        make_llm(retries=2).complete(MESSAGES)
    message = str(error.value)
    assert "401" in message and "check your key" in message and "OPENAI_API_KEY" in message
    assert vcr.play_count == 1  # a refused key is not retried
    _no_key_anywhere(error.value, caplog)


@pytest.mark.vcr("429_then_success.yaml")
def test_429_is_retried_then_succeeds(make_llm, vcr, caplog):
    llm = make_llm(retries=2)
    start = time.monotonic()
    completion = llm.complete(MESSAGES)
    assert time.monotonic() - start < 2  # Retry-After of 1 ms was honoured (no multi-second backoff)
    assert completion.text == "Hello after waiting."
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (12, 4)
    assert vcr.play_count == 2 and vcr.all_played
    _no_key_anywhere(None, caplog)


@pytest.mark.vcr("429_then_success.yaml")
def test_429_without_retries_is_a_clear_error(make_llm, vcr):
    with pytest.raises(LLMError, match=r"rate-limiting requests \(429\): wait a minute"):
        make_llm(retries=0).complete(MESSAGES)
    assert vcr.play_count == 1


@pytest.mark.vcr("500.yaml")
def test_500_gives_a_clear_error_after_the_retries(make_llm, vcr, caplog):
    with pytest.raises(LLMError) as error:
        make_llm(retries=2).complete(MESSAGES)
    message = str(error.value)
    assert "failed with HTTP 500 after 2 retries" in message and "try again later" in message
    assert "The server had an error" in message  # the server's own words, for the log
    assert vcr.play_count == 3 and vcr.all_played  # one try and two retries
    _no_key_anywhere(error.value, caplog)


@pytest.mark.vcr("empty_reply.yaml")
def test_an_empty_reply_is_an_error_and_is_not_cached(make_llm, vcr):
    llm = make_llm()
    with pytest.raises(LLMError, match="returned an empty reply; try again, or use another model"):
        llm.complete(MESSAGES)
    assert len(llm.cache) == 0


@pytest.mark.vcr("malformed_body.yaml")
def test_a_body_that_is_not_a_chat_completion(make_llm, vcr, caplog):
    with pytest.raises(LLMError) as error:
        make_llm().complete(MESSAGES)
    assert "sent a reply that could not be read" in str(error.value)
    assert "OpenAI-compatible" in str(error.value)
    _no_key_anywhere(error.value, caplog)


@pytest.mark.vcr("stream_truncated.yaml")
def test_a_stream_ending_without_finish_reason_is_an_error(make_llm, vcr):
    llm = make_llm()
    pieces: list[str] = []
    with pytest.raises(LLMError) as error:
        llm.complete(MESSAGES, on_token=pieces.append)
    assert "".join(pieces) == "Pretraining data helps"  # what arrived was shown...
    assert "stopped before it was complete" in str(error.value) and "discarded" in str(error.value)
    assert len(llm.cache) == 0  # ...but not kept
    assert llm.usage.calls == 0


@pytest.mark.vcr("stream_with_usage.yaml")
def test_a_stream_with_usage_is_counted_as_reported(make_llm, vcr):
    llm = make_llm()
    pieces: list[str] = []
    completion = llm.complete(MESSAGES, on_token=pieces.append)
    assert "".join(pieces) == completion.text == "Hello there."
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (12, 3)
    assert not completion.usage.estimated and completion.finish_reason == "stop"
    assert vcr.requests[0].uri == f"{BASE_URL}/chat/completions"


# ------------------------------------------------------------------------- faults a cassette cannot hold
def _chunk(content: str, finish: str | None = None) -> bytes:
    import json

    delta = {"content": content} if content else {}
    event = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1700000000, "model": "test-model",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(event)}\n\n".encode()


class _CutStream(httpx2.SyncByteStream):
    """Two SSE events, then the connection drops (what httpx raises when a server dies mid-reply)."""

    def __iter__(self):
        yield _chunk("Pretraining")
        yield _chunk(" data")
        raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body "
                                         "(incomplete chunked read)")


def _client(handler) -> httpx2.Client:
    return httpx2.Client(transport=httpx2.MockTransport(handler))


def test_a_connection_cut_mid_stream_is_a_clear_error(make_llm, caplog):
    calls = []

    def handler(request):
        calls.append(request)
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=_CutStream())

    llm = make_llm(retries=2, http_client=_client(handler))
    pieces: list[str] = []
    with pytest.raises(LLMError) as error:
        llm.complete(MESSAGES, on_token=pieces.append)
    assert "".join(pieces) == "Pretraining data"
    assert "closed the connection in the middle of the reply (after 16 characters)" in str(error.value)
    assert "incomplete" in str(error.value) and "try again" in str(error.value)
    assert len(calls) == 1  # the client does not retry a stream that had started
    assert len(llm.cache) == 0
    _no_key_anywhere(error.value, caplog)
    # The key went to the server, in the header only.
    assert calls[0].headers["authorization"] == f"Bearer {FAKE_KEY}"


def test_a_connection_cut_before_a_plain_reply_is_complete(make_llm):
    def handler(request):
        return httpx2.Response(200, headers={"content-type": "application/json"}, stream=_CutStream())

    with pytest.raises(LLMError, match="closed the connection before the reply was complete"):
        make_llm(http_client=_client(handler)).complete(MESSAGES)


def test_a_timeout_says_which_setting_to_raise(make_llm):
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx2.ReadTimeout("timed out", request=request)

    with pytest.raises(LLMError, match=r"did not reply within 5 s after 1 retry: raise REVIEWER_LLM__TIMEOUT"):
        make_llm(retries=1, http_client=_client(handler)).complete(MESSAGES)
    assert len(calls) == 2


def test_an_unreachable_server(make_llm):
    def handler(request):
        raise httpx2.ConnectError("connection refused", request=request)

    with pytest.raises(LLMError, match=r"cannot reach http://llm.invalid/v1 \(ConnectError\).*is the server running"):
        make_llm(http_client=_client(handler)).complete(MESSAGES)


def test_a_context_overflow_names_the_budget(make_llm):
    def handler(request):
        return httpx2.Response(400, json={"error": {"message": "This model's maximum context length is 4096 tokens. "
                                                    "However, your messages resulted in 9000 tokens.",
                                                    "code": "context_length_exceeded", "type": "invalid_request_error"}})

    with pytest.raises(LLMError, match="too long for the context window.*REVIEWER_LLM__EVIDENCE_TOKENS"):
        make_llm(http_client=_client(handler)).complete(MESSAGES)


def test_errors_never_show_a_key_in_the_url_or_the_message():
    from reviewer.config import LLMSettings
    from reviewer.llm import explain

    settings = LLMSettings(base_url=f"https://user:{FAKE_KEY}@llm.example/v1?api-key={FAKE_KEY}", api_key=FAKE_KEY)
    for exc in (RuntimeError(f"boom with {FAKE_KEY} inside"), RuntimeError("Authorization: Bearer abc.def-123"),
                RuntimeError("Incorrect API key provided: sk-proj-abcd****wxyz")):
        message = str(explain(exc, settings))
        assert FAKE_KEY not in message and "abc.def-123" not in message and "sk-proj" not in message
        assert "https://llm.example/v1" in message

