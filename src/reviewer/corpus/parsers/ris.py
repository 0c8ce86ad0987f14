"""RIS files, read with rispy, one record at a time so each keeps the line of its ``TY`` tag.

Fields: TI or T1 (title), AB or N2 (abstract), AU or A1 (authors, stored "First Last"), PY or Y1 or DA
(year), JO / T2 / JF / JA / J2 (venue, first present), DO (doi), UR (url; an arxiv.org URL also gives
the arXiv id). A record with no ``ER`` line (a truncated file) is still read, with a warning.
"""

from __future__ import annotations

import re

from reviewer.corpus.model import ParseResult, Skip
from reviewer.corpus.parsers._common import clean, first_year, make_paper, split_authors

_TY = re.compile(r"^TY  -", re.M)
_ER = re.compile(r"^ER  -", re.M)
_ARXIV_URL = re.compile(r"arxiv\.org/(abs|pdf)/([^\s?#]+)", re.I)
_VENUE_KEYS = ("journal_name", "secondary_title", "alternate_title3", "alternate_title2", "alternate_title1")


def looks_like(text: str) -> bool:
    """True when a line starts with the RIS record tag ``TY  -``."""
    return bool(_TY.search(text[:200_000]))


def parse(path: str, text: str) -> ParseResult:
    """Every record of one RIS file, in file order."""
    result = ParseResult()
    for line, chunk in _records(text):
        if not _ER.search(chunk):
            result.warnings.append(f"{path}:{line}: RIS record has no 'ER  -' end tag; read up to the next record")
            chunk += "\nER  - \n"
        record = _load_one(chunk)
        if record is None:
            result.skipped.append(Skip(path, line, "malformed RIS record"))
        else:
            result.papers.append(_paper(path, line, record))
    return result


def _records(text: str):
    """(1-based line of TY, text of the record) for each record; text before the first TY is ignored."""
    starts = [m.start() for m in _TY.finditer(text)]
    line = text.count("\n", 0, starts[0]) + 1 if starts else 0
    for start, end in zip(starts, [*starts[1:], len(text)]):
        chunk = text[start:end]
        yield line, chunk
        line += chunk.count("\n")


def _load_one(chunk: str) -> dict | None:
    import rispy

    try:
        records = rispy.loads(chunk)
    except (rispy.parser.ParseError, KeyError, ValueError):
        return None
    return records[0] if records else None


def _first(record: dict, *names: str):
    for name in names:
        value = record.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if value and clean(value):
            return value
    return None


def _paper(path: str, line: int, record: dict):
    urls = record.get("urls") or []
    return make_paper(
        path,
        line,
        title=_first(record, "title", "primary_title"),
        abstract=_first(record, "abstract", "notes_abstract"),
        authors=split_authors(record.get("authors") or record.get("first_authors") or []),
        year=first_year(_first(record, "year", "publication_year", "date")),
        venue=_first(record, *_VENUE_KEYS),
        doi=_first(record, "doi"),
        arxiv_id=_arxiv_from_urls(urls),
        url=urls[0] if urls else None,
    )


def _arxiv_from_urls(urls: list[str]) -> str | None:
    for url in urls:
        if match := _ARXIV_URL.search(url):
            return match.group(2)
    return None
