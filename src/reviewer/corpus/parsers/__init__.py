"""One parser module per source format. Each has ``parse(path, text) -> ParseResult`` and ``looks_like(text)``.

:func:`choose` picks the parser for a file: by extension, else by content. ``.txt`` / ``.md`` files
are sniffed (reference managers export RIS and BibTeX as .txt; listing pages are .txt) rather than
assumed to be listing pages, so a README in a walked folder is reported, not read as papers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from reviewer.corpus.model import ParseResult
from reviewer.corpus.parsers import arxiv, bibtex, hfpapers, ris, tabular

Parser = Callable[[str, str], ParseResult]


def _tsv(path: str, text: str) -> ParseResult:
    return tabular.parse_csv(path, text, delimiter="\t")


BY_EXTENSION: dict[str, Parser] = {
    ".bib": bibtex.parse,
    ".bibtex": bibtex.parse,
    ".ris": ris.parse,
    ".csv": tabular.parse_csv,
    ".tsv": _tsv,
    ".tab": _tsv,
    ".jsonl": tabular.parse_jsonl,
    ".ndjson": tabular.parse_jsonl,
    ".json": tabular.parse_json,
    ".xml": arxiv.parse,
    ".atom": arxiv.parse,
}

# Most specific signature first: the listing-page and CSV checks are the loosest.
SNIFFERS: list[tuple[Callable[[str], bool], Parser]] = [
    (arxiv.looks_like, arxiv.parse),
    (ris.looks_like, ris.parse),
    (bibtex.looks_like, bibtex.parse),
    (tabular.looks_like_json, tabular.parse_json),
    (hfpapers.looks_like, hfpapers.parse),
    (tabular.looks_like_csv, tabular.parse_csv),
]


def sniff(text: str) -> Parser | None:
    """The parser whose format the content looks like, or None."""
    for looks_like, parser in SNIFFERS:
        if looks_like(text):
            return parser
    return None


def choose(path: str, text: str) -> Parser | None:
    """The parser for ``path``: its extension decides, else its content; None when nothing fits."""
    suffix = PurePath(path).suffix.lower()
    if suffix in BY_EXTENSION:
        return BY_EXTENSION[suffix]
    return sniff(text)


__all__ = ["arxiv", "bibtex", "hfpapers", "ris", "tabular", "choose", "sniff", "BY_EXTENSION"]
