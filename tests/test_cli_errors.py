"""Usage, settings and data-directory errors: one clear message, the right exit code, never a traceback; read
commands never create a library."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HOME_VARIABLES, seed_papers, write_listing

REVIEWER = Path(sys.executable).with_name("reviewer")


def console(*args, env=None):
    """The real console script, as a user runs it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWER_") or k in HOME_VARIABLES}
    return subprocess.run([str(REVIEWER), *map(str, args)], capture_output=True, text=True, timeout=120,
                          env={**base, **(env or {})})


def run_cli(monkeypatch, capsys, *args):
    """The console script's entry point in this process (faster than a subprocess)."""
    from reviewer.cli.main import run

    monkeypatch.setattr(sys, "argv", ["reviewer", *map(str, args)])
    with pytest.raises(SystemExit) as exit_:
        run()
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return exit_.value.code, captured.out, " ".join(captured.err.split())


def test_version_and_short_help_through_the_console_script():
    from importlib.metadata import version

    shown = console("--version")
    assert (shown.returncode, shown.stdout, shown.stderr) == (0, f"reviewer {version('reviewer')}\n", "")
    helped = console("-h")
    assert helped.returncode == 0 and "Usage: reviewer [OPTIONS] COMMAND" in helped.stdout and helped.stderr == ""
    sub = console("search", "-h")
    assert sub.returncode == 0 and "Usage: reviewer search [OPTIONS]" in sub.stdout


@pytest.mark.parametrize("args, message", [
    (["search"], "Error: Missing argument 'query'."),
    (["search", "x", "-k", "abc"], "Error: Invalid value for '-k':"),
    (["--bogus"], "Error: No such option: --bogus"),
    (["frobnicate"], "Error: No such command 'frobnicate'."),
    (["ingest"], "Error: Missing argument 'paths'."),
])
def test_usage_errors_are_a_usage_hint_and_exit_2(args, message):
    result = console(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Usage: reviewer" in result.stderr and "Try 'reviewer" in result.stderr and message in result.stderr


@pytest.mark.parametrize("name, value, expected", [
    ("REVIEWER_RETRIEVAL__MODE", "fuzzy", "REVIEWER_RETRIEVAL__MODE='fuzzy' is not valid: allowed: 'bm25', 'cosine', 'dense', 'rrf' or 'hybrid'"),
    ("REVIEWER_EMBEDDING__BATCH_SIZE", "abc", "REVIEWER_EMBEDDING__BATCH_SIZE='abc' is not valid: allowed: a valid integer, unable to parse string as an integer"),
    ("REVIEWER_LLM__TEMPERATURE", "9", "REVIEWER_LLM__TEMPERATURE='9' is not valid: allowed: less than or equal to 2"),
    ("REVIEWER_COLLECTION", "a b", "REVIEWER_COLLECTION='a b' is not valid: allowed: match pattern '^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$'"),
    ("REVIEWER_CHROMA_CONNECT_TIMEOUT", "-1", "REVIEWER_CHROMA_CONNECT_TIMEOUT='-1' is not valid: allowed: greater than 0"),
])
def test_an_invalid_setting_names_variable_value_and_what_is_allowed(settings, monkeypatch, capsys, name, value, expected):
    monkeypatch.setenv(name, value)
    code, out, err = run_cli(monkeypatch, capsys, "stats")
    assert (code, out, err) == (2, "", f"error: invalid setting: {expected}")


def test_a_json_setting_that_is_not_json(settings, monkeypatch, capsys):
    monkeypatch.setenv("REVIEWER_LLM__PRICES", "cheap")
    code, _, err = run_cli(monkeypatch, capsys, "stats")
    assert code == 2 and err.startswith("error: REVIEWER_LLM__PRICES='cheap' is not valid: it takes a JSON value")
    monkeypatch.delenv("REVIEWER_LLM__PRICES")
    monkeypatch.setenv("REVIEWER_LLM_PRICES", "cheap")  # the former name
    code, _, err = run_cli(monkeypatch, capsys, "stats")
    assert code == 2 and err.startswith("note: REVIEWER_LLM_PRICES is deprecated: rename it REVIEWER_LLM__PRICES "
                                        "error: REVIEWER_LLM_PRICES='cheap' is not valid: it takes a JSON value")


@pytest.mark.parametrize("command", [["search", "x"], ["papers"], ["show", "abc"], ["stats"], ["ask", "why?"],
                                     ["compare", "A", "B"], ["review", "t"]])
def test_read_commands_never_create_a_library(settings, monkeypatch, capsys, tmp_path, command):
    missing = tmp_path / "nonexistent" / "deep" / "path"
    code, out, err = run_cli(monkeypatch, capsys, *command, "--db", missing)
    assert (code, out) == (1, "")
    assert err == (f"error: no library in {missing} (no such folder): create one with `reviewer ingest PATH --db "
                   f"{missing}`, or point --db / REVIEWER_DB at an existing library")
    assert not (tmp_path / "nonexistent").exists()


def test_a_data_dir_that_is_a_file(settings, monkeypatch, capsys, tmp_path):
    for db in (Path("/dev/null"), tmp_path / "file"):
        (tmp_path / "file").write_text("x")
        for command in (["stats"], ["ingest", tmp_path / "file"]):
            code, _, err = run_cli(monkeypatch, capsys, *command, "--db", db)
            assert (code, err) == (1, f"error: the data directory {db} is a file, not a folder: point --db / "
                                      "REVIEWER_DB at a folder")


@pytest.fixture
def small_library(settings, open_library, tmp_path):
    library = open_library()
    library.ingest([write_listing(tmp_path / "l.txt", seed_papers(4))])
    library.search("memory", k=1)  # keyword index and vector mirror saved
    return settings.db


def test_a_deleted_or_emptied_chroma_database_is_damage_not_an_empty_library(small_library, monkeypatch, capsys):
    sqlite = small_library / "chroma" / "chroma.sqlite3"
    sqlite.write_bytes(b"")
    code, _, err = run_cli(monkeypatch, capsys, "stats", "--db", small_library)
    assert (code, err) == (1, f"error: the library in {small_library} is damaged: its Chroma database {sqlite} is "
                              "empty, although its keyword index and vectors remain. Restore the folder from a "
                              "backup, or ingest your sources again into a new --db")
    shutil.rmtree(small_library / "chroma")
    code, _, err = run_cli(monkeypatch, capsys, "papers", "--db", small_library)
    assert code == 1 and f"its Chroma database {sqlite} is missing" in err


def test_a_garbled_chroma_database_is_a_clear_error(small_library, monkeypatch, capsys):
    sqlite = small_library / "chroma" / "chroma.sqlite3"
    sqlite.write_bytes(b"this is not a database" * 100)
    code, _, err = run_cli(monkeypatch, capsys, "search", "memory", "--db", small_library)
    assert code == 1 and err.startswith(f"error: the Chroma database in {small_library / 'chroma'} cannot be read (")
    assert err.endswith("Rebuild the library by ingesting your sources again into a new --db.")


def test_an_unexpected_exception_is_one_line_unless_debugging(monkeypatch, capsys):
    from reviewer.cli import corpus_cmds

    def boom(*args, **kwargs):
        raise EOFError("truncated file")

    monkeypatch.setattr(corpus_cmds, "open_library", boom)
    code, _, err = run_cli(monkeypatch, capsys, "stats")
    assert code == 1, "an EOFError outside the REPL is not Ctrl-D (exit 130)"
    assert err == ("error: unexpected EOFError: truncated file - this is a bug in reviewer; run again with "
                   "REVIEWER_DEBUG=1 to see the traceback, and report it")
    monkeypatch.setenv("REVIEWER_DEBUG", "1")
    with pytest.raises(EOFError):
        from reviewer.cli.main import run

        monkeypatch.setattr(sys, "argv", ["reviewer", "stats"])
        run()


def test_hidden_files_are_reported_and_count_for_strict(settings, monkeypatch, capsys, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / ".hidden.jsonl").write_text('{"title": "Hidden", "abstract": "Not read."}\n', encoding="utf-8")
    (folder / "a.jsonl").write_text('{"title": "Visible", "abstract": "Read."}\n', encoding="utf-8")
    code, out, err = run_cli(monkeypatch, capsys, "ingest", "--strict", folder, "--db", settings.db)
    assert code == 2
    assert f"skipped: {folder / '.hidden.jsonl'}: hidden file (not read; name it explicitly to read it)" in err
    assert "--strict: 1 skipped" in err
