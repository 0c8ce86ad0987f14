"""`reviewer ask` end to end: the real CLI, settings from the environment, the real ChatOpenAI replaying the
recorded cassettes (cassettes/recorded/, the same requests as tests/test_cassettes_recorded.py makes)."""

from __future__ import annotations

import json
import re
import sys

import pytest
from typer.testing import CliRunner

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import (ASK_EVIDENCE, ASK_LLM_ENV, ASK_QUESTION, CASSETTES, FAKE_KEY, ask_db,  # noqa: F401
                          cassette_fixtures, clean_env, endpoint_env, recorded_interactions, recorded_reply)
from reviewer.chains.ask import CANNOT_ANSWER
from reviewer.cli.main import app
from reviewer.extractive import NO_LLM_NOTE

pytestmark = pytest.mark.block_network


vcr_config, vcr_cassette_dir = cassette_fixtures(replay_only=True)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def cli(ask_db, monkeypatch, tmp_path):
    """Run `reviewer ask QUESTION -k 4 --db <the recorded scenario's library>` with REVIEWER_CACHE_DIR in tmp;
    ``cassette``: take the endpoint from that recorded cassette (None: no endpoint, the extractive engine)."""
    def _run(*options: str, cassette: str | None = None, env: dict | None = None):
        clean_env(monkeypatch, tmp_path / "cache")
        settings = dict(env or {})
        if cassette:
            settings.update(ASK_LLM_ENV)
            settings.update(endpoint_env(CASSETTES / f"{cassette}.yaml", "none"))
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        return CliRunner().invoke(app, ["ask", ASK_QUESTION, "-k", "4", "--db", str(ask_db), *options])

    return _run


def _exit_status(data: dict) -> int:
    return {"rejected": 3, "uncited": 4}.get(data["status"], 0)


@pytest.mark.vcr
@pytest.mark.default_cassette("recorded/ask")
def test_ask_json(cli, vcr):
    result = cli("--json", cassette="recorded/ask")
    data = json.loads(result.stdout)
    assert result.exit_code == _exit_status(data), result.output
    reply, usage, _ = recorded_reply(recorded_interactions(CASSETTES / "recorded/ask.yaml")[0])
    assert data["question"] == ASK_QUESTION and data["engine"] == "llm"
    assert [e["key"] for e in data["evidence"]] == ASK_EVIDENCE
    if data["status"] == "rejected":  # SmolLM2 cites nothing: its reply is not presented as the answer
        assert data["text"] == CANNOT_ANSWER and data["rejected"] in data["warnings"]
        assert flat(reply) not in flat(result.stdout)
    assert data["usage"] == {"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"],
                             "cost_usd": 0.0, "calls": 1, "cached_calls": 0, "estimated": False}
    # Tokens and cost at the end, on stderr (stdout stays one JSON document).
    assert (f"tokens: {usage['prompt_tokens']:,} in / {usage['completion_tokens']:,} out, cost $0.0000 "
            "(1 model call)") in result.stderr
    assert vcr.play_count == 1


@pytest.mark.vcr
@pytest.mark.default_cassette("recorded/ask")
def test_with_stdout_redirected_only_the_checked_answer_is_printed(cli, vcr):
    """`reviewer ask ... > file`: nothing streams; stdout holds the checked answer (here, SmolLM2 citing nothing,
    the cannot-answer reply and the best evidence) and nothing the model wrote unchecked."""
    result = cli(cassette="recorded/ask")
    reply, _, _ = recorded_reply(recorded_interactions(CASSETTES / "recorded/ask.yaml")[0])
    data = json.loads(cli("--json", cassette="recorded/ask").stdout)  # the same answer, from the cache
    assert result.exit_code == _exit_status(data)
    if data["status"] == "rejected":
        assert result.stdout.startswith(CANNOT_ANSWER + "\n\nBest evidence (similarity to the question):\n")
        assert [line.split()[0] for line in result.stdout.splitlines()[3:]] == [f"[{k}]" for k in ASK_EVIDENCE]
        assert flat(reply)[:40] not in flat(result.stdout)
        assert "warning: the model's reply was rejected: it cites none of the papers it was shown" in flat(result.stderr)
    else:
        assert result.stdout.startswith(data["text"] + "\n")
    assert "draft, being written" not in result.stdout and "checked answer" not in result.stdout


@pytest.mark.vcr
@pytest.mark.default_cassette("recorded/ask")
def test_a_second_identical_ask_costs_zero_tokens(cli, vcr):
    first = cli("--json", cassette="recorded/ask")
    second = cli("--json", cassette="recorded/ask")
    assert first.exit_code == second.exit_code == _exit_status(json.loads(first.stdout))
    assert json.loads(second.stdout)["text"] == json.loads(first.stdout)["text"]
    assert json.loads(second.stdout)["usage"] == {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0,
                                                  "calls": 0, "cached_calls": 1, "estimated": False}
    assert "tokens: 0 in / 0 out, cost $0.0000 (0 model calls, 1 from cache)" in second.stderr
    assert vcr.play_count == 1  # the second run sent no request


@pytest.mark.vcr(allow_playback_repeats=True)
@pytest.mark.default_cassette("recorded/ask")
def test_no_cache_asks_the_model_again(cli, vcr):
    cli("--json", cassette="recorded/ask")
    again = cli("--json", "--no-cache", cassette="recorded/ask")
    assert again.exit_code == _exit_status(json.loads(again.stdout))
    assert json.loads(again.stdout)["usage"]["calls"] == 1 and "(1 model call)" in again.stderr
    assert vcr.play_count == 2


def test_without_an_endpoint_the_extractive_engine_answers_with_sources(cli):
    result = cli()
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert NO_LLM_NOTE not in out and flat(NO_LLM_NOTE) in flat(result.stderr)  # the notice is apart, on stderr
    assert "Sources" in out and any(f"[{key}]" in out for key in ASK_EVIDENCE)
    assert "tokens:" not in result.stderr  # no model was used


def test_without_an_endpoint_json(cli):
    result = cli("--json")
    data = json.loads(result.stdout)
    assert data["engine"] == "extractive" and data["usage"]["calls"] == 0
    assert data["notice"] == NO_LLM_NOTE and NO_LLM_NOTE not in data["text"] and data["citations"]
    assert list(data) == ["question", "text", "engine", "notice", "status", "banner", "rejected", "uncited",
                          "citations", "evidence", "warnings", "usage"]


@pytest.mark.vcr(match_on=["method", "uri"])  # a hand-written cassette: its body is not the real prompt
@pytest.mark.default_cassette("faults/401")
def test_a_refused_key_is_a_clear_error_and_exit_1(ask_db, monkeypatch, tmp_path, capsys, vcr):
    from reviewer.cli.main import run

    clean_env(monkeypatch, tmp_path / "cache")
    for name, value in {"REVIEWER_LLM__BASE_URL": "http://llm.invalid/v1", "REVIEWER_LLM__MODEL": "test-model",
                        "REVIEWER_LLM__API_KEY": FAKE_KEY, "REVIEWER_LLM__MAX_RETRIES": "0"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["reviewer", "ask", ASK_QUESTION, "--db", str(ask_db), "--json"])
    with pytest.raises(SystemExit) as exit_:
        run()
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert flat(captured.err).startswith("error: http://llm.invalid/v1 refused the API key (401 Unauthorized): "
                                         "check your key")
    assert FAKE_KEY not in captured.err + captured.out
    assert vcr.play_count == 1


@pytest.mark.vcr
@pytest.mark.default_cassette("recorded/ask")
@pytest.mark.parametrize("option", ["--model", "-m"])
def test_model_option_chooses_the_model_over_the_environment_and_the_answer_is_logged(ask_db, monkeypatch, tmp_path,
                                                                                   vcr, option):
    """The recorded request names the model "smollm2": with another model in the environment, only --model
    smollm2 makes the same request (the cassette matches on the body). The answer goes to the log, without the
    API key."""
    from reviewer.logs import AnswerLog, log_path

    clean_env(monkeypatch, tmp_path / "cache")
    base_url = endpoint_env(CASSETTES / "recorded/ask.yaml", "none")["REVIEWER_LLM__BASE_URL"]
    for name, value in {**ASK_LLM_ENV, "REVIEWER_LLM__MODEL": "not-the-recorded-model",
                        "REVIEWER_LLM__BASE_URL": base_url,
                        "REVIEWER_LLM__API_KEY": FAKE_KEY}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["ask", ASK_QUESTION, "-k", "4", "--db", str(ask_db), option, "smollm2",
                                      "--json"])
    assert result.stdout.startswith("{"), result.output
    data = json.loads(result.stdout)
    assert result.exit_code == _exit_status(data) and data["engine"] == "llm" and vcr.play_count == 1
    [entry] = AnswerLog().latest()
    assert (entry.command, entry.question, entry.model, entry.endpoint) == ("ask", ASK_QUESTION, "smollm2", base_url)
    assert (entry.text, entry.status, entry.evidence) == (data["text"], data["status"], ASK_EVIDENCE)
    assert (entry.input_tokens, entry.output_tokens) == (data["usage"]["input_tokens"], data["usage"]["output_tokens"])
    assert entry.warnings == data["warnings"] and entry.seconds > 0
    stored = log_path().read_bytes()
    assert FAKE_KEY not in repr(entry), entry
    assert FAKE_KEY.encode() not in stored


def test_model_without_an_endpoint_is_a_warning_and_the_extractive_engine_answers(cli):
    result = cli("--model", "gpt-4o")
    assert result.exit_code == 0
    assert flat(result.stderr).startswith("warning: --model gpt-4o is not used: no LLM endpoint is configured")
