"""LLM.structured: pydantic values through with_structured_output, one repair retry, usage and cache
(fake chat model: queued JSON replies become tool-call arguments)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import RecordingChatModel, clean_env
from reviewer.config import LLMSettings
from reviewer.llm import LLM, LLMError, ResponseCache

pytestmark = pytest.mark.block_network
MESSAGES = [{"role": "user", "content": "Which method does [berg2023induction] study?"}]


class Finding(BaseModel):
    method: str = Field(description="the method's name")
    keys: list[str] = Field(description="citation keys")


def make(tmp_path, monkeypatch, replies, cache=True):
    clean_env(monkeypatch, tmp_path / "cache")
    model = RecordingChatModel(replies=list(replies))
    settings = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake-model")
    return LLM(settings, chat_model=model, cache=ResponseCache(tmp_path / "r.sqlite") if cache else None), model


def test_a_valid_reply_is_parsed_and_counted(tmp_path, monkeypatch):
    llm, model = make(tmp_path, monkeypatch, ['{"method": "induction heads", "keys": ["berg2023induction"]}'])
    result = llm.structured(MESSAGES, Finding)
    assert result.value == Finding(method="induction heads", keys=["berg2023induction"])
    assert not result.repaired and not result.cached
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.calls) == (120, 30, 1)
    assert llm.usage.calls == 1 and len(model.received) == 1


def test_an_unparsable_reply_is_repaired_once_with_the_error_shown(tmp_path, monkeypatch):
    llm, model = make(tmp_path, monkeypatch, ['{"method": "induction heads", "keys": [',
                                              '{"method": "induction heads", "keys": []}'])
    result = llm.structured(MESSAGES, Finding)
    assert result.repaired and result.value.method == "induction heads"
    assert result.usage.calls == 2
    repair = model.last_messages()
    assert repair[:2] == MESSAGES + [{"role": "assistant", "content": '{"method": "induction heads", "keys": ['}]
    assert repair[2]["role"] == "user" and repair[2]["content"].startswith("That reply is not valid: ")
    assert repair[2]["content"].endswith("Reply again with one complete Finding that fixes this.")


def test_a_missing_field_and_a_failed_check_go_through_the_repair_path(tmp_path, monkeypatch):
    llm, model = make(tmp_path, monkeypatch, ['{"method": "induction heads"}',
                                              '{"method": "induction heads", "keys": []}',
                                              '{"method": "induction heads", "keys": ["berg2023induction"]}'])
    assert llm.structured(MESSAGES, Finding).repaired  # "keys" missing -> repaired
    assert "keys" in model.last_messages()[2]["content"]

    def needs_a_key(value):
        return [] if value.keys else ["every finding needs at least one key"]

    llm2, model2 = make(tmp_path / "2", monkeypatch, ['{"method": "x", "keys": []}',
                                                      '{"method": "x", "keys": ["berg2023induction"]}'])
    result = llm2.structured(MESSAGES, Finding, check=needs_a_key)
    assert result.repaired and result.value.keys == ["berg2023induction"]
    assert model2.last_messages()[2]["content"] == ("That reply is not valid: every finding needs at least one "
                                                   "key. Reply again with one complete Finding that fixes this.")


def test_two_invalid_replies_raise_a_clear_error(tmp_path, monkeypatch):
    llm, _ = make(tmp_path, monkeypatch, ["not json", "still not json"])
    with pytest.raises(LLMError, match=r"^the model 'fake-model' twice sent a reply that is not a valid Finding "
                                       r"\(.*\): try again, or use a larger model$"):
        llm.structured(MESSAGES, Finding)
    assert llm.usage.calls == 2  # both attempts are paid for and counted


def test_replies_are_cached_so_that_a_rerun_takes_the_same_path(tmp_path, monkeypatch):
    llm, model = make(tmp_path, monkeypatch, ['{"method": "a", "keys": ["k"]}'])
    first = llm.structured(MESSAGES, Finding)
    second = llm.structured(MESSAGES, Finding)
    assert second.cached and second.value == first.value and len(model.received) == 1
    assert second.usage.calls == 0 and second.usage.cached_calls == 1
    # the schema is part of the key: another schema asks the model
    class Other(BaseModel):
        method: str

    model.replies.append('{"method": "b"}')
    assert llm.structured(MESSAGES, Other).value.method == "b" and len(model.received) == 2
    # a cached value that fails today's check is asked again
    model.replies.append('{"method": "a", "keys": ["k", "j"]}')
    again = llm.structured(MESSAGES, Finding, check=lambda v: [] if len(v.keys) == 2 else ["two keys needed"])
    assert not again.cached and again.value.keys == ["k", "j"]


def test_a_twice_invalid_reply_fails_again_from_the_cache_and_no_cache_asks_again(tmp_path, monkeypatch):
    llm, model = make(tmp_path, monkeypatch, ['{"method": "a"}', '{"method": "a", "keys": []}'])
    needs_a_key = lambda v: [] if v.keys else ["at least one key"]  # noqa: E731
    with pytest.raises(LLMError) as first:
        llm.structured(MESSAGES, Finding, check=needs_a_key)
    assert first.value.usage.calls == 2
    with pytest.raises(LLMError) as again:  # the same two replies, from the cache: the same outcome, no cost
        llm.structured(MESSAGES, Finding, check=needs_a_key)
    assert str(again.value) == str(first.value) and again.value.usage.cached_calls == 2
    assert len(model.received) == 2
    model.replies.append('{"method": "a", "keys": ["k"]}')
    fresh = llm.structured(MESSAGES, Finding, check=needs_a_key, use_cache=False)
    assert fresh.value.keys == ["k"] and not fresh.cached and len(model.received) == 3
