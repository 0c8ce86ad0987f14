"""Paper text is printed without terminal escape sequences or control characters, even for papers stored
before ingest cleaned them."""

from __future__ import annotations

from typer.testing import CliRunner

from reviewer.cli.main import app
from reviewer.corpus import Paper
from reviewer.index.ingest import IngestReport, store_papers

HOSTILE = Paper(title="Evil \x1b]0;owned\x07Title \x1b[2J\x1b[31mRed", abstract="Bell\x07 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ text\x9b2J",
                authors=["Mal\x1bory"], year=2024, provenance=["x.jsonl:1"])


def test_papers_and_show_strip_escape_sequences(settings, open_library, monkeypatch):
    library = open_library()
    store_papers([HOSTILE], library.store, library.embedder.embed_array, IngestReport())
    monkeypatch.setenv("REVIEWER_DB", str(settings.db))
    runner = CliRunner()
    for args in (["papers"], ["show", library.papers()[0].key], ["search", "evil title", "--mode", "bm25"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output and "\x9b" not in result.output
        assert "Evil Title Red" in " ".join(result.output.split())
    shown = runner.invoke(app, ["show", library.papers()[0].key]).output
    assert "Bell link text" in shown and "Malory" in shown
