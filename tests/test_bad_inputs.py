"""Per-record isolation: one bad record (or file, or link) is a Skip or a warning naming its place; every other
record of the file and of the run is still read. Each case sits beside a valid control record."""

from __future__ import annotations

import json
import os
from pathlib import Path

from reviewer.corpus import load

GOOD = {"title": "Control Paper About Retrieval", "abstract": "A valid control record that must never be lost."}


def jsonl(*records) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records)


def skips(result, root: Path | None = None):
    return [(os.path.relpath(s.file, root) if root else Path(s.file).name, s.line, s.reason) for s in result.skipped]


def test_a_symlink_loop_and_a_dangling_link_are_reported_not_fatal(tmp_path):
    (tmp_path / "good.jsonl").write_text(jsonl(GOOD), encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to(tmp_path, target_is_directory=True)  # a folder loop
    (tmp_path / "self.bib").symlink_to(tmp_path / "self.bib")  # a file link to itself
    (tmp_path / "gone.bib").symlink_to(tmp_path / "nowhere.bib")
    result = load([tmp_path])
    assert [p.title for p in result.papers] == [GOOD["title"]]
    assert sorted(skips(result, tmp_path)) == [
        ("gone.bib", 0, "unreadable"),
        ("self.bib", 0, "unreadable"),
        ("sub/up", 0, "unreadable"),
    ]
    assert [s.detail for s in result.skipped if s.file.endswith("sub/up")] == ["link loop: this folder was already read"]


def test_a_linked_folder_is_read_once(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.jsonl").write_text(jsonl(GOOD), encoding="utf-8")
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    result = load([tmp_path])
    assert len(result.papers) == 1 and result.records == 1


def test_deep_nesting_is_a_skip_in_jsonl_in_a_sniffed_file_and_in_bibtex(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.jsonl").write_text(jsonl(GOOD, deep, {**GOOD, "title": "Second Control"}), encoding="utf-8")
    (tmp_path / "deep.dat").write_text(jsonl(deep, GOOD), encoding="utf-8")  # format found by content
    braces = "{" * 3000 + "\\emph{x}" + "}" * 3000
    (tmp_path / "deep.bib").write_text(
        f"@article{{deep, title = {{{braces}}}, abstract = {{a}}}}\n"
        "@article{ok, title = {Bib Control}, abstract = {Still read.}}\n", encoding="utf-8")
    result = load([tmp_path])
    assert [p.title for p in result.papers] == ["Bib Control", GOOD["title"], "Second Control"]
    assert ("deep.jsonl", 2, "malformed JSON line") in skips(result)
    assert ("deep.bib", 1, "malformed BibTeX entry") in skips(result)
    assert [s for s in skips(result) if s[0] == "deep.dat"] == [("deep.dat", 1, "malformed JSON")]
    assert result.records == 4  # the control record of deep.dat was read too (then merged with its twin)


def test_a_lone_surrogate_is_replaced_with_a_warning(tmp_path):
    (tmp_path / "s.jsonl").write_text('{"title": "Emoji \\ud83d Paper", "abstract": "Text \\udc00 here."}\n'
                                      + jsonl(GOOD), encoding="utf-8")
    result = load([tmp_path / "s.jsonl"])
    assert [p.title for p in result.papers] == ["Emoji \ufffd Paper", GOOD["title"]]
    assert result.papers[0].abstract == "Text \ufffd here."
    assert result.warnings == [f"{tmp_path / 's.jsonl'}:1: invalid character (lone surrogate) replaced in title, abstract"]


def test_one_nul_byte_cleans_the_record_not_the_file(tmp_path):
    (tmp_path / "n.jsonl").write_bytes(jsonl({"title": "Nul\x00 Title", "abstract": "x"}, GOOD).encode()
                                       .replace(b"\\u0000", b"\x00"))
    result = load([tmp_path / "n.jsonl"])
    assert [p.title for p in result.papers] == ["Nul Title", GOOD["title"]]
    assert result.warnings == [f"{tmp_path / 'n.jsonl'}:1: 1 NUL byte(s) removed (on line(s) 1)"]


def test_a_json_array_saved_as_jsonl_is_read_record_by_record(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps([GOOD, {**GOOD, "title": "Second"}], indent=1), encoding="utf-8")
    result = load([tmp_path / "a.jsonl"])
    assert [p.title for p in result.papers] == [GOOD["title"], "Second"]
    assert result.warnings == [f"{tmp_path / 'a.jsonl'}:1: a JSON array, not JSON Lines (one object per line); "
                               "read as an array"]


def test_a_bad_object_in_a_json_array_loses_only_itself(tmp_path):
    text = ('[\n' + json.dumps(GOOD) + ',\n{"title": "Broken", "abstract": },\n'
            + json.dumps({**GOOD, "title": "After The Break"}) + '\n]\n')
    (tmp_path / "a.json").write_text(text, encoding="utf-8")
    result = load([tmp_path / "a.json"])
    assert [(p.title, p.provenance[0].rsplit(":", 1)[1]) for p in result.papers] == [
        (GOOD["title"], "2"), ("After The Break", "4")]
    assert skips(result) == [("a.json", 3, "malformed JSON")]


def test_an_unclosed_csv_quote_is_reported_at_its_line_and_later_rows_are_read(tmp_path):
    (tmp_path / "q.csv").write_text('title,abstract\nFirst,one\n"Unclosed quote,two\nThird,three\nFourth,four\n',
                                    encoding="utf-8")
    result = load([tmp_path / "q.csv"])
    assert [p.title for p in result.papers] == ["First", "Third", "Fourth"]
    assert skips(result) == [("q.csv", 3, "malformed CSV row")]
    assert "never closed" in result.skipped[0].detail


def test_a_huge_csv_field_is_truncated_like_a_jsonl_one(tmp_path):
    (tmp_path / "big.csv").write_text("title,abstract\nBig," + "x" * 5_000_000 + "\nSmall,s\n", encoding="utf-8")
    result = load([tmp_path / "big.csv"], max_field_chars=1000)
    assert [(p.title, len(p.abstract)) for p in result.papers] == [("Big", 1000), ("Small", 1)]
    assert result.warnings == [f"{tmp_path / 'big.csv'}:2: abstract truncated from 5000000 to 1000 characters"]


def test_mixed_encodings_are_decoded_line_by_line(tmp_path):
    data = ("title,abstract\nUTF-8 Café,naïve ☃\n".encode("utf-8") + "Latin Café,résumé\n".encode("latin-1")
            + "Also UTF-8 Straße,日本語\n".encode("utf-8"))
    (tmp_path / "mixed.csv").write_bytes(data)
    result = load([tmp_path / "mixed.csv"])
    assert [(p.title, p.abstract) for p in result.papers] == [
        ("UTF-8 Café", "naïve ☃"), ("Latin Café", "résumé"), ("Also UTF-8 Straße", "日本語")]
    assert result.warnings == [f"{tmp_path / 'mixed.csv'}:3: not valid UTF-8 (first bad byte on this line); read as cp1252"]


def test_bibtex_string_macros_and_concatenation_are_expanded(tmp_path):
    (tmp_path / "m.bib").write_text(
        '@string{conf = "Conference on Things"}\n@string{pre = "Deep"}\n'
        '@inproceedings{a, title = pre # " Learning for " # {Graphs}, abstract = {An abstract.},\n'
        '  booktitle = "Proc. " # conf, month = jan, year = 2020}\n', encoding="utf-8")
    result = load([tmp_path / "m.bib"])
    assert [(p.title, p.venue) for p in result.papers] == [("Deep Learning for Graphs", "Proc. Conference on Things")]


def test_non_string_fields_are_rejected_per_record(tmp_path):
    (tmp_path / "t.jsonl").write_text(jsonl({"title": ["A", "List"], "abstract": "x"},
                                            {"title": "Object Abstract", "abstract": {"text": "x"}}, GOOD),
                                      encoding="utf-8")
    result = load([tmp_path / "t.jsonl"])
    assert [p.title for p in result.papers] == [GOOD["title"]]
    assert [(s.line, s.reason, s.detail) for s in result.skipped] == [
        (1, "field not text", "title is a list; expected text"),
        (2, "field not text", "abstract is an object; expected text"),
    ]


def test_control_characters_and_escape_sequences_never_reach_a_paper(tmp_path):
    (tmp_path / "e.jsonl").write_text(jsonl({"title": "Red \x1b[31mAlert\x1b[0m \x1b]0;owned\x07Paper",
                                             "abstract": "Bell\x07 and \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ text"}),
                                      encoding="utf-8")
    paper = load([tmp_path / "e.jsonl"]).papers[0]
    assert (paper.title, paper.abstract) == ("Red Alert Paper", "Bell and link text")


def test_a_parser_crash_costs_only_its_file(tmp_path, monkeypatch):
    from reviewer.corpus import parsers

    def broken(path, text):
        raise TypeError("boom")

    monkeypatch.setitem(parsers.BY_EXTENSION, ".ris", broken)
    (tmp_path / "a.ris").write_text("TY  - JOUR\nTI  - X\nER  - \n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(jsonl(GOOD), encoding="utf-8")
    result = load([tmp_path])
    assert [p.title for p in result.papers] == [GOOD["title"]]
    assert [(Path(s.file).name, s.reason, s.detail) for s in result.skipped] == [("a.ris", "unreadable", "TypeError: boom")]


def test_special_files_are_skipped(tmp_path):
    os.mkfifo(tmp_path / "pipe.jsonl")
    (tmp_path / "empty.bib").write_text("", encoding="utf-8")
    (tmp_path / "good.jsonl").write_text(jsonl(GOOD), encoding="utf-8")
    result = load([tmp_path])
    assert [p.title for p in result.papers] == [GOOD["title"]]
    assert skips(result) == [("empty.bib", 0, "no records"), ("pipe.jsonl", 0, "unreadable")]
