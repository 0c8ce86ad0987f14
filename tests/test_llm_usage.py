"""Usage, cost and the on-disk response cache of reviewer.llm (fake chat model: fast, no network)."""

from __future__ import annotations

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import ASK_K, ASK_QUESTION, RecordingChatModel, ask_db, clean_env, open_fixture_library  # noqa: F401
from reviewer.config import LLMSettings
from reviewer.llm import LLM, LLMError, ResponseCache, Usage, default_cache_path, price
from reviewer.tokens import count_message_tokens, count_tokens

pytestmark = pytest.mark.block_network  # no test here may reach the network

MESSAGES = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "What is ICL?"}]
REPLY = "In-context learning is learning from examples given in the prompt [incontext]."


@pytest.fixture
def settings(monkeypatch, tmp_path) -> LLMSettings:
    clean_env(monkeypatch, tmp_path / "cache")
    return LLMSettings(base_url="http://llm.invalid/v1", model="gpt-4o-mini")


def make(settings, tmp_path, *replies, **options):
    model = RecordingChatModel(replies=list(replies), model_name=settings.model, **options)
    return LLM(settings, chat_model=model, cache=ResponseCache(tmp_path / "r.sqlite")), model


def test_usage_and_cost_as_reported(settings, tmp_path):
    llm, _ = make(settings, tmp_path, REPLY, usage=(1200, 300))
    completion = llm.complete(MESSAGES)
    assert completion.text == REPLY and not completion.cached
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (1200, 300)
    assert completion.usage.cost == pytest.approx((1200 * 0.15 + 300 * 0.60) / 1e6)
    assert not completion.usage.estimated
    assert completion.usage.summary() == "tokens: 1,200 in / 300 out, cost $0.0004 (1 model call)"


def test_a_second_identical_call_costs_nothing(settings, tmp_path):
    llm, model = make(settings, tmp_path, REPLY)
    first = llm.complete(MESSAGES)
    second = llm.complete(MESSAGES)
    assert len(model.received) == 1
    assert second.cached and second.text == first.text
    assert (second.usage.input_tokens, second.usage.output_tokens, second.usage.cost) == (0, 0, 0.0)
    assert second.usage.cached_calls == 1 and second.usage.calls == 0
    assert llm.usage.calls == 1 and llm.usage.cached_calls == 1
    assert llm.usage.summary().endswith("(1 model call, 1 from cache)")


def test_use_cache_false_asks_again_and_refreshes_the_cache(settings, tmp_path):
    llm, model = make(settings, tmp_path, "first reply here", "second reply here")
    llm.complete(MESSAGES)
    fresh = llm.complete(MESSAGES, use_cache=False)
    assert len(model.received) == 2 and not fresh.cached and fresh.text == "second reply here"
    assert llm.complete(MESSAGES).text == "second reply here"  # the cache now holds the fresh reply
    assert len(llm.cache) == 1


def test_the_cache_persists_across_instances_and_keys_on_the_request(settings, tmp_path):
    llm, _ = make(settings, tmp_path, REPLY)
    llm.complete(MESSAGES)
    again, model = make(settings, tmp_path)  # a new process, the same cache file
    assert again.complete(MESSAGES).cached and model.received == []
    # Another model, temperature, max_tokens or message is another request.
    for changed in (settings.model_copy(update={"model": "gpt-4o"}), settings.model_copy(update={"temperature": 0.7}),
                    settings.model_copy(update={"max_tokens": 99})):
        other, model = make(changed, tmp_path, REPLY)
        assert not other.complete(MESSAGES).cached and len(model.received) == 1
    other, model = make(settings, tmp_path, REPLY)
    assert not other.complete(MESSAGES[:1]).cached


def test_settings_cache_false_means_no_cache_file(monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path / "cache")
    settings = LLMSettings(base_url="http://llm.invalid/v1", cache=False)  # REVIEWER_LLM__CACHE=false
    model = RecordingChatModel(replies=[REPLY, REPLY])
    llm = LLM(settings, chat_model=model)
    assert llm.cache is None
    assert not llm.complete(MESSAGES).cached and not llm.complete(MESSAGES).cached
    assert len(model.received) == 2
    assert not (tmp_path / "cache").exists()


def test_the_default_cache_lives_under_reviewer_cache_dir(settings, tmp_path):
    assert default_cache_path() == tmp_path / "cache" / "responses.sqlite"
    llm = LLM(settings, chat_model=RecordingChatModel(replies=[REPLY]))
    llm.complete(MESSAGES)
    assert (tmp_path / "cache" / "responses.sqlite").exists()


def test_missing_usage_is_estimated_with_tiktoken_and_marked(settings, tmp_path):
    llm, _ = make(settings, tmp_path, REPLY, REPLY, usage=None)
    for on_token in (None, []):  # plain and streamed
        completion = llm.complete(MESSAGES, on_token=on_token.append if on_token is not None else None,
                                  use_cache=False)
        assert completion.usage.estimated
        assert completion.usage.input_tokens == count_message_tokens(MESSAGES, "gpt-4o-mini")
        assert completion.usage.output_tokens == count_tokens(REPLY, "gpt-4o-mini")
        assert completion.usage.cost == pytest.approx(price(settings, "gpt-4o-mini", completion.usage.input_tokens,
                                                            completion.usage.output_tokens))
    summary = llm.usage.summary()
    assert summary.startswith("tokens: ~") and "estimated with tiktoken" in summary
    assert llm.usage.to_dict()["estimated"] is True


def test_streaming_passes_every_piece_and_a_cache_hit_passes_the_whole_text(settings, tmp_path):
    llm, _ = make(settings, tmp_path, REPLY)
    pieces: list[str] = []
    assert llm.complete(MESSAGES, on_token=pieces.append).text == REPLY
    assert len(pieces) > 5 and "".join(pieces) == REPLY
    pieces.clear()
    assert llm.complete(MESSAGES, on_token=pieces.append).cached
    assert pieces == [REPLY]


def test_an_empty_reply_at_the_token_limit_says_which_setting_to_raise(settings, tmp_path):
    llm, _ = make(settings, tmp_path, "  ", finish_reason="length")
    with pytest.raises(LLMError, match="empty reply; it stopped at the token limit .*REVIEWER_LLM__MAX_TOKENS=1024"):
        llm.complete(MESSAGES)
    assert len(llm.cache) == 0


def test_prices():
    settings = LLMSettings(prices={"gpt-4o-mini": (0.15, 0.60), "my-model": (1.0, 2.0)})
    assert price(settings, "gpt-4o-mini-2024-07-18", 1_000_000, 0) == pytest.approx(0.15)  # dated snapshot
    assert price(settings, "my-model", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert price(settings, "smollm2", 10_000, 10_000) == 0.0  # unknown (local) models cost nothing


def test_usage_adds_up():
    total = Usage()
    total.add(Usage(10, 5, 0.001, 1))
    total.add(Usage(cached_calls=1))
    total.add(Usage(7, 3, 0.0, 1, estimated=True))
    assert total.to_dict() == {"input_tokens": 17, "output_tokens": 8, "cost_usd": 0.001, "calls": 2,
                               "cached_calls": 1, "estimated": True}


def test_library_ask_twice_costs_zero_tokens_the_second_time(ask_db, minilm, monkeypatch, tmp_path):
    library = open_fixture_library(ask_db, minilm, monkeypatch, tmp_path / "cache", {})
    model = RecordingChatModel(replies=[REPLY, REPLY])
    llm = LLM(library.settings.llm, chat_model=model, cache=ResponseCache(tmp_path / "r.sqlite"))
    first = library.ask(ASK_QUESTION, k=ASK_K, llm=llm)
    second = library.ask(ASK_QUESTION, k=ASK_K, llm=llm)
    assert first.usage.input_tokens > 0 and first.usage.calls == 1
    assert (second.usage.input_tokens, second.usage.output_tokens, second.usage.calls) == (0, 0, 0)
    assert second.usage.cached_calls == 1 and second.text == first.text
    third = library.ask(ASK_QUESTION, k=ASK_K, llm=llm, use_cache=False)
    assert third.usage.calls == 1 and len(model.received) == 2


def test_a_cached_reply_remembers_it_was_cut_at_the_token_limit(settings, tmp_path):
    llm, _ = make(settings, tmp_path, REPLY, finish_reason="length")
    assert llm.complete(MESSAGES).finish_reason == "length"
    again = llm.complete(MESSAGES)
    assert again.cached and again.finish_reason == "length"


def test_an_error_in_the_token_callback_is_not_disguised_as_a_model_error(settings, tmp_path):
    llm, _ = make(settings, tmp_path, REPLY)

    def broken(piece):
        raise BrokenPipeError("the terminal went away")

    with pytest.raises(BrokenPipeError):
        llm.complete(MESSAGES, on_token=broken)
