"""The loader: paths, folders, encodings, dedupe across formats, and what gets skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewer.corpus import LoadResult, load
from reviewer.corpus.dedupe import dedupe
from reviewer.corpus.model import Paper
from reviewer.errors import InputError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "corpus"
ABSTRACT = "We study a problem. Our method is evaluated on several benchmarks and beats the baselines."


def test_same_paper_in_bib_csv_and_jsonl_is_one_paper_with_merged_metadata():
    folder = FIXTURES / "dedupe"
    result = load([folder])
    assert result.records == 3 and result.skipped == [] and result.warnings == []
    assert [p.model_dump() for p in result.papers] == [
        {
            "key": "",
            "title": "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks",  # the first record's
            "abstract": "A longer abstract from the CSV file, which should win the merge.",
            "authors": ["Patrick Lewis", "Ethan Perez", "Aleksandra Piktus"],
            "year": 2020,
            "venue": "NeurIPS",
            "doi": "10.5555/3495724.3496517",
            "arxiv_id": "2005.11401",
            "url": "https://arxiv.org/abs/2005.11401",
            "provenance": [f"{folder}/a.bib:1", f"{folder}/b.csv:2", f"{folder}/c.jsonl:1"],
        }
    ]


def test_identities_chain_and_conflicting_dois_are_reported():
    a = Paper(title="Alpha", abstract="x", doi="10.1/a", provenance=["f:1"])
    b = Paper(title="Beta", abstract="xx", doi="10.1/A", arxiv_id="2401.00001", provenance=["f:2"])
    c = Paper(title="Gamma", abstract="x", arxiv_id="arXiv:2401.00001v2", provenance=["f:3"])
    d = Paper(title="gamma!", abstract="x", doi="10.1/other", provenance=["f:4"])
    e = Paper(title="Unrelated", abstract="x", provenance=["f:5"])
    papers, warnings = dedupe([a, b, c, d, e])
    assert [(p.title, p.abstract, p.provenance) for p in papers] == [
        ("Alpha", "xx", ["f:1", "f:2", "f:3", "f:4"]),
        ("Unrelated", "x", ["f:5"]),
    ]
    assert warnings == ["f:1: merged as one paper despite different DOIs (10.1/a, 10.1/other); records at f:1, f:2, f:3, f:4"]


def test_missing_path_raises_before_anything_is_read(tmp_path):
    with pytest.raises(InputError, match=r"nope\.bib.*also-missing"):
        load([FIXTURES / "refs.bib", tmp_path / "nope.bib", "also-missing"])


def test_empty_directory_and_empty_file_are_no_records(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "blank.txt").write_text("\n  \n", encoding="utf-8")
    result = load([empty, tmp_path / "blank.txt"])
    assert isinstance(result, LoadResult) and result.papers == [] and result.records == 0
    assert [(s.file, s.line, s.reason, s.detail) for s in result.skipped] == [
        (str(empty), 0, "no records", "empty directory"),
        (str(tmp_path / "blank.txt"), 0, "no records", "empty file"),
    ]
    assert str(result.skipped[0]) == f"{empty}: no records (empty directory)"


def test_folder_walk_skips_hidden_sorts_files_and_sniffs_unknown_extensions(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.bib").write_text("@article{h, title={Hidden}, abstract={no}}\n", encoding="utf-8")
    (tmp_path / ".hidden.jsonl").write_text('{"title": "Hidden", "abstract": "no"}\n', encoding="utf-8")
    (tmp_path / "b" / "refs.dat").write_text("@article{z, title={Sniffed}, abstract={From a .dat file.}}\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"title": "First", "abstract": "One."}\n', encoding="utf-8")
    (tmp_path / "notes.md").write_text("# Notes\n\n- one\n- two\n", encoding="utf-8")
    (tmp_path / "list.txt").write_text(f"A Listing Title\n\n{ABSTRACT}\n", encoding="utf-8")
    result = load([str(tmp_path)])
    root = str(tmp_path)
    assert result.files == [f"{root}/a.jsonl", f"{root}/b/refs.dat", f"{root}/list.txt", f"{root}/notes.md"]
    assert [(p.title, p.provenance) for p in result.papers] == [
        ("First", [f"{root}/a.jsonl:1"]),
        ("Sniffed", [f"{root}/b/refs.dat:1"]),
        ("A Listing Title", [f"{root}/list.txt:1"]),
    ]
    assert [(s.file, s.line, s.reason) for s in result.skipped] == [
        (f"{root}/.git", 0, "hidden folder"), (f"{root}/.hidden.jsonl", 0, "hidden file"),
        (f"{root}/notes.md", 0, "unknown format"),
    ]


def test_same_file_twice_is_read_once_and_order_is_deterministic(tmp_path):
    first = load([FIXTURES / "refs.ris", FIXTURES / "refs.bib", FIXTURES / "refs.ris"])
    second = load([FIXTURES / "refs.bib", FIXTURES / "refs.ris"])
    assert first.files == second.files == [str(FIXTURES / "refs.bib"), str(FIXTURES / "refs.ris")]
    assert [p.model_dump() for p in first.papers] == [p.model_dump() for p in second.papers]


def test_unreadable_files(tmp_path):
    (tmp_path / "dangling.bib").symlink_to(tmp_path / "gone.bib")
    (tmp_path / "data.bin").write_bytes(b"\x00\x01\x02")
    result = load([tmp_path])
    assert [(Path(s.file).name, s.line, s.reason) for s in result.skipped] == [
        ("dangling.bib", 0, "unreadable"),
        ("data.bin", 0, "binary file"),
    ]


def test_encodings(tmp_path):
    (tmp_path / "latin.csv").write_bytes("title,abstract\nNa\u00efve,Text \u2014 dash\n".encode("cp1252"))
    (tmp_path / "bom.csv").write_bytes("title,abstract\nWith BOM,Text\n".encode("utf-8-sig"))
    (tmp_path / "wide.csv").write_bytes("title,abstract\nWide,Text\n".encode("utf-16"))
    (tmp_path / "raw.csv").write_bytes(b"title,abstract\nRaw\x81,Text\n")  # 0x81 is undefined in cp1252
    result = load([tmp_path])
    assert [p.title for p in result.papers] == ["With BOM", "Naïve", "Raw", "Wide"]  # U+0081, a C1 control, dropped
    assert result.warnings == [
        f"{tmp_path}/latin.csv:2: not valid UTF-8 (first bad byte on this line); read as cp1252",
        f"{tmp_path}/raw.csv:2: not valid UTF-8 (first bad byte on this line); read as latin-1",
        f"{tmp_path}/wide.csv:1: not UTF-8; read as utf-16 (byte-order mark)",
    ]


def test_crlf_line_ends_keep_line_numbers(tmp_path):
    (tmp_path / "w.ris").write_bytes(b"TY  - JOUR\r\nTI  - A\r\nAB  - B\r\nER  - \r\n\r\nTY  - JOUR\r\nTI  - C\r\nAB  - D\r\nER  - \r\n")
    result = load([tmp_path / "w.ris"])
    assert [(p.title, p.abstract, p.provenance[0].rsplit(":", 1)[1]) for p in result.papers] == [("A", "B", "1"), ("C", "D", "6")]
