"""`reviewer review --update DIR` (reviewer.living) offline, on the review scenario (tests/fixtures/review) and
made-up additions (tests/fixtures/review_update): unrelated papers change nothing, a paper of one theme rewrites
that section only, a paper that left the library loses its citation, a hand-edited section is kept and its new
text proposed, a new cluster becomes a new theme; and the errors and the CLI summary."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_fixtures import build_library, clean_env, isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import open_fixture_library
from review_fixtures import REVIEW_FIXTURE, REVIEW_TOPIC
from reviewer import living, provenance
from reviewer.draft import FILES
from reviewer.errors import InputError

pytestmark = pytest.mark.block_network

ADDITIONS = Path(__file__).resolve().parent / "fixtures" / "review_update"
DAY = "2026-12-01"
MAX_PAPERS = 45  # a quote budget of 15: every admitted paper is quoted, so a new one moves no other quote
DISTILLATION, FINE_TUNING, QUANTIZATION = ("Student, teacher, soft labels", "Fine-tuning, adapter, languages",
                                           "Quantization, bits, outlier channels")
PRUNING = ["sorokina2025magnitude", "haddad2025oneshot", "bell2025structured"]


@pytest.fixture(scope="module")
def base_db(tmp_path_factory, minilm) -> Path:
    return build_library(tmp_path_factory.mktemp("update-base"), minilm, [REVIEW_FIXTURE])


@pytest.fixture
def library(base_db, minilm, monkeypatch, tmp_path):
    """A copy of the scenario's library, to ingest into."""
    shutil.copytree(base_db, tmp_path / "db")
    return open_fixture_library(tmp_path / "db", minilm, monkeypatch, tmp_path / "cache")


@pytest.fixture
def out(library, tmp_path) -> Path:
    """A draft of the scenario written to tmp_path/out."""
    draft = library.review(REVIEW_TOPIC, max_papers=MAX_PAPERS, themes=3)
    assert [s.heading for s in draft.sections] == [DISTILLATION, FINE_TUNING, QUANTIZATION]
    draft.write(tmp_path / "out")
    return tmp_path / "out"


def files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def blocks(directory: Path) -> dict[str, str]:
    return provenance.section_blocks((directory / "review.md").read_text(encoding="utf-8"))


def test_review_json_records_how_the_draft_was_made(out, library):
    data = json.loads((out / "review.json").read_text(encoding="utf-8"))
    prov = data["provenance"]
    assert data["format"] == provenance.FORMAT == 1
    assert prov["library_revision"] == library.store.revision and prov["engine"] == "extractive"
    assert prov["model"] is None and set(prov["prompts"]) == set(provenance.PROMPTS)
    assert [t["keys"] for t in prov["themes"]] == [t["keys"] for t in data["themes"]]
    assert all(len(t["centroid"]) == 384 for t in prov["themes"])
    assert [s["heading"] for s in prov["sections"]] == [DISTILLATION, FINE_TUNING, QUANTIZATION]
    assert sorted(k for s in prov["sections"] for k in s["inputs"]) == sorted(prov["relevance_order"])
    assert prov["left_out"] == ["costa2023underwater", "dubois2022sourdough", "fischer2022quantizationaware",
                                "ramirez2023activation"]
    markdown = blocks(out)
    for entry in prov["sections"]:
        assert entry["output"] == provenance.digest(markdown[f"## {entry['heading']}"]) and not entry["edited"]


def test_unrelated_papers_change_no_file_but_the_changelog(out, library):
    before = files(out)
    library.ingest([ADDITIONS / "unrelated.jsonl"])
    draft, changes = living.update_directory(library, out, today=DAY)
    assert changes.nothing and draft.sections
    after = files(out)
    assert after.pop("CHANGES.md").decode() == (
        f"# Changes: {REVIEW_TOPIC}\n\n- {DAY}: Nothing changed: no new paper on the topic, none removed "
        f"(library revision {library.store.revision[:8]}).\n")
    assert after == before  # byte for byte, and no review.diff, no proposed/


def test_a_paper_of_one_theme_rewrites_that_section_only(out, library):
    before, old_blocks = files(out), blocks(out)
    library.ingest([ADDITIONS / "quantization.jsonl"])
    draft, changes = living.update_directory(library, out, today=DAY)
    assert changes.added == {"weber2025twobit": QUANTIZATION}
    assert changes.rewritten == [QUANTIZATION] and changes.citations_added == ["weber2025twobit"]
    assert changes.removed == changes.new_themes == changes.citations_removed == [] and not changes.kept
    new_blocks = blocks(out)
    assert list(new_blocks) == list(old_blocks)  # names and order kept
    for heading in (f"## {DISTILLATION}", f"## {FINE_TUNING}", "## References"):
        assert new_blocks[heading] == old_blocks[heading]  # byte-identical
    assert "[@weber2025twobit]" in new_blocks[f"## {QUANTIZATION}"]
    assert draft.themes[2].keys[-1] == "weber2025twobit"
    assert "@misc{weber2025twobit," in (out / "references.bib").read_text(encoding="utf-8")
    diff = (out / "review.diff").read_text(encoding="utf-8")
    assert diff.startswith("--- a/review.md\n+++ b/review.md\n") and "[@weber2025twobit]" in diff
    changelog = (out / "CHANGES.md").read_text(encoding="utf-8")
    assert f"## {DAY} (library revision {library.store.revision[:8]})" in changelog
    assert f"- Papers added: weber2025twobit ({QUANTIZATION})\n" in changelog
    assert f"- Sections written again: {QUANTIZATION}\n" in changelog
    data = json.loads((out / "review.json").read_text(encoding="utf-8"))
    assert data["provenance"]["library_revision"] == library.store.revision
    old = json.loads(before["review.json"])
    assert data["sections"][:2] == old["sections"][:2] and data["provenance"]["sections"][:2] == \
        old["provenance"]["sections"][:2]
    # the next update finds nothing new
    _, again = living.update_directory(library, out, today="2026-12-08")
    assert again.nothing


def test_draft_update_in_memory(library):
    draft = library.review(REVIEW_TOPIC, max_papers=MAX_PAPERS, themes=3)
    library.ingest([ADDITIONS / "quantization.jsonl"])
    updated, changes = draft.update(library)
    assert changes.rewritten == [QUANTIZATION] and updated.sections[:2] == draft.sections[:2]
    assert "weber2025twobit" in updated.cited_keys() and "weber2025twobit" not in draft.cited_keys()


def test_a_paper_that_left_the_library_loses_its_citation_and_bib_entry(out, tmp_path, minilm, monkeypatch):
    lines = REVIEW_FIXTURE.read_text(encoding="utf-8").splitlines(keepends=True)
    smaller = tmp_path / "without-petrova.jsonl"
    smaller.write_text("".join(line for line in lines if "Petrova" not in line), encoding="utf-8")
    db = build_library(tmp_path / "smaller", minilm, [smaller])
    library = open_fixture_library(db, minilm, monkeypatch, tmp_path / "cache")
    assert "petrova2024mixedprecision" in (out / "references.bib").read_text(encoding="utf-8")
    old_blocks = blocks(out)
    draft, changes = living.update_directory(library, out, today=DAY)
    assert changes.removed == ["petrova2024mixedprecision"] == changes.citations_removed
    assert changes.rewritten == [QUANTIZATION] and changes.added == {}
    for name in ("review.md", "references.bib", "references.md", "review.tex", "review.json"):
        assert "petrova2024mixedprecision" not in (out / name).read_text(encoding="utf-8"), name
    assert "petrova2024mixedprecision" not in draft.papers
    new_blocks = blocks(out)
    assert new_blocks[f"## {DISTILLATION}"] == old_blocks[f"## {DISTILLATION}"]
    assert new_blocks[f"## {FINE_TUNING}"] == old_blocks[f"## {FINE_TUNING}"]
    assert "[@novak2024fourbit]" in new_blocks[f"## {QUANTIZATION}"]


def test_a_hand_edited_section_is_kept_and_the_new_text_proposed(out, library):
    review = out / "review.md"
    old_blocks = blocks(out)
    edited = old_blocks[f"## {QUANTIZATION}"] + "\n\nMy own note on quantization, kept as I wrote it."
    fine_tuning = old_blocks[f"## {FINE_TUNING}"].replace("## Fine-tuning, adapter, languages", "## Fine-tuning")
    text = review.read_text(encoding="utf-8").replace(old_blocks[f"## {QUANTIZATION}"], edited)
    review.write_text(text.replace(old_blocks[f"## {FINE_TUNING}"], fine_tuning), encoding="utf-8")
    library.ingest([ADDITIONS / "quantization.jsonl"])
    draft, changes = living.update_directory(library, out, today=DAY)
    assert changes.rewritten == [] and list(changes.kept) == [QUANTIZATION]  # fine-tuning: nothing new to propose
    assert changes.proposals == {QUANTIZATION: "proposed/quantization-bits-outlier-channels.md"}
    assert blocks(out)[f"## {QUANTIZATION}"] == edited  # the author's text, as written
    proposed = (out / "proposed" / "quantization-bits-outlier-channels.md").read_text(encoding="utf-8")
    assert proposed.startswith(f"## {QUANTIZATION}\n\n") and "[@weber2025twobit]" in proposed
    assert "My own note" not in proposed
    assert f"Kept your edits of {QUANTIZATION!r}: the regenerated text is in " \
           "proposed/quantization-bits-outlier-channels.md" in changes.lines()
    entries = json.loads((out / "review.json").read_text(encoding="utf-8"))["provenance"]["sections"]
    assert [e["edited"] for e in entries] == [False, True, True]
    assert blocks(out)["## Fine-tuning"] == fine_tuning  # a renamed section is the author's too (unchanged inputs)
    _, again = living.update_directory(library, out, today="2026-12-08")
    assert again.nothing


def test_a_new_cluster_of_papers_becomes_a_new_theme(out, library):
    old_blocks = blocks(out)
    library.ingest([ADDITIONS / "pruning.jsonl"])
    draft, changes = living.update_directory(library, out, today=DAY)
    assert sorted(changes.added) == sorted(PRUNING) and len(changes.new_themes) == 1
    new_theme = draft.themes[-1]
    assert [t.name for t in draft.themes[:3]] == [DISTILLATION, FINE_TUNING, QUANTIZATION]
    assert sorted(new_theme.keys) == sorted(PRUNING) and new_theme.id == 3
    assert new_theme.name == changes.new_themes[0] and "pruning" in new_theme.name.lower()
    assert changes.rewritten == [new_theme.name]
    new_blocks = blocks(out)
    assert list(new_blocks) == [f"## {h}" for h in (DISTILLATION, FINE_TUNING, QUANTIZATION, new_theme.name)] \
        + ["## References"]
    for heading in (DISTILLATION, FINE_TUNING, QUANTIZATION):
        assert new_blocks[f"## {heading}"] == old_blocks[f"## {heading}"]
    assert all(f"[@{k}]" in new_blocks[f"## {new_theme.name}"] for k in PRUNING)


def test_one_paper_that_fits_no_theme_joins_the_nearest_instead_of_making_a_theme(out, library, tmp_path):
    one = tmp_path / "one.jsonl"
    one.write_text((ADDITIONS / "pruning.jsonl").read_text(encoding="utf-8").splitlines()[0] + "\n", "utf-8")
    library.ingest([one])
    draft, changes = living.update_directory(library, out, today=DAY)
    assert list(changes.added) == ["sorokina2025magnitude"] and changes.new_themes == []
    assert len(draft.themes) == 3


def test_errors_say_what_to_do(tmp_path, library):
    with pytest.raises(InputError, match=r"holds no review.json: give the folder a `reviewer review TOPIC --out DIR`"):
        living.update_directory(library, tmp_path)
    (tmp_path / "review.json").write_text(json.dumps({"topic": "x", "engine": "extractive"}), encoding="utf-8")
    with pytest.raises(InputError, match=r"an old-format one \(no provenance\), which --update cannot use .*--rethink"):
        living.update_directory(library, tmp_path)


def test_the_cli_updates_prints_the_summary_and_rethinks(out, library, tmp_path, monkeypatch):
    library.ingest([ADDITIONS / "quantization.jsonl"])
    db = library.settings.db

    def run(*args):
        clean_env(monkeypatch, tmp_path / "cache")
        return CliRunner().invoke(app_(), ["review", *args, "--db", str(db)])

    result = run("--update", str(out))
    assert result.exit_code == 0, result.output
    assert f"Updated {out} (what changed is in CHANGES.md, the edit in review.diff):" in result.stdout
    assert f"Papers added: weber2025twobit ({QUANTIZATION})" in result.stdout
    assert f"Sections written again: {QUANTIZATION}" in result.stdout
    again = run("--update", str(out), "--json")
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["directory"] == str(out) and data["changes"][0].startswith("Nothing changed: no new paper on the topic")
    assert data["format"] == 1 and data["topic"] == REVIEW_TOPIC
    both = run(REVIEW_TOPIC, "--update", str(out))
    assert isinstance(both.exception, InputError) and "give either a TOPIC or --update DIR" in str(both.exception)
    rethought = run("--update", str(out), "--rethink")
    assert rethought.exit_code == 0, rethought.output
    assert "Rethought: a fresh draft of" in rethought.stdout
    assert set(FILES) <= {p.name for p in out.iterdir()}
    assert "- Rethought: a fresh draft of" in (out / "CHANGES.md").read_text(encoding="utf-8")


def app_():
    from reviewer.cli.main import app

    return app
