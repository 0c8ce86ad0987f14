"""`reviewer compare` end to end: the real CLI on the compare scenario's library (tests/test_compare.py), with no
endpoint (the extractive engine) and with the real ChatOpenAI replaying cassettes/recorded/compare.yaml."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest
from typer.testing import CliRunner

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import CASSETTES, cassette_fixtures, clean_env, endpoint_env
from reviewer.chains.compare import NO_LLM_NOTE, NOT_REPORTED
from reviewer.cli.main import app
from test_compare import COMPARE_EVIDENCE, COMPARE_METHODS, UNCOVERED_WARNING, compare_db  # noqa: F401
from test_compare_recorded import COMPARE_LLM_ENV, RECORDED

pytestmark = pytest.mark.block_network


vcr_config, vcr_cassette_dir = cassette_fixtures(replay_only=True)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def cli(compare_db, monkeypatch, tmp_path):
    """Run `reviewer compare ARGS --db <the scenario's library>` with REVIEWER_CACHE_DIR in tmp; ``cassette``: take
    the endpoint from that recorded cassette (None: no endpoint, the extractive engine)."""
    def _run(*args: str, cassette: str | None = None):
        clean_env(monkeypatch, tmp_path / "cache")
        if cassette:
            for name, value in {**COMPARE_LLM_ENV, **endpoint_env(CASSETTES / f"{cassette}.yaml", "none")}.items():
                monkeypatch.setenv(name, value)
        return CliRunner().invoke(app, ["compare", *args, "--db", str(compare_db)])

    return _run


def test_the_default_is_a_table_with_sources_and_the_extractive_note(cli):
    result = cli(*COMPARE_METHODS, "-k", "3")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    for header in ("Task", "Approach", "Data", "Results", "Limitations", *COMPARE_METHODS):  # aspects run down
        assert header in out
    assert "Sources" in out and "novak2023ranklift RankLift: Low-Rank Adaptation of Frozen Language Models" in out
    assert flat(NO_LLM_NOTE) in flat(result.stderr)
    assert flat(f"warning: {UNCOVERED_WARNING}") in flat(result.stderr)
    assert "tokens:" not in result.stderr  # no model was used


def test_markdown(cli):
    result = cli(*COMPARE_METHODS, "-k", "3", "--format", "markdown", "--aspects", "task,limitations")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0:2] == ["| Method | Task | Limitations |", "| --- | --- | --- |"]
    assert lines[4] == "| quantum annealing | not reported | not reported |"
    assert "On small models, soft prompts are unstable to train and lag full fine-tuning by several points. " \
           "[fischer2022softprompt]" in lines[3]
    assert "Sources:" in lines
    assert NO_LLM_NOTE not in result.stdout and flat(NO_LLM_NOTE) in flat(result.stderr)  # the notice is apart


def test_csv(cli):
    result = cli(*COMPARE_METHODS, "-k", "3", "--format", "csv", "--aspects", "data,results")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["method"] for r in rows] == COMPARE_METHODS
    assert list(rows[0]) == ["method", "data", "data_keys", "results", "results_keys"]
    for row in rows:
        for aspect in ("data", "results"):
            keys = [k for k in row[f"{aspect}_keys"].split("; ") if k]
            assert set(keys) <= set(COMPARE_EVIDENCE[row["method"]])
            assert (row[aspect] == NOT_REPORTED) == (not keys)
    assert rows[2]["data"] == rows[2]["results"] == NOT_REPORTED


def test_json(cli):
    result = cli(*COMPARE_METHODS, "-k", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    assert cli(*COMPARE_METHODS, "-k", "3", "--json").stdout == result.stdout  # --json is --format json
    data = json.loads(result.stdout)
    assert list(data) == ["topic", "engine", "notice", "methods", "aspects", "rows", "citations", "evidence",
                          "warnings", "usage"]
    assert data["engine"] == "extractive" and data["notice"] == NO_LLM_NOTE and data["methods"] == COMPARE_METHODS
    assert {m: [e["key"] for e in items] for m, items in data["evidence"].items()} == COMPARE_EVIDENCE
    cited = {k for row in data["rows"] for cell in row["cells"].values() for k in cell["keys"]}
    assert cited == {c["key"] for c in data["citations"]} and cited
    assert data["warnings"] == [UNCOVERED_WARNING]


def test_out_writes_the_format_its_suffix_names(cli, tmp_path):
    for name, check in (("t.md", lambda t: t.startswith("> ")), ("t.csv", lambda t: t.startswith("method,")),
                        ("t.json", lambda t: json.loads(t)["engine"] == "extractive"),
                        ("t.txt", lambda t: "| Method |" in t)):
        result = cli(*COMPARE_METHODS, "-k", "3", "--out", str(tmp_path / name))
        assert result.exit_code == 0, result.output
        assert result.stdout == "" and f"wrote {tmp_path / name}" in flat(result.stderr)
        assert check((tmp_path / name).read_text(encoding="utf-8")), name
    forced = cli(*COMPARE_METHODS, "--format", "csv", "--out", str(tmp_path / "x.json"))
    assert (tmp_path / "x.json").read_text(encoding="utf-8").startswith("method,")
    assert forced.exit_code == 0


def test_topic(cli):
    result = cli("--topic", "parameter-efficient fine-tuning of language models", "--max-methods", "2",
                 "--format", "json", "--aspects", "approach")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["topic"] == "parameter-efficient fine-tuning of language models"
    assert data["methods"] == ["RankLift", "SoftPrompt"]
    assert data["rows"][0]["cells"]["approach"]["keys"] == ["novak2023ranklift"]


@pytest.mark.vcr
@pytest.mark.default_cassette("recorded/compare")
def test_with_a_model_json_and_usage(cli, vcr):
    result = cli(*COMPARE_METHODS, "-k", "3", "--aspects", "task,approach,results", "--format", "json",
                 cassette="recorded/compare")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["engine"] == "llm" and data["notice"] is None
    pinned = RECORDED["recorded/compare"]
    assert {r["method"]: {a: (c["text"], c["keys"]) for a, c in r["cells"].items()} for r in data["rows"]} == {
        m: {a: (t, k) for a, (t, k) in row.items()} for m, row in pinned["cells"].items()}
    assert data["warnings"] == pinned["warnings"]
    assert "tokens: 900 in / 227 out, cost $0.0000 (1 model call)" in flat(result.stderr)
    assert vcr.play_count == 1


@pytest.mark.vcr
@pytest.mark.default_cassette("recorded/compare")
def test_with_a_model_the_table_shows_keys_and_warnings(cli, vcr):
    result = cli(*COMPARE_METHODS, "-k", "3", "--aspects", "task,approach,results", cassette="recorded/compare")
    assert result.exit_code == 0, result.output
    assert "lindqvist2024lowrank" in flat(result.stdout).replace(" ", "")
    assert NO_LLM_NOTE not in flat(result.stderr)
    assert "warning: removed citation(s) of keys that were not in that method's evidence" in flat(result.stderr)


def _run_console_script(monkeypatch, capsys, *args):
    from reviewer.cli.main import run

    monkeypatch.setattr(sys, "argv", ["reviewer", "compare", *args])
    with pytest.raises(SystemExit) as exit_:
        run()
    return exit_.value.code, capsys.readouterr()


def test_bad_input_is_one_clear_error(compare_db, monkeypatch, tmp_path, capsys):
    clean_env(monkeypatch, tmp_path / "cache")
    code, captured = _run_console_script(monkeypatch, capsys, "A", "--topic", "T", "--db", str(compare_db))
    assert code == 1 and flat(captured.err) == "error: give either METHODS or --topic, not both"
    code, captured = _run_console_script(monkeypatch, capsys, "--db", str(compare_db))
    assert code == 1 and flat(captured.err).startswith("error: name the methods to compare")
    code, captured = _run_console_script(monkeypatch, capsys, "--topic", "sourdough bread recipes", "--db",
                                         str(compare_db))
    assert code == 1 and "no paper of this collection is about the topic" in flat(captured.err)
    code, captured = _run_console_script(monkeypatch, capsys, "A", "--aspects", "a{b}", "--db", str(compare_db))
    assert code == 1 and "is not a short name" in flat(captured.err) and "Traceback" not in captured.err


def test_nothing_to_compare_is_an_error_not_an_empty_table(compare_db, monkeypatch, tmp_path, capsys):
    clean_env(monkeypatch, tmp_path / "cache")
    code, captured = _run_console_script(monkeypatch, capsys, "quantum annealing", "sourdough baking", "--db",
                                         str(compare_db))
    assert code == 1 and captured.out == ""
    assert flat(captured.err).startswith("error: no paper of this collection is about any of the methods ('quantum "
                                         "annealing': best sentence similarity 0.27 < 0.51; 'sourdough baking': best "
                                         "sentence similarity 0.11 < 0.51): nothing to compare")
    code, captured = _run_console_script(monkeypatch, capsys, "A", "B", "--db", str(tmp_path / "empty"))
    assert code == 1 and captured.out == ""
    empty = tmp_path / "empty"
    assert flat(captured.err) == (f"error: no library in {empty} (no such folder): create one with `reviewer ingest "
                                  f"PATH --db {empty}`, or point --db / REVIEWER_DB at an existing library")
    assert not empty.exists(), "a read command created a library"
    # A partly covered table is still a table, with a warning for the uncovered method.
    result = CliRunner().invoke(app, ["compare", "low-rank adaptation", "quantum annealing", "-k", "3", "--db",
                                      str(compare_db)])
    assert result.exit_code == 0 and flat(f"warning: {UNCOVERED_WARNING}") in flat(result.stderr)
