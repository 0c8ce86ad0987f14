"""`reviewer models`, `reviewer config` and `reviewer logs` through the console script's entry point, with the
user config and data directories in the test's own folder (REVIEWER_CONFIG_DIR, REVIEWER_DATA_DIR: conftest)."""

from __future__ import annotations

import json
import os

import pytest

from conftest import run_reviewer
from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import ASK_QUESTION, FAKE_KEY, ask_db, clean_env  # noqa: F401
from test_compare import COMPARE_METHODS, compare_db  # noqa: F401

pytestmark = pytest.mark.block_network


@pytest.fixture
def reviewer(monkeypatch, tmp_path, capsys):
    """``reviewer(*args, env={...})`` -> (exit status, stdout, stderr) of the console script, with no REVIEWER_* or
    OPENAI_* settings but ``env``."""
    def _run(*args: str, env: dict | None = None, stdin: str | None = None):
        clean_env(monkeypatch, tmp_path / "cache")
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        return run_reviewer(monkeypatch, capsys, *args, stdin=stdin)

    return _run


def flat(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------------------------------------- models
def test_models_without_an_endpoint(reviewer):
    code, out, err = reviewer("models", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert list(data) == ["engine", "endpoint", "model", "api_key", "embedder", "search_mode"]
    assert data["engine"]["value"].startswith("extractive")
    assert data["model"] == {"value": "gpt-4o-mini (not used: no endpoint)", "setting": "llm.model", "from": "default"}
    assert data["embedder"]["value"] == "local all-MiniLM-L6-v2 (ONNX, 384 dimensions)"


def test_models_says_where_each_setting_comes_from_and_never_shows_the_key(reviewer):
    reviewer("config", "set", "retrieval.mode", "hybrid")
    env = {"REVIEWER_LLM__BASE_URL": "http://user:pw@127.0.0.1:8080/v1?api-key=abc", "REVIEWER_LLM_MODEL": "old-name",
           "OPENAI_API_KEY": FAKE_KEY}
    code, out, err = reviewer("models", "--json", env=env)
    data = json.loads(out)
    assert data["engine"]["value"] == "llm"
    assert data["endpoint"] == {"value": "http://127.0.0.1:8080/v1", "setting": "llm.base_url",
                                "from": "env REVIEWER_LLM__BASE_URL"}
    assert data["model"] == {"value": "old-name", "setting": "llm.model",
                             "from": "env REVIEWER_LLM_MODEL (deprecated: use REVIEWER_LLM__MODEL)"}
    assert data["api_key"] == {"value": "set (hidden)", "setting": "llm.api_key", "from": "env OPENAI_API_KEY"}
    assert data["search_mode"]["value"] == "hybrid" and data["search_mode"]["from"].startswith("config file ")
    assert FAKE_KEY not in out + err and "pw" not in out and "abc" not in out
    assert err == "note: REVIEWER_LLM_MODEL is deprecated: rename it REVIEWER_LLM__MODEL\n"
    code, out, _ = reviewer("models", "--model", "gpt-4.1", "--json", env=env)  # the option wins over everything
    assert json.loads(out)["model"] == {"value": "gpt-4.1", "setting": "llm.model", "from": "option"}
    code, out, _ = reviewer("models", env=env)
    assert "api key" in out and "set (hidden)" in out and FAKE_KEY not in out


# ------------------------------------------------------------------------------------------------- config
def test_config_path_set_show_and_the_environment_wins(reviewer, tmp_path):
    code, out, _ = reviewer("config", "path")
    path = tmp_path / "user-config" / "config.toml"
    assert (code, out) == (0, f"{path}\n") and not path.exists()
    code, out, _ = reviewer("config", "set", "llm.model", "gpt-4.1-mini")
    assert code == 0 and flat(out) == f"llm.model = 'gpt-4.1-mini' in {path}"
    assert reviewer("config", "set", "LLM__MAX_TOKENS", "512")[0] == 0  # the environment variable's spelling works
    assert reviewer("config", "set", "log", "false")[0] == 0
    assert path.read_text(encoding="utf-8") == 'log = false\n\n[llm]\nmodel = "gpt-4.1-mini"\nmax_tokens = 512\n'
    code, out, _ = reviewer("config", "show", "--json")
    shown = json.loads(out)
    assert shown["llm.model"] == {"value": "gpt-4.1-mini", "from": f"config file {path}", "env": "REVIEWER_LLM__MODEL"}
    assert shown["llm.max_tokens"]["value"] == 512 and shown["log"]["value"] is False
    assert shown["db"] == {"value": ".reviewer", "from": "default", "env": "REVIEWER_DB"}
    from reviewer.config import load_settings

    assert load_settings().llm.model == "gpt-4.1-mini"
    code, out, err = reviewer("config", "show", "--json", env={"REVIEWER_LLM__MODEL": "from-env"})
    assert json.loads(out)["llm.model"] == {"value": "from-env", "from": "env REVIEWER_LLM__MODEL",
                                            "env": "REVIEWER_LLM__MODEL"}
    code, out, err = reviewer("config", "set", "llm.model", "x", env={"REVIEWER_LLM__MODEL": "from-env"})
    assert code == 0 and "REVIEWER_LLM__MODEL is set in the environment and wins over the config file" in flat(err)


@pytest.mark.parametrize("args, message", [
    (("retrieval.mode", "fast"), "error: retrieval.mode='fast' is not valid: allowed: 'bm25', 'cosine', 'dense', "
                                 "'rrf' or 'hybrid'"),
    (("llm.modle", "x"), "error: unknown setting 'llm.modle' (did you mean llm.model"),
    (("llm.api_key", FAKE_KEY), "error: API keys are not stored in the config file: set OPENAI_API_KEY or "
                                "REVIEWER_LLM__API_KEY in the environment instead"),
    (("llm.max_tokens", "lots"), "error: llm.max_tokens='lots' is not valid: allowed: a valid integer"),
])
def test_config_set_checks_the_value_before_writing(reviewer, tmp_path, args, message):
    code, out, err = reviewer("config", "set", *args)
    assert code == 2 and out == "" and flat(err).startswith(message)
    assert not (tmp_path / "user-config" / "config.toml").exists()


def test_a_config_file_that_is_not_toml_is_a_clear_error(reviewer, tmp_path):
    path = tmp_path / "user-config" / "config.toml"
    path.parent.mkdir()
    path.write_text("[llm\nmodel = ", encoding="utf-8")
    code, out, err = reviewer("models")
    assert code == 2 and flat(err).startswith(f"error: the config file {path} is not valid TOML")


def test_an_invalid_value_in_the_config_file_names_the_setting(reviewer, tmp_path):
    path = tmp_path / "user-config" / "config.toml"
    path.parent.mkdir()
    path.write_text('[retrieval]\nmode = "fast"\n', encoding="utf-8")
    code, _, err = reviewer("models")
    assert code == 2 and flat(err).startswith("error: invalid setting: retrieval.mode='fast' is not valid")


def test_old_variable_names_still_work_below_the_new_ones(monkeypatch):
    from reviewer.config import deprecated_names, load_settings

    for name in [n for n in os.environ if n.startswith(("REVIEWER_LLM", "OPENAI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("REVIEWER_LLM_MODEL", "old")
    monkeypatch.setenv("REVIEWER_LLM_TEMPERATURE", "0.5")
    assert (load_settings().llm.model, load_settings().llm.temperature) == ("old", 0.5)
    monkeypatch.setenv("REVIEWER_LLM__MODEL", "new")
    assert load_settings().llm.model == "new"
    assert deprecated_names() == ["REVIEWER_LLM_MODEL", "REVIEWER_LLM_TEMPERATURE"]


# --------------------------------------------------------------------------------------------------- logs
def test_ask_compare_review_and_chat_are_logged_and_found_again(reviewer, ask_db, compare_db, tmp_path):
    assert reviewer("logs")[2] == "no answer is logged yet: `reviewer ask`, `compare`, `review` and `chat` record theirs\n"
    assert reviewer("ask", ASK_QUESTION, "-k", "4", "--db", str(ask_db))[0] == 0
    assert reviewer("ask", "What is an induction circuit?", "--no-log", "--db", str(ask_db))[0] == 0
    assert reviewer("compare", *COMPARE_METHODS[:2], "-k", "3", "--db", str(compare_db))[0] == 0
    assert reviewer("review", "in-context learning", "--out", str(tmp_path / "out"), "--db", str(ask_db))[0] == 0
    assert reviewer("chat", "--db", str(ask_db), stdin="Which papers study label noise?\n")[0] == 0
    assert reviewer("ask", "Anything?", "--db", str(ask_db), env={"REVIEWER_LOG": "false"})[0] == 0

    code, out, _ = reviewer("logs", "--json")
    entries = json.loads(out)["entries"]
    assert [(e["id"], e["command"]) for e in entries] == [(4, "chat"), (3, "review"), (2, "compare"), (1, "ask")]
    assert list(entries[0]) == ["command", "question", "engine", "library", "text", "model", "endpoint", "status",
                                "evidence", "citations", "warnings", "input_tokens", "output_tokens", "cost_usd",
                                "seconds", "time", "id"]
    ask = entries[3]
    assert (ask["question"], ask["engine"], ask["model"], ask["library"]) == (ASK_QUESTION, "extractive", None,
                                                                            str(ask_db.resolve()))
    assert ask["evidence"][0] == "okafor2024pretraining" and ask["text"].startswith("- ")
    assert entries[2]["question"] == " | ".join(COMPARE_METHODS[:2]) and entries[2]["text"].startswith("| Method |")
    assert entries[1]["text"].startswith("A related-work draft of ") and str(tmp_path / "out") in entries[1]["text"]

    code, out, _ = reviewer("logs", "search", "LABEL NOISE", "--json")
    assert [e["id"] for e in json.loads(out)["entries"]] == [4]
    code, out, _ = reviewer("logs", "show", "1")
    assert code == 0 and "question: " + ASK_QUESTION in flat(out) and "okafor2024pretraining" in out
    assert json.loads(reviewer("logs", "show", "1", "--json")[1]) == ask
    code, out, _ = reviewer("logs", "-n", "2")
    assert code == 0 and "2 logged answer(s)" in out
    code, _, err = reviewer("logs", "show", "99")
    assert code == 1 and flat(err) == "error: no logged answer with id 99: `reviewer logs` lists the latest"


# ------------------------------------------------------------------------------------- version, completion
def test_version_and_completion(reviewer, monkeypatch):
    from importlib.metadata import version

    import typer.completion

    assert reviewer("--version") == (0, f"reviewer {version('reviewer')}\n", "")
    # Typer finds the shell by walking up the process tree (shellingham), which depends on how the tests were
    # started: pin it to bash.
    monkeypatch.setattr(typer.completion, "_get_shell_name", lambda: "bash")
    code, out, err = reviewer("--show-completion")
    assert code == 0 and "_REVIEWER_COMPLETE" in out and "complete" in out, (code, out, err)
