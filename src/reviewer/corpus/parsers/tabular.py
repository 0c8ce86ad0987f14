"""CSV / TSV and JSON Lines (or a JSON array) of paper records.

Column names are matched case-insensitively, ignoring spaces, '-' and '_'. Recognized columns
(first alias present wins):

=========  ==============================================
title      title
abstract   abstract, summary, description
authors    authors, author (a list, or a string separated by ';' or ' and ')
year       year, date, published (the first 4-digit year is taken)
venue      venue, journal, booktitle
doi        doi
arxiv_id   arxiv_id, arxiv, eprint
url        url, link
=========  ==============================================

Other columns are ignored. Each record's provenance is the line it starts on: for CSV the physical
line (quoted fields may span lines), for JSON Lines the line of the object. A line that is not a JSON
object is skipped with its line number; the rest are still read.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from reviewer.corpus.model import ParseResult, Skip
from reviewer.corpus.parsers._common import first_year, make_paper, split_authors

ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "abstract": ("abstract", "summary", "description"),
    "authors": ("authors", "author"),
    "year": ("year", "date", "published"),
    "venue": ("venue", "journal", "booktitle"),
    "doi": ("doi",),
    "arxiv_id": ("arxivid", "arxiv", "eprint"),
    "url": ("url", "link"),
}
_DELIMITERS = (",", ";", "\t")


def looks_like(text: str) -> bool:
    """True for JSON records or a CSV/TSV whose header has a title column."""
    return looks_like_json(text) or looks_like_csv(text)


def looks_like_json(text: str) -> bool:
    start = text.lstrip()[:1]
    if start == "[":
        return True
    first = next((line for line in text.split("\n", 50)[:50] if line.strip()), "")
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False


def looks_like_csv(text: str) -> bool:
    header = text.split("\n", 1)[0]
    row = next(csv.reader([header], delimiter=_delimiter(header)), [])
    return "title" in _column_map(row)


def parse(path: str, text: str) -> ParseResult:
    """JSON when the content starts like JSON, else CSV (delimiter from the header line)."""
    if path.lower().endswith((".tsv", ".tab")):
        return parse_csv(path, text, delimiter="\t")
    return parse_json(path, text) if looks_like_json(text) else parse_csv(path, text)


# --- CSV ---------------------------------------------------------------------------------------


def parse_csv(path: str, text: str, delimiter: str | None = None) -> ParseResult:
    """Rows of a CSV/TSV file with a header row; the delimiter is guessed from the header if not given."""
    result = ParseResult()
    rows = _numbered_rows(path, text, delimiter or _delimiter(text.split("\n", 1)[0]), result)
    header = next(rows, None)
    if header is None:
        return result
    columns = _column_map(header[1])
    if "title" not in columns:
        result.skipped.append(Skip(path, header[0], "no title column", "header: " + ", ".join(header[1])[:200]))
        return result
    for start, row in rows:
        values = {name: row[i] for name, i in columns.items() if i < len(row)}
        result.papers.append(_paper(path, start, values))
    return result


def _numbered_rows(path: str, text: str, delimiter: str, result: ParseResult):
    """(first physical line, cells) of each non-blank row; a row the csv module rejects is a Skip."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            result.skipped.append(Skip(path, start, "malformed CSV row", str(error)))
            row = []
        end = reader.line_num  # quoted fields may span lines: line_num is the row's last line
        if any(cell.strip() for cell in row):
            yield start, row


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _column_map(header: list[str]) -> dict[str, int]:
    """Our field name -> column index, for the columns the header names."""
    index = {_norm(name): i for i, name in reversed(list(enumerate(header)))}
    found = {}
    for field, aliases in ALIASES.items():
        for alias in aliases:
            if alias in index:
                found[field] = index[alias]
                break
    return found


def _norm(name: str) -> str:
    return "".join(ch for ch in str(name).strip().lower().lstrip("\ufeff") if ch not in " -_")


# --- JSON ----------------------------------------------------------------------------------------


def parse_json(path: str, text: str) -> ParseResult:
    """A JSON array of objects, or JSON Lines (one object per line)."""
    if text.lstrip().startswith("["):
        return _parse_array(path, text)
    return parse_jsonl(path, text)


def parse_jsonl(path: str, text: str) -> ParseResult:
    """One JSON object per line; a bad line is a Skip and the rest are read."""
    result = ParseResult()
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as error:
            result.skipped.append(Skip(path, number, "malformed JSON line", getattr(error, "msg", str(error))))
            continue
        _add_object(result, path, number, obj)
    return result


def _parse_array(path: str, text: str) -> ParseResult:
    """Objects of a top-level JSON array, each with the line it starts on."""
    result = ParseResult()
    decoder = json.JSONDecoder()
    index, line, counted = text.index("[") + 1, 1, 0
    while True:
        index = _skip_separators(text, index)
        if index >= len(text) or text[index] == "]":
            return result
        line += text.count("\n", counted, index)
        counted = index
        try:
            obj, index = decoder.raw_decode(text, index)
        except ValueError as error:
            detail = getattr(error, "msg", str(error))
            result.skipped.append(Skip(path, getattr(error, "lineno", line), "malformed JSON", detail))
            return result
        _add_object(result, path, line, obj)


def _skip_separators(text: str, index: int) -> int:
    while index < len(text) and (text[index].isspace() or text[index] == ","):
        index += 1
    return index


def _add_object(result: ParseResult, path: str, line: int, obj: Any) -> None:
    if not isinstance(obj, dict):
        result.skipped.append(Skip(path, line, "malformed JSON line", f"expected an object, got {type(obj).__name__}"))
        return
    columns = _column_map(list(obj))
    keys = list(obj)
    result.papers.append(_paper(path, line, {name: obj[keys[i]] for name, i in columns.items()}))


# --- both ----------------------------------------------------------------------------------------


def _paper(path: str, line: int, values: dict[str, Any]):
    return make_paper(
        path,
        line,
        title=values.get("title"),
        abstract=values.get("abstract"),
        authors=split_authors(values.get("authors")),
        year=first_year(values.get("year")),
        venue=values.get("venue"),
        doi=values.get("doi"),
        arxiv_id=values.get("arxiv_id"),
        url=values.get("url"),
    )
