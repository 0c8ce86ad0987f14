"""The review's files render unchanged in the tools people use: `pandoc review.md --citeproc` gives exactly one
bibliography, BibTeX does not warn "need author or key", LaTeX compiles; and themes.png is readable (no label
overlaps another, the legend is whole and inside the picture). The draft is the demo's: the sample corpus, topic
"in-context learning", no LLM. pandoc, bibtex and pdflatex are used where they are installed (skipped with the
reason otherwise); the checks that need none of them always run."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from llm_fixtures import clean_env, isolated_cache  # noqa: F401  (autouse)
from review_fixtures import seeds_db  # noqa: F401
from reviewer.cli.main import app

pytestmark = pytest.mark.block_network

TOPIC = "in-context learning"


@pytest.fixture(scope="module")
def demo(seeds_db, tmp_path_factory):
    """The folder of the demo's draft (`reviewer review "in-context learning" --out DIR` on the sample corpus)."""
    out = tmp_path_factory.mktemp("demo-review") / "out"
    with pytest.MonkeyPatch.context() as mp:
        clean_env(mp, out.parent / "cache")
        mp.setenv("REVIEWER_LOG", "false")
        result = CliRunner().invoke(app, ["review", TOPIC, "--db", str(seeds_db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def bib_entries(text: str) -> list[str]:
    return re.findall(r"^@\w+\{[^@]*", text, re.M)


def test_review_md_leaves_the_bibliography_to_citeproc(demo):
    md = (demo / "review.md").read_text(encoding="utf-8")
    header = md.split("---\n")[1]
    assert md.startswith("---\n") and "\nbibliography: references.bib\nlink-citations: true\n" in "\n" + header
    assert re.search(r'^title: "Related work: in-context learning"$', header, re.M)
    assert re.search(r"^date: \d{4}-\d\d-\d\d$", header, re.M)
    assert md.endswith("## References\n\n::: {#refs}\n:::\n")
    assert md.count("## References") == 1
    cited = re.findall(r"@([a-z0-9]+)", md)
    assert cited, "the demo draft cites papers"
    assert not re.search(r"^- \*\*", md, re.M)  # no hand-written reference list beside citeproc's
    refs = (demo / "references.md").read_text(encoding="utf-8")
    assert refs.count("\n- **") == len(set(cited))  # the plain list is kept apart, for readers without citeproc
    assert "![Theme map of the " in md and "](themes.png)" in md  # the picture has an alt text


def test_every_bibtex_entry_has_an_author_or_a_key_and_its_source(demo):
    entries = bib_entries((demo / "references.bib").read_text(encoding="utf-8"))
    assert entries
    for entry in entries:
        assert re.search(r"^\s*(author|key) = ", entry, re.M), entry
        assert re.search(r"^\s*note = \{Source: \d{3}\\_[0-9a-f]+\.txt:\d+", entry, re.M), entry
        assert re.search(r"^\s*abstract = \{", entry, re.M), entry


@pytest.mark.skipif(shutil.which("pandoc") is None, reason="pandoc is not installed (apt-get install pandoc)")
def test_pandoc_citeproc_gives_exactly_one_bibliography(demo):
    done = subprocess.run(["pandoc", "review.md", "--citeproc", "-s", "-t", "html"], cwd=demo, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "[WARNING]" not in done.stderr, done.stderr  # every key resolves; the YAML block satisfies -s
    html = done.stdout
    assert html.count('id="refs"') == 1 and html.count(">References<") == 1
    cited = set(re.findall(r"@([a-z0-9]+)", (demo / "review.md").read_text(encoding="utf-8")))
    assert html.count('class="csl-entry"') == len(cited)  # each cited paper once, in the one bibliography
    import json

    body, bibliography = html.split('id="refs"')
    bibliography = " ".join(re.sub(r"<[^>]+>", "", bibliography).split())  # the text, tags and line breaks gone
    for reference in json.loads((demo / "review.json").read_text(encoding="utf-8"))["references"]:
        words = " ".join(reference["title"].split()[:4])
        assert bibliography.count(words) == 1, words  # listed once, by citeproc
        assert f"<strong>{reference['key']}</strong>" not in body  # and not in a list by hand before it
    assert "<title>Related work: in-context learning</title>" in html
    assert 'src="themes.png"' in html and 'alt="Theme map of the ' in html


@pytest.mark.skipif(shutil.which("bibtex") is None or shutil.which("pdflatex") is None,
                    reason="TeX (pdflatex and bibtex) is not installed")
def test_latex_compiles_and_bibtex_does_not_warn(demo, tmp_path):
    for name in ("review.tex", "references.bib"):
        shutil.copy(demo / name, tmp_path / name)
    (tmp_path / "main.tex").write_text("\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{url}\n"
                                       "\\begin{document}\\input{review}\\bibliographystyle{plain}"
                                       "\\bibliography{references}\\end{document}\n", encoding="utf-8")
    run = lambda *cmd: subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)  # noqa: E731
    assert run("pdflatex", "-interaction=nonstopmode", "main").returncode == 0
    bib = run("bibtex", "main")
    assert "need author or key" not in bib.stdout, bib.stdout
    assert run("pdflatex", "-interaction=nonstopmode", "main").returncode == 0
    final = run("pdflatex", "-interaction=nonstopmode", "main")
    assert final.returncode == 0 and "undefined" not in final.stdout.lower()


def test_the_theme_map_labels_never_overlap_and_the_legend_is_whole(seeds_db, monkeypatch, tmp_path):
    from reviewer.config import Settings
    from reviewer.library import Library
    from reviewer.themes_map import _style, draw

    clean_env(monkeypatch, tmp_path / "cache")
    draft = Library.open(settings=Settings(db=seeds_db), create=False).review(TOPIC, max_papers=30)
    with _style():
        figure, labels = draw(draft)
        renderer = figure.canvas.get_renderer()
        boxes = [label.get_window_extent(renderer) for label in labels]
        assert len(labels) >= len(draft.themes)  # at least one label a theme, the most central paper first
        assert all(not a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
        frame = figure.axes[0].get_window_extent(renderer)
        assert all(frame.contains(b.x0, b.y0) and frame.contains(b.x1, b.y1) for b in boxes)
        legend = figure.legends[0]
        texts = [t.get_text() for t in legend.get_texts()]
        assert [t.rsplit(" (", 1)[0] for t in texts] == [theme.name for theme in draft.themes]  # whole names
        picture = figure.bbox
        box = legend.get_window_extent(renderer)
        assert picture.x0 <= box.x0 and box.x1 <= picture.x1 and picture.y0 <= box.y0  # inside the picture
        axes = figure.axes[0].get_window_extent(renderer)
        assert axes.width > 0.85 * picture.width  # the plot fills the picture's width: no empty third
