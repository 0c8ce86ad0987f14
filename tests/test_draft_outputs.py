"""The files a review writes, rendered from a Draft built by hand (made-up papers, no library, no model)."""

from __future__ import annotations

import json
import re

import bibtexparser
import pytest

from reviewer import citations
from reviewer.corpus.model import Paper
from reviewer.draft import (EXTRACTIVE_NOTE, REWRITTEN, SUPPORTED, UNCHECKED, UNSUPPORTED, Draft, Section,
                            Sentence, Theme)

# Keys as users' own .bib files may have them: ':', '_' and '-' included.
MIX, CIRCUITS, NOISE, UNCITED = "okafor2024mixtures", "berg2023:circuits", "raman_weber-2024", "solo2022"
PAPERS = [
    Paper(key=MIX, title="Mixtures of Data Shape Few-Shot Skill", authors=["Ada Okafor", "Lin Zhou"], year=2024,
          venue="Journal of Made-Up Results", abstract="Made up."),
    Paper(key=CIRCUITS, title="Copy Circuits & Prompt Learning", authors=["Tomas Berg"], year=2023,
          arxiv_id="2301.00001", abstract="Made up."),
    Paper(key=NOISE, title="Label Noise in 100% of Prompts", authors=["Priya Raman", "Jonas Weber", "K. Ng", "Zoë Ř"],
          year=2024, url="https://example.org/p?a=1_b", abstract="Made up."),
    Paper(key=UNCITED, title="A Reviewed Paper Nobody Cites", abstract="Made up."),
]
CITED = [MIX, CIRCUITS, NOISE]  # in order of first citation


def make_draft(engine: str = "extractive", points: dict | None = None) -> Draft:
    data = Theme(0, "Pretraining data", ["mixture", "tokens"], [MIX, NOISE], "What the data does.")
    mechanisms = Theme(1, "Mechanisms & circuits", ["circuit"], [CIRCUITS, UNCITED], "How it works.")
    return Draft(
        topic="in-context learning",
        engine=engine,
        themes=[data, mechanisms],
        introduction=[Sentence(EXTRACTIVE_NOTE),  # the chain may put the note first: the files show it once
                      Sentence(f"Few-shot learning from prompts has several explanations [{MIX}; {CIRCUITS}].",
                               [MIX, CIRCUITS], SUPPORTED, 0.81234567)],
        sections=[
            Section(data, "Pretraining data", [[
                Sentence(f"Rare tokens help [{MIX}].", [MIX], REWRITTEN, 0.7, "overstated",
                         f"Rare tokens are all you need [{MIX}]."),
                Sentence(f"Label noise never matters at 50% [{NOISE}].", [NOISE], UNSUPPORTED, 0.2,
                         f"the abstract [{NOISE}] says the opposite"),
            ]]),
            Section(mechanisms, "Mechanisms & circuits", [
                [Sentence("We now turn to mechanisms.", [], UNCHECKED)],
                [Sentence(f"Circuits copy tokens [{CIRCUITS}].", [CIRCUITS], SUPPORTED, 0.9)],
            ]),
        ],
        papers={p.key: p for p in PAPERS},
        points={MIX: (0.1, 0.2), NOISE: (0.3, 0.1), CIRCUITS: (-0.5, 0.4), UNCITED: (-0.4, 0.6123456789)}
        if points is None else points,
        warnings=["a made-up warning"],
        settings={"themes": None, "max_papers": 30, "model": None},
    )


def pandoc_keys(markdown: str) -> list[str]:
    return citations.cited_keys(" ".join(re.findall(r"\[@[^\]]*\]", markdown)))


def latex_keys(tex: str) -> list[str]:
    keys: list[str] = []
    for group in re.findall(r"\\cite\{([^}]*)\}", tex):
        keys.extend(k for k in group.split(",") if k not in keys)
    return keys


REFERENCE_LIST = (
    f"- **{MIX}** — Ada Okafor and Lin Zhou (2024). Mixtures of Data Shape Few-Shot Skill. "
    "*Journal of Made-Up Results*.\n"
    f"- **{CIRCUITS}** — Tomas Berg (2023). Copy Circuits & Prompt Learning. <https://arxiv.org/abs/2301.00001>\n"
    "- **raman\\_weber-2024** — Priya Raman et al. (2024). Label Noise in 100% of Prompts. "
    "<https://example.org/p?a=1_b>\n")


def test_markdown_pandoc_citations_footnote_and_references():
    draft = make_draft()
    md = draft.to_markdown()
    assert md.startswith(f'---\ntitle: "Related work: in-context learning"\ndate: {draft.created}\n'
                         "bibliography: references.bib\nlink-citations: true\n---\n\n"
                         f"> **Note:** {EXTRACTIVE_NOTE}\n\n![Theme map of the 4 reviewed papers on in-context "
                         "learning: each point is a paper, nearby points are similar papers, colours are the 2 "
                         "themes (Pretraining data (2); Mechanisms & circuits (2)); the most central papers of "
                         "each theme are labelled](themes.png)\n\nFew-shot")
    assert md.count("No LLM is configured") == 1
    assert f"has several explanations [@{MIX}; @{CIRCUITS}].\n" in md
    # the rewritten sentence is shown as rewritten; the flagged one stays, with an inline footnote saying why
    assert (f"\n## Pretraining data\n\nRare tokens help [@{MIX}]. Label noise never matters at 50% [@{NOISE}]."
            f"^[Not supported by the cited abstract(s): the abstract ({NOISE}) says the opposite.]\n") in md
    assert "all you need" not in md
    assert "\n## Mechanisms & circuits\n\nWe now turn to mechanisms.\n\nCircuits copy tokens" in md
    # citeproc writes the bibliography into the empty refs div: no list by hand, so never two bibliographies
    assert md.endswith("## References\n\n::: {#refs}\n:::\n") and "**" + MIX not in md
    assert draft.references_markdown() == "# References: in-context learning\n\n" + REFERENCE_LIST
    plain = draft.to_markdown(citeproc=False)  # --no-citeproc: the list by hand, and no bibliography to process
    assert plain.endswith("## References\n\n" + REFERENCE_LIST) and "bibliography:" not in plain


def test_the_footnote_of_a_flagged_sentence_is_not_read_as_a_citation():
    md = make_draft().to_markdown()
    footnote = re.search(r"\^\[([^\]]*)\]", md).group(0)
    assert citations.cited_keys(footnote) == [] and "@" not in footnote
    assert citations.cited_keys(md) == CITED  # the whole file: exactly the cited keys, nothing from the note
    assert pandoc_keys(md) == CITED


def test_latex_fragment_cites_only_the_bibliography_keys():
    tex = make_draft().to_latex()
    assert tex.startswith("% Related work on: in-context learning (written by reviewer; engine: extractive).\n")
    assert "\\bibliography{references}" in tex.split("\\section*")[0]
    assert "\\section*{Related work: in-context learning}\n" in tex
    assert "\\textit{Note: No LLM is configured" in tex and "REVIEWER\\_LLM\\_\\_BASE\\_URL" in tex
    assert tex.count("No LLM is configured") == 1
    assert f"has several explanations~\\cite{{{MIX},{CIRCUITS}}}." in tex
    assert (f"Label noise never matters at 50\\%~\\cite{{{NOISE}}}.\\footnote{{Not supported by the cited "
            "abstract(s): the abstract (raman\\_weber-2024) says the opposite.}") in tex
    assert "\\subsection*{Mechanisms \\& circuits}\n\nWe now turn to mechanisms.\n\nCircuits copy tokens" in tex
    assert latex_keys(tex) == CITED
    body = [line for line in tex.splitlines() if not line.startswith("%")]
    assert not [line for line in body if re.search(r"(?<!\\)[%&#_]", re.sub(r"\\cite\{[^}]*\}", "", line))]


def test_references_bib_parses_and_holds_exactly_the_cited_keys():
    bib = make_draft().to_bibtex()
    library = bibtexparser.parse_string(bib)
    assert not library.failed_blocks
    assert [entry.key for entry in library.entries] == CITED  # the uncited reviewed paper is not in it
    assert set(latex_keys(make_draft().to_latex())) == {entry.key for entry in library.entries}


def test_review_json_round_trips_with_sentences_verdicts_and_references():
    draft = make_draft()
    data = json.loads(draft.to_json())
    assert data == draft.to_dict()
    assert draft.to_json().endswith("}\n")
    assert data["topic"] == "in-context learning" and data["engine"] == "extractive"
    assert data["notice"] == EXTRACTIVE_NOTE
    assert list(data["settings"]) == ["max_papers", "model", "themes"]
    assert data["outline"] == ["Pretraining data", "Mechanisms & circuits"]
    assert [t["keys"] for t in data["themes"]] == [[MIX, NOISE], [CIRCUITS, UNCITED]]
    assert data["introduction"][0] == {"text": EXTRACTIVE_NOTE, "keys": [], "support": "unchecked", "score": None,
                                       "reason": "", "original": None, "quote": None}
    assert data["introduction"][1]["score"] == 0.8123 and data["introduction"][1]["keys"] == [MIX, CIRCUITS]
    rewritten = data["sections"][0]["paragraphs"][0][0]
    assert rewritten["support"] == "rewritten" and rewritten["original"] == f"Rare tokens are all you need [{MIX}]."
    assert data["flagged"] == [{"section": "Pretraining data", "text": f"Label noise never matters at 50% [{NOISE}].",
                                "keys": [NOISE], "reason": f"the abstract [{NOISE}] says the opposite"}]
    assert [r["key"] for r in data["references"]] == CITED
    assert data["references"][1] == {"key": CIRCUITS, "title": "Copy Circuits & Prompt Learning",
                                     "authors": ["Tomas Berg"], "year": 2023, "venue": None, "doi": None,
                                     "arxiv_id": "2301.00001", "url": None}
    assert data["points"][UNCITED] == [-0.4, 0.6123]
    assert data["warnings"] == ["a made-up warning"]
    assert "usage" not in data  # a rerun from the cache costs nothing: the file must not change with it


def test_write_creates_the_folder_and_writes_byte_identical_files(tmp_path):
    first = make_draft().write(tmp_path / "a" / "out")
    second = make_draft().write(tmp_path / "b")
    names = ["review.md", "references.bib", "references.md", "review.tex", "review.json", "themes.png"]
    assert [p.name for p in first] == names and [p.name for p in second] == names
    for one, two in zip(first, second):
        assert one.read_bytes() == two.read_bytes(), one.name
    assert first[-1].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert b"Software" not in first[-1].read_bytes()
    again = make_draft().write(tmp_path / "a" / "out")  # overwriting gives the same bytes too
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in second]


def test_theme_map_ignores_the_users_matplotlib_settings(monkeypatch):
    import matplotlib

    from reviewer.themes_map import render_png

    before = render_png(make_draft())
    monkeypatch.setitem(matplotlib.rcParams, "font.size", 17.0)
    monkeypatch.setitem(matplotlib.rcParams, "axes.facecolor", "black")
    assert render_png(make_draft()) == before


def test_no_theme_map_without_two_mapped_papers(tmp_path):
    (tmp_path / "themes.png").write_bytes(b"an older picture")
    written = make_draft(points={MIX: (0.0, 0.0)}).write(tmp_path)
    assert [p.name for p in written] == ["review.md", "references.bib", "references.md", "review.tex", "review.json"]
    assert not (tmp_path / "themes.png").exists()
    assert "themes.png" not in (tmp_path / "review.md").read_text(encoding="utf-8")  # no picture, no image link  # an older map is not left to be taken for this one


def test_llm_drafts_carry_no_extractive_note():
    draft = make_draft(engine="llm")
    assert "Note" not in draft.to_markdown() and "Note" not in draft.to_latex()
    assert draft.to_dict()["notice"] is None


def test_an_unresolved_citation_is_refused_before_anything_is_written(tmp_path):
    draft = make_draft()
    draft.sections[1].paragraphs[1].append(Sentence("Ghosts exist [ghost2020].", ["ghost2020"], SUPPORTED))
    with pytest.raises(ValueError, match="ghost2020"):
        draft.write(tmp_path / "out")
    mismatched = make_draft()
    mismatched.introduction[0].keys = [MIX]
    with pytest.raises(ValueError, match="not the keys its text cites"):
        mismatched.write(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_draft_citing_nothing_still_gives_valid_files(tmp_path):
    draft = Draft(topic="nothing [at] all", engine="llm",
                  introduction=[Sentence("- The library has nothing on this.", [], UNSUPPORTED,
                                         reason="cites no paper")])
    md = draft.to_markdown()
    assert md.startswith('---\ntitle: "Related work: nothing \\\\[at\\\\] all"\n') and citations.cited_keys(md) == []
    assert "\\- The library has nothing on this.^[Not supported: it cites no paper.]" in md
    assert draft.to_markdown(citeproc=False).endswith("## References\n\nNo paper is cited.\n")
    assert bibtexparser.parse_string(draft.to_bibtex()).entries == []
    assert latex_keys(draft.to_latex()) == []
    assert [p.name for p in draft.write(tmp_path)] == ["review.md", "references.bib", "references.md", "review.tex",
                                                       "review.json"]
