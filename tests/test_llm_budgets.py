"""Budgets of model calls: a total deadline per call (a slow or trickling model cannot hold it longer) and per
command, a cap on reply size, and the condense step's own small token budget."""

from __future__ import annotations

import time

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import RecordingChatModel, ask_db, fake_llm  # noqa: F401
from reviewer.config import LLMSettings
from reviewer.llm import LLMError

pytestmark = pytest.mark.block_network


class SlowModel(RecordingChatModel):
    """Sleeps ``delay`` seconds before a whole reply, and between streamed words."""

    delay: float = 3.0
    calls: list[dict] = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls.append(kwargs)
        time.sleep(self.delay)
        return super()._generate(messages, stop, run_manager, **kwargs)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        for chunk in super()._stream(messages, stop, run_manager, **kwargs):
            time.sleep(self.delay)
            yield chunk


def _llm(tmp_path, *replies, **settings):
    return fake_llm(LLMSettings(base_url="http://127.0.0.1:1/v1", **settings), tmp_path, *replies,
                    model_class=SlowModel)


def test_one_call_ends_at_its_total_deadline(tmp_path):
    llm, _ = _llm(tmp_path, "A slow answer.", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(LLMError) as error:
        llm.complete([{"role": "user", "content": "q"}])
    assert time.monotonic() - started < 2
    assert str(error.value) == ("http://127.0.0.1:1/v1 did not complete its reply within 0.5 s: the time limit of one "
                                "model call (REVIEWER_LLM__TIMEOUT, retries included) or of the command "
                                "(REVIEWER_LLM__COMMAND_TIMEOUT) ran out; raise it or use a faster model")


def test_a_trickling_stream_ends_at_the_deadline_and_what_arrived_is_discarded(tmp_path):
    llm, model = _llm(tmp_path, "one two three four five six", timeout=1.0)
    model.delay = 0.4
    pieces = []
    with pytest.raises(LLMError, match=r"within 1 s \(after \d+ characters of reply, discarded\)"):
        llm.complete([{"role": "user", "content": "q"}], on_token=pieces.append)
    assert 1 <= len(pieces) <= 3 and llm.usage.calls == 0


def test_the_calls_of_one_command_share_its_deadline(tmp_path):
    llm, model = _llm(tmp_path, "First.", "Second.", timeout=10)
    model.delay = 0.4
    with llm.command(0.6):
        llm.complete([{"role": "user", "content": "one"}])
        with pytest.raises(LLMError, match=r"within 0\.[123] s"):
            llm.complete([{"role": "user", "content": "two"}])


def test_a_reply_over_the_size_cap_is_cut_at_its_last_sentence_with_a_warning(tmp_path):
    reply = "A first sentence of forty characters ok. " * 5  # 205 characters
    for stream in (False, True):
        llm, model = _llm(tmp_path / str(stream), reply, max_reply_chars=100)
        model.delay = 0
        completion = llm.complete([{"role": "user", "content": "q"}], on_token=(lambda _: None) if stream else None)
        assert completion.text == "A first sentence of forty characters ok. A first sentence of forty characters ok."
        assert completion.cut == ("the reply was longer than 100 characters and was cut there "
                                  "(REVIEWER_LLM__MAX_REPLY_CHARS)")
        assert completion.finish_reason != "length"


def test_a_call_budget_is_sent_as_both_token_limits_to_a_local_server(tmp_path):
    llm, model = _llm(tmp_path, "Short.", max_tokens=1024)
    model.delay = 0
    model.calls.clear()
    llm.complete([{"role": "user", "content": "q"}], max_tokens=96)
    assert model.calls[-1] == {"max_tokens": 96, "extra_body": {"max_tokens": 96}}


def test_the_condense_step_has_its_own_small_budget(tmp_path, ask_db, minilm, monkeypatch):
    from llm_fixtures import open_fixture_library
    from reviewer import ChatSession

    library = open_fixture_library(ask_db, minilm, monkeypatch, tmp_path / "cache", {})
    llm, model = fake_llm(library, tmp_path, "Rare tokens in pretraining data help [okafor2024pretraining].",
                          "How does label noise affect in-context learning?",
                          "Label noise matters little for in-context learning [raman2024demonstrations].",
                          model_class=SlowModel, delay=0)
    model.calls.clear()
    chat = ChatSession(library, llm=llm)
    chat.ask("How does pretraining data support in-context learning?")
    chat.ask("And label noise?")
    assert [c.get("max_tokens") for c in model.calls] == [None, 96, None]  # answer, condense, answer
