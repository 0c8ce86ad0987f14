"""Each parser on a small hand-written fixture: exact fields, exact skips with file:line."""

from __future__ import annotations

from pathlib import Path

from reviewer.corpus import Paper, load
from reviewer.corpus.parsers import arxiv, bibtex, choose, ris, sniff, tabular

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "corpus"


def read(name: str) -> tuple[str, str]:
    path = FIXTURES / name
    return str(path), path.read_text(encoding="utf-8")


def fields(paper: Paper) -> dict:
    return paper.model_dump(exclude={"key"})


def skips(result) -> list[tuple[str, int, str]]:
    return [(Path(s.file).name, s.line, s.reason) for s in result.skipped]


def test_bibtex_fields_latex_and_authors():
    path, text = read("refs.bib")
    result = bibtex.parse(path, text)
    assert result.skipped == [] and result.warnings == []
    assert [fields(p) for p in result.papers] == [
        {
            "title": "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
            "abstract": "We introduce a new language representation model called BERT, which stands for "
            "Bidirectional Encoder Representations from Transformers.",
            "authors": ["Jacob Devlin", "Ming-Wei Chang", "Kenton Lee", "Kristina Toutanova"],
            "year": 2019,
            "venue": "Proceedings of NAACL-HLT",
            "doi": "10.18653/v1/N19-1423",
            "arxiv_id": None,
            "url": "https://aclanthology.org/N19-1423",
            "provenance": [f"{path}:2"],
        },
        {
            "title": "Café Culture and Transformer Models",
            "abstract": "We study café culture with 5% more attention.",
            "authors": ["Jörg Müller", "Łukasz Kaiser"],
            "year": 2021,
            "venue": "Journal of Imaginary Results",
            "doi": None,
            "arxiv_id": None,
            "url": None,
            "provenance": [f"{path}:13"],
        },
        {
            "title": "Attention Is All You Need",
            "abstract": "The dominant sequence transduction models are based on complex recurrent networks.",
            "authors": ["Ashish Vaswani", "Noam Shazeer"],
            "year": 2017,
            "venue": None,
            "doi": None,
            "arxiv_id": "1706.03762",
            "url": None,
            "provenance": [f"{path}:21"],
        },
    ]


def test_broken_bibtex_entry_is_skipped_and_the_rest_is_read():
    path, text = read("broken.bib")
    result = bibtex.parse(path, text)
    assert [(p.title, p.authors, p.year, p.provenance) for p in result.papers] == [
        ("A First Good Entry", ["Ada Lovelace"], 1843, [f"{path}:1"]),
        ("A Second Good Entry", ["Alan Turing"], 1950, [f"{path}:13"]),
    ]
    assert skips(result) == [("broken.bib", 8, "malformed BibTeX entry")]
    assert "field-value closing" in result.skipped[0].detail


def test_bibtex_duplicate_key_string_macro_and_duplicate_field():
    text = (
        '@string{nips = "NeurIPS"}\n'
        "@article{k1, title={One}, author={A, B}, journal=nips, year={2020}, abstract={x}}\n"
        "@article{k1, title={Two}, author={C D}, year={2021}, abstract={y}}\n"
        "@article{k2, title={a}, title={b}, abstract={z}}\n"
    )
    result = bibtex.parse("x.bib", text)
    assert [(p.title, p.authors, p.venue, p.provenance) for p in result.papers] == [
        ("One", ["B A"], "NeurIPS", ["x.bib:2"]),
        ("Two", ["C D"], None, ["x.bib:3"]),
    ]
    assert result.warnings == ["x.bib:3: BibTeX key 'k1' is used twice; read as a separate record"]
    assert [(s.line, s.reason, s.detail) for s in result.skipped] == [
        (4, "malformed BibTeX entry", "field given twice: title")
    ]


def test_ris_fields_and_tag_variants():
    path, text = read("refs.ris")
    result = ris.parse(path, text)
    assert result.skipped == [] and result.warnings == []
    assert [fields(p) for p in result.papers] == [
        {
            "title": "Deep Residual Learning for Image Recognition",
            "abstract": "Deeper neural networks are more difficult to train. We present a residual learning framework.",
            "authors": ["Kaiming He", "Xiangyu Zhang"],
            "year": 2016,
            "venue": "Proceedings of CVPR",
            "doi": "10.1109/CVPR.2016.90",
            "arxiv_id": None,
            "url": "https://example.org/resnet",
            "provenance": [f"{path}:1"],
        },
        {
            "title": "Language Models are Few-Shot Learners",
            "abstract": "We show that scaling up language models greatly improves task-agnostic, few-shot performance.",
            "authors": ["Tom B. Brown", "Benjamin Mann"],
            "year": 2020,
            "venue": "Advances in Neural Information Processing Systems",
            "doi": None,
            "arxiv_id": "2005.14165",
            "url": "https://arxiv.org/abs/2005.14165v4",
            "provenance": [f"{path}:12"],
        },
        {
            "title": "A Record Without Any Abstract",
            "abstract": "",
            "authors": ["Jane Doe"],
            "year": 2022,
            "venue": None,
            "doi": None,
            "arxiv_id": None,
            "url": None,
            "provenance": [f"{path}:23"],
        },
    ]


def test_ris_record_without_end_tag_is_read_with_a_warning():
    result = ris.parse("x.ris", "TY  - JOUR\nTI  - No end\nAB  - a\nTY  - JOUR\nTI  - Two\nAB  - b\nER  - \n")
    assert [(p.title, p.abstract, p.provenance) for p in result.papers] == [
        ("No end", "a", ["x.ris:1"]),
        ("Two", "b", ["x.ris:4"]),
    ]
    assert result.warnings == ["x.ris:1: RIS record has no 'ER  -' end tag; read up to the next record"]


def test_csv_aliases_and_multiline_fields_keep_line_numbers():
    path, text = read("papers.csv")
    result = tabular.parse_csv(path, text)
    assert [fields(p) for p in result.papers] == [
        {
            "title": "Chain-of-Thought Prompting Elicits Reasoning",
            "abstract": "We explore how generating a chain of thought improves reasoning. It spans three lines.",
            "authors": ["Jason Wei", "Xuezhi Wang", "Dale Schuurmans"],
            "year": 2022,
            "venue": "NeurIPS",
            "doi": None,
            "arxiv_id": "2201.11903",
            "url": "https://arxiv.org/abs/2201.11903",
            "provenance": [f"{path}:2"],
        },
        {
            "title": "Toolformer: Language Models Can Teach Themselves to Use Tools",
            "abstract": "Language models teach themselves to use external tools.",
            "authors": ["Timo Schick", "Jane Dwivedi-Yu"],
            "year": 2023,
            "venue": None,
            "doi": "10.48550/arXiv.2302.04761",
            "arxiv_id": None,
            "url": None,
            "provenance": [f"{path}:6"],
        },
        {
            "title": "A Row With No Summary",
            "abstract": "",
            "authors": ["Nobody"],
            "year": 2021,
            "venue": None,
            "doi": None,
            "arxiv_id": None,
            "url": None,
            "provenance": [f"{path}:8"],
        },
    ]


def test_csv_oversized_field_and_missing_title_column():
    big = "title,abstract\n" + '"big","' + "x" * 140_000 + '"\nok,fine\n'
    result = tabular.parse_csv("x.csv", big)  # read whole here; the loader cuts it to max_field_chars
    assert [(p.title, len(p.abstract), p.provenance) for p in result.papers] == [
        ("big", 140_000, ["x.csv:2"]), ("ok", 4, ["x.csv:3"])]
    assert result.skipped == []

    result = tabular.parse_csv("y.csv", "name,value\na,b\n")
    assert result.papers == []
    assert [(s.line, s.reason, s.detail) for s in result.skipped] == [(1, "no title column", "header: name, value")]


def test_tsv_and_semicolon_delimiters():
    tsv = tabular.parse_csv("x.tsv", "Title\tAbstract\tAuthors\nA, B\tText, more\tX Y; Z W\n", delimiter="\t")
    assert [(p.title, p.abstract, p.authors) for p in tsv.papers] == [("A, B", "Text, more", ["X Y", "Z W"])]
    semi = tabular.parse_csv("x.csv", "title;abstract\nA;B, C\n")
    assert [(p.title, p.abstract) for p in semi.papers] == [("A", "B, C")]


def test_jsonl_bad_lines_are_skipped_and_the_rest_read():
    path, text = read("papers.jsonl")
    result = tabular.parse_jsonl(path, text)
    assert [fields(p) for p in result.papers] == [
        {
            "title": "ReAct: Synergizing Reasoning and Acting in Language Models",
            "abstract": "We interleave reasoning traces and actions.",
            "authors": ["Shunyu Yao", "Jeffrey Zhao"],
            "year": 2023,
            "venue": "ICLR",
            "doi": None,
            "arxiv_id": "2210.03629",
            "url": None,
            "provenance": [f"{path}:1"],
        },
        {
            "title": "Self-Consistency Improves Chain of Thought Reasoning",
            "abstract": "An abstract under an alias key.",
            "authors": ["Xuezhi Wang", "Jason Wei"],
            "year": 2022,
            "venue": None,
            "doi": "10.48550/ARXIV.2203.11171",
            "arxiv_id": None,
            "url": "https://arxiv.org/abs/2203.11171",
            "provenance": [f"{path}:4"],
        },
        {
            "title": "",
            "abstract": "A record with an empty title.",
            "authors": [],
            "year": None,
            "venue": None,
            "doi": None,
            "arxiv_id": None,
            "url": None,
            "provenance": [f"{path}:6"],
        },
    ]
    assert [(s.line, s.reason, s.detail) for s in result.skipped] == [
        (2, "malformed JSON line", "Expecting ',' delimiter"),
        (5, "malformed JSON line", "expected an object, got list"),
    ]


def test_json_array_keeps_the_line_of_each_object():
    text = '[\n {"title": "A", "abstract": "aa"},\n\n {"title": "B",\n  "abstract": "bb"}\n]\n'
    result = tabular.parse_json("x.json", text)
    assert [(p.title, p.provenance) for p in result.papers] == [("A", ["x.json:2"]), ("B", ["x.json:4"])]
    broken = tabular.parse_json("x.json", '[\n {"title": "A", "abstract": "aa"},\n {"title": "B",, }\n]')
    assert [p.title for p in broken.papers] == ["A"]
    assert [(s.line, s.reason) for s in broken.skipped] == [(3, "malformed JSON")]


def test_arxiv_atom_feed():
    path, text = read("arxiv.xml")
    result = arxiv.parse(path, text)
    assert result.skipped == []
    assert [fields(p) for p in result.papers] == [
        {
            "title": "Tree of Thoughts: Deliberate Problem Solving with Large Language Models",
            "abstract": "Language models are increasingly deployed for general problem solving. "
            "We introduce a new framework, Tree of Thoughts.",
            "authors": ["Shunyu Yao", "Dian Yu"],
            "year": 2023,
            "venue": "NeurIPS 2023",
            "doi": "10.48550/arXiv.2305.10601",
            "arxiv_id": "2305.10601",
            "url": "http://arxiv.org/abs/2305.10601v2",
            "provenance": [f"{path}:6"],
        },
        {
            "title": "An Old-Style Identifier",
            "abstract": "Papers before 2007 have identifiers like hep-th/9901001.",
            "authors": ["Edward Witten"],
            "year": 1999,
            "venue": None,
            "doi": None,
            "arxiv_id": "hep-th/9901001",
            "url": "http://arxiv.org/abs/hep-th/9901001v1",
            "provenance": [f"{path}:22"],
        },
    ]


def test_arxiv_error_entry_and_malformed_feed():
    feed = (
        '<feed xmlns="http://www.w3.org/2005/Atom">\n<entry>\n<id>http://arxiv.org/api/errors#bad_id</id>\n'
        "<title>Error</title><summary>incorrect id format</summary></entry>\n</feed>"
    )
    result = arxiv.parse("f.xml", feed)
    assert result.papers == []
    assert [(s.line, s.reason, s.detail) for s in result.skipped] == [(2, "arXiv API error", "incorrect id format")]
    broken = arxiv.parse("g.xml", '<feed xmlns="http://www.w3.org/2005/Atom">\n<entry><title>x</title>\n</feed>')
    assert [(s.line, s.reason) for s in broken.skipped] == [(3, "malformed XML")]


def test_parser_choice_by_extension_then_content():
    assert choose("a.bib", "") is bibtex.parse
    assert choose("a.ris", "") is ris.parse
    assert choose("a.xml", "") is arxiv.parse
    assert choose("a.jsonl", "") is tabular.parse_jsonl
    assert sniff(read("refs.bib")[1]) is bibtex.parse
    assert sniff(read("refs.ris")[1]) is ris.parse
    assert sniff(read("arxiv.xml")[1]) is arxiv.parse
    assert sniff(read("papers.jsonl")[1]) is tabular.parse_json
    assert sniff(read("papers.csv")[1]) is tabular.parse_csv
    assert sniff(read("listing_b.txt")[1]).__module__.endswith("hfpapers")
    assert sniff("# Notes\n\n- a list\n- of things\n") is None


def test_bad_inputs_through_the_loader():
    result = load([FIXTURES / name for name in ("binary.bin", "cp1252.csv", "refs.ris", "papers.jsonl")])
    assert [(p.title, p.abstract) for p in result.papers if p.provenance[0].endswith("cp1252.csv:2")] == [
        ("Café “Quoted” Results", "An abstract that costs € 5 and mentions naïve methods.")
    ]
    assert [(Path(s.file).name, s.line, s.reason) for s in result.skipped] == [
        ("binary.bin", 0, "binary file"),
        ("papers.jsonl", 2, "malformed JSON line"),
        ("papers.jsonl", 5, "malformed JSON line"),
        ("papers.jsonl", 6, "no title"),
        ("refs.ris", 23, "no abstract"),
    ]
    assert result.warnings == [f"{FIXTURES / 'cp1252.csv'}:2: not valid UTF-8 (first bad byte on this line); read as cp1252"]
    assert result.records == len(result.papers) == 5


def test_over_long_fields_are_truncated_and_over_long_titles_skipped():
    path = str(FIXTURES / "long.jsonl")
    result = load([path], max_field_chars=60, max_title_chars=80)
    assert [(p.title, p.abstract) for p in result.papers] == [
        ("A Paper With A Very Long Abstract", "This abstract goes on and on and on and on, far past the lim")
    ]
    assert result.warnings == [f"{path}:1: abstract truncated from 80 to 60 characters"]
    assert [(s.file, s.line, s.reason, s.detail) for s in result.skipped] == [
        (path, 2, "title too long", "92 characters, limit 80")
    ]
    assert str(result.skipped[0]) == f"{path}:2: title too long (92 characters, limit 80)"


def test_latex_fast_path_agrees_with_pylatexenc():
    from pylatexenc.latex2text import LatexNodes2Text

    decoder = LatexNodes2Text(math_mode="verbatim", keep_braced_groups=False)
    for text in ["{BERT}: Pre-training", "5\\% of {A} \\& B", "a -- b --- c", "cost \\$5 and x\\_y", "{T}he {\\\"u}ber"]:
        assert bibtex.latex_to_text(text) == " ".join(decoder.latex_to_text(text).split()), text


def test_bare_percent_in_a_bibtex_value_is_text_not_a_latex_comment():
    text = "only 3% of the cost (at $0.03 each), M{\\\"u}ller shows 5\\% more"
    assert bibtex.latex_to_text(text) == "only 3% of the cost (at $0.03 each), Müller shows 5% more"
