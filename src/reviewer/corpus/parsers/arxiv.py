"""arXiv API Atom feeds (export.arxiv.org/api/query results saved as .xml / .atom).

Per ``<entry>``: title, summary (abstract), author names, the year of ``<published>``, the arXiv id
from ``<id>`` (version dropped), ``arxiv:doi``, ``arxiv:journal_ref`` as venue, and the abstract page
link as url. Provenance is the line of the ``<entry>`` tag. An arXiv API error entry is skipped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.parsers import expat

from reviewer.corpus.model import ParseResult, Skip
from reviewer.corpus.parsers._common import clean, first_year, make_paper

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


def looks_like(text: str) -> bool:
    """True for an Atom feed."""
    head = text[:3000]
    return "<feed" in head and "http://www.w3.org/2005/Atom" in head


def parse(path: str, text: str) -> ParseResult:
    """Every entry of one feed; a feed that is not well-formed XML is one Skip at the error's line."""
    result = ParseResult()
    try:
        root = ET.fromstring(text)
        lines = _entry_lines(text)
    except (ET.ParseError, expat.ExpatError) as error:
        line = getattr(error, "position", (getattr(error, "lineno", 0), 0))[0]
        result.skipped.append(Skip(path, line, "malformed XML", str(error)))
        return result
    for entry, line in zip(root.iter(f"{ATOM}entry"), lines):
        _add_entry(result, path, line, entry)
    return result


def _entry_lines(text: str) -> list[int]:
    """Line of each <entry> start tag, in document order (ElementTree does not keep line numbers)."""
    parser = expat.ParserCreate(namespace_separator="}")
    lines: list[int] = []

    def start(name, _attrs):
        if name == "http://www.w3.org/2005/Atom}entry":
            lines.append(parser.CurrentLineNumber)

    parser.StartElementHandler = start
    parser.Parse(text, True)
    return lines


def _add_entry(result: ParseResult, path: str, line: int, entry: ET.Element) -> None:
    entry_id = _text(entry, f"{ATOM}id")
    if "/api/errors" in entry_id:
        result.skipped.append(Skip(path, line, "arXiv API error", _text(entry, f"{ATOM}summary")))
        return
    result.papers.append(
        make_paper(
            path,
            line,
            title=_text(entry, f"{ATOM}title"),
            abstract=_text(entry, f"{ATOM}summary"),
            authors=_authors(entry),
            year=first_year(_text(entry, f"{ATOM}published") or _text(entry, f"{ATOM}updated")),
            venue=_text(entry, f"{ARXIV}journal_ref") or None,
            doi=_text(entry, f"{ARXIV}doi"),
            arxiv_id=entry_id if "arxiv.org/abs/" in entry_id else None,
            url=_abstract_link(entry) or entry_id or None,
        )
    )


def _authors(entry: ET.Element) -> list[str]:
    names = (_text(author, f"{ATOM}name") for author in entry.findall(f"{ATOM}author"))
    return [name for name in names if name]


def _text(element: ET.Element, tag: str) -> str:
    return clean(element.findtext(tag))


def _abstract_link(entry: ET.Element) -> str | None:
    for link in entry.findall(f"{ATOM}link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link.get("href")
    return None
