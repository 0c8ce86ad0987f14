"""Load a retrieval test collection in BEIR layout.

A directory holding:

- ``corpus.jsonl``: one JSON object a line, ``{"_id", "title", "text"}`` (``title`` optional);
- ``queries.jsonl``: ``{"_id", "text"}``;
- ``qrels.tsv`` (or BEIR's ``qrels/<split>.tsv``): a header ``query-id  corpus-id  score``
  then one tab-separated judged pair a line; scores may be fractional and may be 0.

Malformed input raises :class:`reviewer.errors.ParseError` naming the file and line;
a missing directory or file raises :class:`reviewer.errors.InputError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reviewer.errors import InputError, ParseError

QRELS_HEADER = ("query-id", "corpus-id", "score")


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str

    @property
    def full_text(self) -> str:
        """``title + " " + text`` — what is indexed and embedded (stripped when a part is empty)."""
        return f"{self.title} {self.text}".strip()


@dataclass(frozen=True)
class Query:
    id: str
    text: str


@dataclass(frozen=True)
class BeirDataset:
    name: str
    corpus: dict[str, Document]
    queries: dict[str, Query]
    qrels: dict[str, dict[str, float]]
    """query id -> {document id -> score}, judged pairs only (scores of 0 included)."""

    def __repr__(self) -> str:
        return (
            f"BeirDataset({self.name!r}: {len(self.corpus)} documents, {len(self.queries)} queries, "
            f"{sum(len(j) for j in self.qrels.values())} judged pairs)"
        )


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers; undecodable bytes are a ParseError."""
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line.rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)) from exc


def _string_field(record: dict, key: str, path: Path, number: int, *, required: bool) -> str:
    if key not in record or record[key] is None:
        if required:
            raise ParseError(f'missing "{key}" field', file=str(path), line=number)
        return ""
    value = record[key]
    if key == "_id" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # some BEIR sets use numeric ids
    if not isinstance(value, str):
        raise ParseError(f'"{key}" must be a string, got {type(value).__name__}', file=str(path), line=number)
    if key == "_id" and not value.strip():
        raise ParseError('"_id" is empty', file=str(path), line=number)
    return value


def jsonl_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each non-blank line of a JSONL file; bad JSON or a non-object is a ParseError."""
    for number, line in _lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParseError(f"invalid JSON ({exc.msg}, column {exc.colno})", file=str(path), line=number) from exc
        if not isinstance(record, dict):
            raise ParseError(f"expected a JSON object, got {type(record).__name__}", file=str(path), line=number)
        yield number, record


def load_corpus(path: str | Path) -> dict[str, Document]:
    path = Path(path)
    corpus: dict[str, Document] = {}
    first_line: dict[str, int] = {}
    for number, record in jsonl_records(path):
        doc_id = _string_field(record, "_id", path, number, required=True)
        if doc_id in corpus:
            raise ParseError(f"duplicate _id {doc_id!r} (first on line {first_line[doc_id]})", file=str(path), line=number)
        title = _string_field(record, "title", path, number, required=False)
        text = _string_field(record, "text", path, number, required=True)
        corpus[doc_id] = Document(doc_id, title, text)
        first_line[doc_id] = number
    return corpus


def load_queries(path: str | Path) -> dict[str, Query]:
    path = Path(path)
    queries: dict[str, Query] = {}
    first_line: dict[str, int] = {}
    for number, record in jsonl_records(path):
        query_id = _string_field(record, "_id", path, number, required=True)
        if query_id in queries:
            raise ParseError(f"duplicate _id {query_id!r} (first on line {first_line[query_id]})", file=str(path), line=number)
        text = _string_field(record, "text", path, number, required=True)
        if not text.strip():
            raise ParseError(f"query {query_id!r} has empty text", file=str(path), line=number)
        queries[query_id] = Query(query_id, text)
        first_line[query_id] = number
    return queries


def load_qrels(path: str | Path) -> dict[str, dict[str, float]]:
    path = Path(path)
    qrels: dict[str, dict[str, float]] = {}
    lines = _lines(path)
    header = next(lines, None)
    if header is None:
        raise ParseError("empty file: expected a header 'query-id<TAB>corpus-id<TAB>score'", file=str(path))
    number, line = header
    if tuple(cell.strip() for cell in line.split("\t")) != QRELS_HEADER:
        raise ParseError(
            f"expected the header 'query-id<TAB>corpus-id<TAB>score', got {line!r}", file=str(path), line=number
        )
    for number, line in lines:
        cells = line.split("\t")
        if len(cells) != 3:
            raise ParseError(
                f"expected 3 tab-separated columns (query-id, corpus-id, score), got {len(cells)}",
                file=str(path),
                line=number,
            )
        query_id, doc_id, raw_score = (cell.strip() for cell in cells)
        if not query_id or not doc_id:
            raise ParseError("empty query-id or corpus-id", file=str(path), line=number)
        try:
            score = float(raw_score)
        except ValueError:
            raise ParseError(f"score {raw_score!r} is not a number", file=str(path), line=number) from None
        if not math.isfinite(score):
            raise ParseError(f"score {raw_score!r} is not a finite number", file=str(path), line=number)
        judged = qrels.setdefault(query_id, {})
        if doc_id in judged:
            raise ParseError(f"pair ({query_id}, {doc_id}) is judged twice", file=str(path), line=number)
        judged[doc_id] = score
    return qrels


def _qrels_path(root: Path, split: str) -> Path:
    candidates = [root / "qrels.tsv", root / "qrels" / f"{split}.tsv"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise InputError(f"{root}: no qrels file; expected {candidates[0]} or {candidates[1]}")


def load_beir(path: str | Path, split: str = "test", *, check_ids: bool = True) -> BeirDataset:
    """Load a BEIR-layout directory.

    ``split`` picks ``qrels/<split>.tsv`` when there is no top-level ``qrels.tsv``. With
    ``check_ids`` (the default) a qrels row naming a query or document that is not in the
    queries or corpus file is an error; otherwise such rows are kept as they are.
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory; give the folder holding corpus.jsonl, queries.jsonl and qrels")
    for name in ("corpus.jsonl", "queries.jsonl"):
        if not (root / name).is_file():
            raise InputError(f"{root}: missing {name}")
    corpus = load_corpus(root / "corpus.jsonl")
    queries = load_queries(root / "queries.jsonl")
    qrels_path = _qrels_path(root, split)
    qrels = load_qrels(qrels_path)
    if check_ids:
        _check_qrels_ids(qrels_path, qrels, queries, corpus)
    return BeirDataset(root.name, corpus, queries, qrels)


def _check_qrels_ids(path: Path, qrels: dict, queries: dict, corpus: dict) -> None:
    # Re-read for line numbers only when something is wrong (the common case costs nothing).
    bad = any(q not in queries or any(d not in corpus for d in judged) for q, judged in qrels.items())
    if not bad:
        return
    lines = _lines(path)
    next(lines)
    for number, line in lines:
        query_id, doc_id = (cell.strip() for cell in line.split("\t")[:2])
        if query_id not in queries:
            raise ParseError(f"query-id {query_id!r} is not in queries.jsonl", file=str(path), line=number)
        if doc_id not in corpus:
            raise ParseError(f"corpus-id {doc_id!r} is not in corpus.jsonl", file=str(path), line=number)


__all__ = [
    "Document",
    "Query",
    "BeirDataset",
    "load_beir",
    "load_corpus",
    "load_queries",
    "load_qrels",
]
