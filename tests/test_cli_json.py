"""`--json` on every command, through the console script's entry point (`reviewer.cli.main:run`), on the ask
scenario's six hand-written papers: one documented schema per command (README, "JSON output"), field names as in
the Python API. Also the forgiving key lookups (`[key]`, `@key`, any case, "did you mean") and filters that
exclude everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_reviewer
from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import ASK_EVIDENCE, ASK_QUESTION, ask_db, clean_env  # noqa: F401
from reviewer.extractive import NO_LLM_NOTE

pytestmark = pytest.mark.block_network

PAPER_FIELDS = ["key", "title", "abstract", "authors", "year", "venue", "doi", "arxiv_id", "url", "provenance"]


@pytest.fixture
def reviewer(ask_db, monkeypatch, tmp_path, capsys):
    """``reviewer(*args)`` -> (exit status, stdout, stderr) of the console script on the ask library."""
    def _run(*args: str):
        clean_env(monkeypatch, tmp_path / "cache")
        return run_reviewer(monkeypatch, capsys, *args, "--db", str(ask_db))

    return _run


def flat(text: str) -> str:
    return " ".join(text.split())


def test_search_json(reviewer):
    code, out, err = reviewer("search", "in-context learning", "-k", "3", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert list(data) == ["query", "mode", "mmr", "hits", "warnings"]
    assert (data["query"], data["mode"], data["mmr"], data["warnings"]) == ("in-context learning", "rrf", False, [])
    assert len(data["hits"]) == 3
    for hit in data["hits"]:
        assert list(hit) == ["key", "title", "relevance", "score", "found_by", "ranks", "paper"]
        assert list(hit["paper"]) == PAPER_FIELDS and hit["paper"]["key"] == hit["key"]
        assert 0 <= hit["relevance"] <= 1 and hit["score"] < 0.05  # raw RRF scores are small; relevance is 0-1
        assert set(hit["found_by"]) == set(hit["ranks"]) <= {"bm25", "cosine"}
    relevance = [hit["relevance"] for hit in data["hits"]]
    assert relevance == sorted(relevance, reverse=True)


def test_relevance_is_the_fused_score_over_its_maximum(ask_db, monkeypatch, tmp_path):
    from reviewer.config import Settings
    from reviewer.library import Library

    clean_env(monkeypatch, tmp_path / "cache")
    library = Library.open(settings=Settings(db=ask_db), create=False)
    for hit in library.search("in-context learning", k=6):
        assert hit.relevance == round(min(1.0, hit.score * 61 / 2), 4)  # first in both lists: 2 / (60 + 1)
    best = library.search("in-context learning", k=6, mode="bm25")
    assert best[0].relevance == 1.0 and all(0 < h.relevance <= 1 for h in best)


def test_papers_show_and_stats_json(reviewer):
    code, out, _ = reviewer("papers", "--grep", "label", "--json")
    data = json.loads(out)
    assert code == 0 and list(data) == ["grep", "papers"] and data["grep"] == "label"
    assert [p["key"] for p in data["papers"]] == ["raman2024demonstrations"]
    assert list(data["papers"][0]) == PAPER_FIELDS
    code, out, _ = reviewer("show", "okafor2024pretraining", "--json")
    paper = json.loads(out)
    assert code == 0 and list(paper) == PAPER_FIELDS
    assert (paper["authors"], paper["year"]) == (["Mara Okafor", "Lin Zhou"], 2024)
    assert paper["provenance"][0].endswith("papers.jsonl:1")
    code, out, _ = reviewer("stats", "--json")
    stats = json.loads(out)
    assert code == 0 and list(stats) == ["papers", "sources", "with_authors", "with_year", "embedder", "chroma",
                                         "keyword_index"]
    assert (stats["papers"], stats["with_authors"]) == (6, 6)


def test_ask_json_keeps_the_notice_apart_from_the_text(reviewer):
    code, out, err = reviewer("ask", ASK_QUESTION, "-k", "4", "--json")
    data = json.loads(out)
    assert code == 0 and err == ""  # the notice is in the JSON, not on stderr too
    assert list(data) == ["question", "text", "engine", "notice", "status", "banner", "rejected", "uncited",
                          "citations", "evidence", "warnings", "usage"]
    assert (data["engine"], data["notice"], data["status"]) == ("extractive", NO_LLM_NOTE, "answered")
    assert NO_LLM_NOTE not in data["text"] and data["text"].startswith("- ")
    assert [e["key"] for e in data["evidence"]] == ASK_EVIDENCE
    assert list(data["usage"]) == ["input_tokens", "output_tokens", "cost_usd", "calls", "cached_calls", "estimated"]


def test_review_json_is_the_draft_with_its_folder_and_files(reviewer, tmp_path):
    out_dir = tmp_path / "draft"
    code, out, _ = reviewer("review", "in-context learning", "--out", str(out_dir), "--json")
    data = json.loads(out)
    assert code == 0
    saved = json.loads((out_dir / "review.json").read_text(encoding="utf-8"))
    assert data == {"directory": str(out_dir), "files": [str(out_dir / name) for name in
                    ("review.md", "references.bib", "references.md", "review.tex", "review.json", "themes.png")],
                    **saved}
    assert list(saved) == ["topic", "engine", "notice", "settings", "themes", "outline", "introduction", "sections",
                           "flagged", "warnings", "references", "points", "format", "provenance"]


@pytest.mark.parametrize("written", ["[okafor2024pretraining]", "@okafor2024pretraining", "OKAFOR2024Pretraining",
                                     "[@okafor2024pretraining; berg2023induction]", "okafor2024pretraining."])
def test_show_accepts_a_key_as_pasted_and_in_any_case(reviewer, written):
    code, out, err = reviewer("show", written, "--json")
    assert code == 0, err
    assert json.loads(out)["key"] == "okafor2024pretraining"


def test_a_mistyped_key_gets_did_you_mean(reviewer):
    code, out, err = reviewer("show", "okafor2024pretrain")
    assert (code, out) == (1, "")
    assert flat(err) == ("error: no paper with key 'okafor2024pretrain'; did you mean okafor2024pretraining? "
                         "`reviewer papers --grep WORD` lists keys")


def test_unknown_filter_keys_are_a_warning_and_pasted_ones_work(reviewer):
    code, out, err = reviewer("search", "in-context learning", "--keys", "[Berg2023induction],@raman2024demos",
                              "--exclude", "nosuch", "--json")
    data = json.loads(out)
    assert code == 0 and [h["key"] for h in data["hits"]] == ["berg2023induction"]
    assert data["warnings"] == [
        "--keys: no paper with key 'raman2024demos'; did you mean raman2024demonstrations? "
        "`reviewer papers --grep WORD` lists keys",
        "--exclude: no paper with key 'nosuch'; `reviewer papers --grep WORD` lists keys"]
    assert flat(err).count("warning:") == 2


def test_filters_that_exclude_everything_say_which_and_why(reviewer):
    code, out, err = reviewer("search", "agents", "--from", "2030", "--venue", "neurips")
    assert code == 0 and flat(out) == "No paper found for: agents"
    assert flat(err) == ("warning: no paper matches the filters: --from 2030 excludes all 6 papers (6 of 6 have a "
                         "year); --venue neurips excludes all 6 papers (0 of 6 have a venue)")
    code, out, err = reviewer("search", "agents", "--from", "2024", "--to", "2023", "--json")
    assert json.loads(out)["warnings"] == ["no paper matches the filters: the filters together exclude every paper "
                                           "(each alone lets some through)"]


def test_the_installed_console_script_prints_json(ask_db, tmp_path):
    script = Path(sys.executable).with_name("reviewer")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REVIEWER_LLM", "OPENAI_"))}
    done = subprocess.run([str(script), "show", "[berg2023induction]", "--json", "--db", str(ask_db)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["title"] == "Induction Circuits as a Mechanism for In-Context Learning"
    assert done.stderr == ""  # no spinner or colour codes when not on a terminal
