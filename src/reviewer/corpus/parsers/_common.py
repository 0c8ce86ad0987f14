"""Helpers shared by the parsers: whitespace, years, author names, building a Paper."""

from __future__ import annotations

import re
from typing import Any

from reviewer.corpus.model import Paper, normalize_arxiv_id
from reviewer.text import strip_control

_SPACE = re.compile(r"\s+")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|2100)(?!\d)")
_AND = re.compile(r"\s+and\s+", re.I)
_DOI_PREFIX = re.compile(r"^((https?://)?(dx\.)?doi\.org/|doi:\s*)", re.I)


def clean(value: Any) -> str:
    """A field as one line of text: runs of whitespace (newlines included) become one space; terminal escape
    sequences and control characters are removed."""
    if value is None:
        return ""
    return _SPACE.sub(" ", strip_control(str(value))).strip()


def clean_doi(value: Any) -> str | None:
    """A DOI without its URL or 'doi:' prefix, case kept (compare DOIs with ``normalize_doi``)."""
    return _DOI_PREFIX.sub("", clean(value)) or None


def first_year(value: Any) -> int | None:
    """The first plausible 4-digit year in ``value`` ('2024-05-01', 'May 2024', 2024 -> 2024)."""
    match = _YEAR.search(clean(value))
    return int(match.group(1)) if match else None


def first_last(name: str) -> str:
    """'Devlin, Jacob' -> 'Jacob Devlin'; 'Jacob Devlin' unchanged. Authors are stored 'First Last'."""
    name = clean(name)
    parts = [p.strip() for p in name.split(",")]
    if len(parts) == 2 and parts[0] and parts[1]:
        return f"{parts[1]} {parts[0]}"
    if len(parts) == 3 and all(parts):  # 'Last, Jr., First'
        return f"{parts[2]} {parts[0]} {parts[1]}"
    return name


def split_authors(value: Any) -> list[str]:
    """Authors from a list or a string separated by ';', ' and ' or (when every part is a full name) ','."""
    if isinstance(value, list):
        names = [_name_from_item(item) for item in value]
    else:
        names = _split_author_string(clean(value))
    return [n for n in (first_last(n) for n in names) if n]


def _name_from_item(item: Any) -> str:
    if isinstance(item, dict):
        if item.get("name"):
            return clean(item["name"])
        given = item.get("given") or item.get("first") or ""
        family = item.get("family") or item.get("last") or ""
        return clean(f"{given} {family}")
    return clean(item)


def _split_author_string(text: str) -> list[str]:
    if not text:
        return []
    if ";" in text:
        return [p for p in (s.strip() for s in text.split(";")) if p]
    if _AND.search(text):
        return [p.strip().rstrip(",") for p in _AND.split(text) if p.strip()]
    parts = [p.strip() for p in text.split(",") if p.strip()]
    # 'Jacob Devlin, Ming-Wei Chang' is a list; 'Devlin, Jacob' is one inverted name.
    if len(parts) > 1 and all(" " in p for p in parts):
        return parts
    return [text]


def make_paper(path: str, line: int, **fields: Any) -> Paper:
    """A Paper with cleaned fields and provenance ``path:line``."""
    return Paper(
        title=clean(fields.get("title")),
        abstract=clean(fields.get("abstract")),
        authors=list(fields.get("authors") or []),
        year=fields.get("year"),
        venue=clean(fields.get("venue")) or None,
        doi=clean_doi(fields.get("doi")),
        arxiv_id=normalize_arxiv_id(clean(fields.get("arxiv_id"))),
        url=clean(fields.get("url")) or None,
        provenance=[f"{path}:{line}"],
    )

