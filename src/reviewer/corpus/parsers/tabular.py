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
object is skipped with its line number; the rest are still read. A JSON array saved as ``.jsonl`` is read as
an array (with a warning); a bad object inside an array is skipped and reading resumes at the next object.
A record whose text field is a list or an object is skipped (its repr is not a title). A CSV quote left
open (which would swallow every later row) is reported at its line and the rows after it are read.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
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
TEXT_FIELDS = ("title", "abstract", "venue", "doi", "arxiv_id", "url")
_NEXT_OBJECT = re.compile(r"\n[ \t]*,?[ \t]*\{")

# Huge fields are read whole and cut to the configured length by the loader (as for JSON), not dropped.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


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
    except (ValueError, RecursionError):
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
    """(first physical line, cells) of each non-blank row; a row the csv module rejects is a Skip. A row
    whose quote is never closed runs to the end of the file: it is a Skip at its line, and reading starts
    again on the line after it."""
    lines = text.split("\n")
    total = len(lines) - (1 if text.endswith("\n") else 0)
    offset = 0  # physical lines before the text the current reader reads

    def reader_from(line: int):
        return csv.reader(io.StringIO("\n".join(lines[line:]), newline=""), delimiter=delimiter)

    reader = reader_from(0)
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
        end = offset + reader.line_num  # quoted fields may span lines: line_num is the row's last line
        if end >= total and end > start and _quote_left_open("\n".join(lines[start - 1:]), delimiter):
            result.skipped.append(Skip(path, start, "malformed CSV row",
                                       "a quote opened on this line is never closed; the rows after it are read"))
            offset, end = start, start
            reader = reader_from(start)
            continue
        if any(cell.strip() for cell in row):
            yield start, row


def _quote_left_open(text: str, delimiter: str) -> bool:
    try:
        next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True), None)
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


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
    """One JSON object per line; a bad line is a Skip and the rest are read. A JSON array is read as one."""
    if text.lstrip().startswith("["):
        result = _parse_array(path, text)
        result.warnings.insert(0, f"{path}:1: a JSON array, not JSON Lines (one object per line); read as an array")
        return result
    result = ParseResult()
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as error:
            result.skipped.append(Skip(path, number, "malformed JSON line", getattr(error, "msg", str(error))))
            continue
        except RecursionError:
            result.skipped.append(Skip(path, number, "malformed JSON line", "nested too deeply to read"))
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
        except (ValueError, RecursionError) as error:
            detail = getattr(error, "msg", "nested too deeply to read")
            result.skipped.append(Skip(path, line, "malformed JSON", detail))
            resume = _NEXT_OBJECT.search(text, index + 1)
            if resume is None:
                return result
            index = resume.end() - 1  # at the next object's "{"
            continue
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
    values = {name: obj[keys[i]] for name, i in columns.items()}
    wrong = [name for name in TEXT_FIELDS if isinstance(values.get(name), (list, dict))]
    if wrong:
        kinds = ", ".join(f"{name} is {'a list' if isinstance(values[name], list) else 'an object'}" for name in wrong)
        result.skipped.append(Skip(path, line, "field not text", f"{kinds}; expected text"))
        return
    result.papers.append(_paper(path, line, values))


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
