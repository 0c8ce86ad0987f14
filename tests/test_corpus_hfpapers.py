"""The Hugging Face Papers listing parser, against the four sample pages in ../shared/seeds (read, never copied)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewer.corpus import load
from reviewer.corpus.parsers import hfpapers

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "corpus"

# Counted independently: non-blank lines minus the page furniture at the top (5 lines in the
# blank-line layout, 2 in the glued layout), halved, since every title has exactly one abstract line.
RECORDS = {
    "001_aadc7b4cf4d1cf3e.txt": 66,
    "002_afc794032ae38655.txt": 71,
    "003_afd7636b7b7e31f6.txt": 195,
    "004_a4ebe849e34dd4d4.txt": 248,
}
FURNITURE = {"new", "Get trending papers in your email inbox!", "Get trending papers in your email inbox once a day!",
             "Subscribe", "byAK and the research community"}  # fmt: skip


def parse_seed(name: str):
    path = SEEDS / name
    return hfpapers.parse(str(path), path.read_text(encoding="utf-8"))


def seed_lines(name: str) -> list[str]:
    return (SEEDS / name).read_text(encoding="utf-8").split("\n")


@pytest.mark.parametrize("name, count", sorted(RECORDS.items()))
def test_record_count_per_page(name, count):
    result = parse_seed(name)
    assert len(result.papers) == count
    assert result.skipped == [] and result.warnings == []
    assert all(p.title and p.abstract for p in result.papers)


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_provenance_is_the_title_line_and_the_abstract_is_the_next_line(name):
    lines = seed_lines(name)
    for paper in parse_seed(name).papers:
        file, line = paper.provenance[0].rsplit(":", 1)
        assert file == str(SEEDS / name)
        number = int(line)
        assert lines[number - 1].removeprefix("Subscribe") == paper.title
        following = next(text for text in lines[number:] if text.strip())
        assert following == paper.abstract


def test_known_records_in_both_layouts():
    first_a = parse_seed("001_aadc7b4cf4d1cf3e.txt").papers[0]
    assert first_a.provenance == [f"{SEEDS / '001_aadc7b4cf4d1cf3e.txt'}:11"]
    assert first_a.title.startswith("Inst-IT: ")
    assert first_a.abstract == seed_lines("001_aadc7b4cf4d1cf3e.txt")[12]

    first_b = parse_seed("003_afd7636b7b7e31f6.txt").papers[0]  # "Subscribe" glued onto this title
    assert first_b.provenance == [f"{SEEDS / '003_afd7636b7b7e31f6.txt'}:3"]
    assert seed_lines("003_afd7636b7b7e31f6.txt")[2] == "Subscribe" + first_b.title
    assert not first_b.title.startswith("Subscribe")
    assert first_b.abstract == seed_lines("003_afd7636b7b7e31f6.txt")[3]


def test_page_furniture_is_never_a_paper():
    titles = [p.title for name in RECORDS for p in parse_seed(name).papers]
    assert not FURNITURE & set(titles)
    assert not [t for t in titles if t.startswith("Subscribe") or hfpapers.is_furniture(t)]
    for line in [*FURNITURE, "Jul 2", "Mar 17", "Sep 30, 2024", "2024-07-02", "42"]:
        assert hfpapers.is_furniture(line), line


def test_all_four_pages_give_580_records_and_553_unique_papers():
    result = load([SEEDS])
    assert result.records == 580
    assert len(result.papers) == 553
    assert result.skipped == [] and result.warnings == []
    assert result.files == [str(SEEDS / name) for name in sorted(RECORDS)]
    assert len({p.norm_title for p in result.papers}) == 553
    assert sum(len(p.provenance) for p in result.papers) == 580
    merged = [p for p in result.papers if len(p.provenance) > 1]
    assert (len(merged), sum(len(p.provenance) - 1 for p in merged)) == (24, 27)


def test_glued_layout_with_a_title_missing_its_abstract():
    result = load([FIXTURES / "listing_b.txt"])
    path = str(FIXTURES / "listing_b.txt")
    assert [(p.title, p.provenance) for p in result.papers] == [
        ("A Made-Up Title About Sparse Retrieval", [f"{path}:2"]),
        ("Another Made-Up Title: Dense Retrieval Revisited", [f"{path}:5"]),
    ]
    assert [(s.line, s.reason, s.detail) for s in result.skipped] == [(4, "no abstract", "A Title Whose Abstract Is Missing")]


def test_blank_line_layout_edge_cases():
    abstract = "We propose a method. It is evaluated on several benchmarks and compared with strong baselines."
    text = "\n\n".join([
        "new", "Subscribe", "byAK and the research community", "Jul 2",
        "Prose before any title. " + abstract,
        "Title One", abstract,
        "A second paragraph of the same abstract. It adds detail.",
        "Title Without Abstract",
        "Title Two?", abstract,
        "Last Title",
    ]) + "\n"  # fmt: skip
    result = hfpapers.parse("page.txt", text)
    assert [(p.title, p.provenance[0], p.abstract.endswith("It adds detail.")) for p in result.papers] == [
        ("Title One", "page.txt:11", True),
        ("Title Without Abstract", "page.txt:17", False),
        ("Title Two?", "page.txt:19", False),
        ("Last Title", "page.txt:23", False),
    ]
    assert [p.abstract for p in result.papers][1:] == ["", abstract, ""]
    assert [(s.line, s.reason) for s in result.skipped] == [(9, "no title")]
    assert result.warnings == ["page.txt:15: second prose paragraph joined to the abstract of page.txt:11"]


def test_looks_like():
    assert hfpapers.looks_like((SEEDS / "003_afd7636b7b7e31f6.txt").read_text(encoding="utf-8"))
    assert hfpapers.looks_like("A Title\n\nWe study things. Our method is evaluated on many tasks and does well.\n")
    assert not hfpapers.looks_like("# Notes\n\n- one\n- two\n\nSome text.\n")
