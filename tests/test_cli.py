"""The corpus commands as a user runs them (Typer's runner, real library in a temporary folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES, seed_papers, write_listing
from reviewer.cli.main import app


@pytest.fixture
def run(settings, monkeypatch):
    monkeypatch.setenv("REVIEWER_DB", str(settings.db))
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args])

    return invoke


def test_ingest_summary_then_browse(run, tmp_path):
    papers = seed_papers(6)
    listing = write_listing(tmp_path / "listing.txt", papers)
    result = run("ingest", listing, FIXTURES / "corpus" / "broken.bib")
    assert result.exit_code == 0, result.output
    assert "skipped:" in result.output and "broken.bib:" in result.output
    assert "│ new" in result.output and "embedded" in result.output

    listed = run("papers", "--grep", papers[2].title.split()[0])
    assert papers[2].title[:20] in listed.output
    key = next(line.split()[1] for line in listed.output.splitlines() if papers[2].title[:20] in line)
    shown = run("show", key)
    assert shown.exit_code == 0 and papers[2].abstract[:40] in shown.output.replace("\n", " ")
    found = run("search", papers[4].title, "-k", "3", "--mode", "bm25")
    assert found.exit_code == 0 and "bm25" in found.output
    assert "papers:" in run("stats").output


def test_strict_makes_a_skip_a_failure(run):
    result = run("ingest", "--strict", FIXTURES / "corpus" / "broken.bib")
    assert result.exit_code == 2 and "--strict" in result.output


def test_missing_paths_write_nothing(run, settings, tmp_path):
    missing_first = run("ingest", "--strict", tmp_path / "nope.bib")
    assert missing_first.exit_code != 0
    # the console script turns a ReviewerError into one red line and exit status 1
    reviewer = Path(sys.executable).with_name("reviewer")
    missing = subprocess.run([reviewer, "ingest", tmp_path / "nope.bib"], capture_output=True, text=True,
                             env={**os.environ, "REVIEWER_DB": str(settings.db)})
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: no such file or folder:") and "nope.bib (nothing was written)" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert not settings.db.exists()


def test_the_installed_command_keeps_a_commands_exit_code(tmp_path):
    """`reviewer` (the console script, not the test runner) exits non-zero when a command does."""
    import subprocess
    import sys
    from pathlib import Path

    bad = tmp_path / "bad.bib"
    bad.write_text("@article{x, title = {unclosed\n", encoding="utf-8")
    script = Path(sys.executable).with_name("reviewer")
    result = subprocess.run([str(script), "ingest", "--strict", str(bad), "--db", str(tmp_path / "db")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
