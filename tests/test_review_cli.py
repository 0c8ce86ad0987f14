"""`reviewer review` end to end: the real CLI and library (MiniLM embedder), no model configured, so the
extractive engine writes the draft. Libraries: the hand-written review scenario (tests/review_fixtures.py),
and 24 papers of the sample corpus (read at run time) for real-world text. The summary the command prints is
also checked alone, with a hand-made draft in place of the chain (so also as an LLM draft, with its cost)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import bibtexparser
import pytest
from typer.testing import CliRunner

from llm_fixtures import clean_env, isolated_cache  # noqa: F401  (autouse)
from review_fixtures import REVIEW_GROUPS, REVIEW_KEYS, REVIEW_THEMES, REVIEW_TOPIC, review_db, seeds_db  # noqa: F401
from reviewer import citations
from reviewer.cli.main import app
from reviewer.draft import EXTRACTIVE_NOTE, FILES


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Run `reviewer review TOPIC --db DB OPTIONS` with no REVIEWER_*/OPENAI_* settings (no model)."""
    def _run(db: Path, topic: str, *options):
        clean_env(monkeypatch, tmp_path / "cache")
        return CliRunner().invoke(app, ["review", topic, "--db", str(db), *[str(o) for o in options]])

    return _run


def check_files(out: Path, library_keys: set[str]) -> dict:
    """Assert that the files agree and that every citation resolves; returns review.json's content."""
    markdown = (out / "review.md").read_text(encoding="utf-8")
    tex = (out / "review.tex").read_text(encoding="utf-8")
    data = json.loads((out / "review.json").read_text(encoding="utf-8"))
    bib = bibtexparser.parse_string((out / "references.bib").read_text(encoding="utf-8"))
    cited = citations.cited_keys(" ".join(re.findall(r"\[@[^\]]*\]", markdown)))
    assert cited, "the draft cites nothing"
    assert citations.cited_keys(markdown) == cited  # no other bracket in the file reads as a citation
    assert set(cited) <= library_keys  # every citation resolves to a paper of the library
    assert not bib.failed_blocks and [e.key for e in bib.entries] == cited
    assert {k for group in re.findall(r"\\cite\{([^}]*)\}", tex) for k in group.split(",")} == set(cited)
    assert [r["key"] for r in data["references"]] == cited
    assert markdown.count("No LLM is configured") == 1 and tex.count("No LLM is configured") == 1
    assert (out / "themes.png").read_bytes().startswith(b"\x89PNG")
    return data


def test_review_writes_the_files_lists_them_and_every_citation_resolves(cli, review_db, tmp_path):
    out = tmp_path / "out"
    result = cli(review_db, REVIEW_TOPIC, "--out", out, "--themes", REVIEW_THEMES)
    assert result.exit_code == 0, result.output
    for name in FILES:
        assert str(out / name) in result.stdout
    data = check_files(out, set(REVIEW_KEYS))
    assert data["engine"] == "extractive" and data["topic"] == REVIEW_TOPIC
    assert [t["keys"] for t in data["themes"]] == REVIEW_GROUPS

    flat = " ".join(result.stdout.split())
    assert " ".join(EXTRACTIVE_NOTE.split()) in flat
    reviewed = sum(len(g) for g in REVIEW_GROUPS)
    assert f"Themes ({REVIEW_THEMES}, {reviewed} paper(s) reviewed)" in flat
    for section in data["sections"]:
        count = len(next(t for t in data["themes"] if t["id"] == section["theme"])["keys"])
        assert f"{section['heading']} ({count} paper{'s' if count != 1 else ''})" in flat
    if data["flagged"]:
        assert f"Flagged ({len(data['flagged'])} sentence" in flat
    else:
        assert "No sentence flagged" in flat
    # a bar per step on stderr, then the chain's warnings (two off-topic papers were left out)
    for step in ("retrieve", "cluster", "outline", "sections", "support check", "introduction"):
        assert re.search(rf"^{step} .*━", result.stderr, re.M), step
    assert data["warnings"] and f"warning: {data['warnings'][0][:40]}" in result.stderr


def test_the_same_review_twice_gives_byte_identical_files(cli, review_db, tmp_path):
    first = cli(review_db, REVIEW_TOPIC, "--out", tmp_path / "a")
    second = cli(review_db, REVIEW_TOPIC, "--out", tmp_path / "b")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_a_review_of_sample_corpus_papers(cli, seeds_db, tmp_path):
    from reviewer.config import Settings
    from reviewer.library import Library

    out = tmp_path / "out"
    result = cli(seeds_db, "multimodal models for instance-level visual understanding", "--out", out,
                 "--max-papers", 12)
    assert result.exit_code == 0, result.output
    data = check_files(out, {p.key for p in Library.open(settings=Settings(db=seeds_db)).papers()})
    assert 0 < len({k for t in data["themes"] for k in t["keys"]}) <= 12


def test_themes_out_of_range_is_a_usage_error(cli, review_db, tmp_path):
    result = cli(review_db, REVIEW_TOPIC, "--out", tmp_path / "out", "--themes", 13)
    assert result.exit_code == 2 and "--themes" in result.output
    assert not (tmp_path / "out").exists()


def test_the_summary_lists_files_themes_flagged_sentences_warnings_and_cost(monkeypatch, tmp_path):
    from test_draft_outputs import make_draft

    from reviewer.cli import review_cmds
    from reviewer.llm import Usage

    calls = []

    class FakeLibrary:
        from reviewer.config import Settings

        settings = Settings(db=tmp_path / "db")

        def llm(self):
            return None

        def review(self, topic, **options):
            calls.append((topic, options))
            for step, total in (("retrieve", 1), ("sections", 3)):
                for done in range(total + 1):
                    options["progress"](step, done, total)
            draft = make_draft(engine="llm", points={})  # no points: no theme map
            draft.usage = Usage(input_tokens=1234, output_tokens=56, calls=4)
            return draft

    monkeypatch.setattr(review_cmds, "open_library", lambda db, model=None: FakeLibrary())
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "themes.png").write_bytes(b"an older picture")  # replaced on purpose: --force
    result = CliRunner().invoke(app, ["review", "in-context learning", "--out", str(tmp_path / "out"),
                                      "--themes", "2", "--no-cache", "--force"])
    assert result.exit_code == 0, result.output
    assert calls == [("in-context learning", {"max_papers": 30, "themes": 2, "use_cache": False,
                                              "progress": calls[0][1]["progress"]})]
    flat = " ".join(result.stdout.split())
    assert "Wrote 5 file(s):" in flat and str(tmp_path / "out" / "review.md") in flat
    assert "no theme map: it needs at least 2 reviewed papers with coordinates" in flat
    assert not (tmp_path / "out" / "themes.png").exists()
    assert "No LLM is configured" not in flat
    assert "Themes (2, 4 paper(s) reviewed) Pretraining data (2 papers) Mechanisms & circuits (2 papers)" in flat
    assert ("Flagged (1 sentence not supported by the cited abstracts, kept and marked in the files) "
            "- Label noise never matters at 50% [raman_weber-2024]. the abstract [raman_weber-2024] says the "
            "opposite") in flat
    assert "warning: a made-up warning" in result.stderr
    assert "tokens: 1,234 in / 56 out, cost $0.0000 (4 model calls)" in result.stderr
    assert re.search(r"^retrieve .*1/1", result.stderr, re.M) and re.search(r"^sections .*3/3", result.stderr, re.M)


def test_a_second_review_never_overwrites_the_first_without_force(cli, review_db, tmp_path):
    out = tmp_path / "out"
    assert cli(review_db, REVIEW_TOPIC, "--out", out, "--themes", REVIEW_THEMES).exit_code == 0
    (out / "review.md").write_text("my edits", encoding="utf-8")
    second = cli(review_db, REVIEW_TOPIC, "--out", out, "--themes", REVIEW_THEMES)
    assert second.exit_code == 0
    assert (out / "review.md").read_text(encoding="utf-8") == "my edits"
    assert f"{out} already holds a draft; writing to {tmp_path / 'out-2'} instead (--force replaces it)" in \
        " ".join(second.stderr.split())
    assert str(tmp_path / "out-2" / "review.md") in second.stdout
    forced = cli(review_db, REVIEW_TOPIC, "--out", out, "--themes", REVIEW_THEMES, "--force")
    assert forced.exit_code == 0 and (out / "review.md").read_text(encoding="utf-8") != "my edits"
