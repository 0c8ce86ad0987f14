"""Read files and folders of papers in any supported format into one deduplicated list of Papers.

Every path is checked before anything is read: a missing one raises :class:`InputError`. Folders are
walked recursively, hidden files and folders left out. The parser is chosen by extension, else by
content (see :mod:`reviewer.corpus.parsers`). Nothing bad in the input stops the load: each problem
becomes a :class:`Skip` (``line`` 0 means the whole file) or a warning, both naming file and line.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reviewer.corpus.dedupe import dedupe
from reviewer.corpus.model import Paper, ParseResult, Skip
from reviewer.corpus.parsers import choose
from reviewer.errors import InputError

FALLBACK_ENCODINGS = ("cp1252", "latin-1")
FORMATS_HINT = "expected BibTeX, RIS, CSV/TSV, JSON Lines, an arXiv Atom feed or a Hugging Face Papers listing"
_TEXT_FIELDS = ("title", "abstract", "venue", "doi", "arxiv_id", "url")


@dataclass
class LoadResult:
    """What :func:`load` read.

    ``papers``: unique papers, no keys yet, in file order then record order. ``records``: the valid
    records before dedupe (so ``records - len(papers)`` were merged as duplicates). ``files``: every
    file examined, sorted, including those skipped whole.
    """

    papers: list[Paper] = field(default_factory=list)
    records: int = 0
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Limits:
    field_chars: int
    title_chars: int


def load(
    paths: Sequence[str | os.PathLike[str]], *, max_field_chars: int = 20_000, max_title_chars: int = 1_000
) -> LoadResult:
    """Papers from every file under ``paths``, deduplicated by DOI, arXiv id and normalized title."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    check_paths_exist(paths)
    result = LoadResult()
    limits = _Limits(max_field_chars, max_title_chars)
    valid: list[Paper] = []
    for display, path in list_files(paths, result.skipped):
        result.files.append(display)
        valid.extend(_load_file(display, path, limits, result))
    result.records = len(valid)
    result.papers, warnings = dedupe(valid)
    result.warnings.extend(warnings)
    return result


def check_paths_exist(paths: Iterable[str | os.PathLike[str]]) -> None:
    """Raise InputError naming every path that does not exist (before anything is read)."""
    missing = [os.fspath(p) for p in paths if not os.path.exists(p)]
    if missing:
        raise InputError(f"No such file or directory: {', '.join(missing)}. Check the path; nothing was read.")


def list_files(paths: Iterable[str | os.PathLike[str]], skipped: list[Skip]) -> list[tuple[str, Path]]:
    """(path as shown, path) of every file to read, sorted, each once; an empty folder is a Skip."""
    found: dict[Path, str] = {}
    for given in paths:
        shown = os.fspath(given)
        if os.path.isdir(given):
            inside = list(_walk(shown))
            if not inside:
                skipped.append(Skip(shown, 0, "no records", "empty directory"))
            for name in inside:
                found.setdefault(Path(name).resolve(), name)
        else:
            found.setdefault(Path(shown).resolve(), shown)
    return sorted(((shown, path) for path, shown in found.items()), key=lambda item: item[0])


def _walk(top: str) -> Iterable[str]:
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(root, name)


def _load_file(display: str, path: Path, limits: _Limits, result: LoadResult) -> list[Paper]:
    """The valid records of one file; its skips and warnings go into ``result``."""
    text = _read_text(display, path, result)
    if text is None:
        return []
    parser = choose(display, text)
    if parser is None:
        result.skipped.append(Skip(display, 0, "unknown format", FORMATS_HINT))
        return []
    parsed: ParseResult = parser(display, text)
    if not parsed.papers and not parsed.skipped:
        parsed.skipped.append(Skip(display, 0, "no records", "no paper found in this file"))
    kept = [p for p in parsed.papers if _checked(p, limits, parsed)]
    result.skipped.extend(sorted(parsed.skipped, key=lambda s: s.line))
    result.warnings.extend(parsed.warnings)
    return kept


def _read_text(display: str, path: Path, result: LoadResult) -> str | None:
    """The file as text with '\\n' line ends, or None (after recording a Skip) when it cannot be text."""
    if not path.is_file():
        result.skipped.append(Skip(display, 0, "unreadable", "not a regular file"))
        return None
    try:
        data = path.read_bytes()
    except OSError as error:
        result.skipped.append(Skip(display, 0, "unreadable", error.strerror or str(error)))
        return None
    text = decode(display, data, result.warnings)
    if text is None:
        result.skipped.append(Skip(display, 0, "binary file", "contains NUL bytes"))
        return None
    if not text.strip():
        result.skipped.append(Skip(display, 0, "no records", "empty file"))
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode(display: str, data: bytes, warnings: list[str]) -> str | None:
    """UTF-8 (BOM allowed), UTF-16 with a BOM, else cp1252 then latin-1 with a warning; None for binary."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            return None
        warnings.append(f"{display}:1: not UTF-8; read as utf-16 (byte-order mark)")
        return text
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
    for encoding in FALLBACK_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        warnings.append(f"{display}:{line}: not valid UTF-8 (first bad byte on this line); read as {encoding}")
        return text
    return None  # unreachable: latin-1 decodes any bytes


def _checked(paper: Paper, limits: _Limits, parsed: ParseResult) -> bool:
    """Whether the record is usable; skips it (or truncates over-long fields, with a warning) otherwise."""
    where = paper.provenance[0]
    file, line = _split_place(where)
    reason = _rejection(paper, limits)
    if reason:
        parsed.skipped.append(Skip(file, line, reason, _skip_detail(paper, reason, limits)))
        return False
    for name in _TEXT_FIELDS:
        value = getattr(paper, name)
        if value and len(value) > limits.field_chars:
            setattr(paper, name, value[: limits.field_chars])
            parsed.warnings.append(f"{where}: {name} truncated from {len(value)} to {limits.field_chars} characters")
    if any(len(a) > limits.field_chars for a in paper.authors):
        paper.authors = [a[: limits.field_chars] for a in paper.authors]
        parsed.warnings.append(f"{where}: author name truncated to {limits.field_chars} characters")
    return True


def _rejection(paper: Paper, limits: _Limits) -> str | None:
    if not paper.title.strip():
        return "no title"
    if len(paper.title) > limits.title_chars:
        return "title too long"
    if not paper.abstract.strip():
        return "no abstract"
    return None


def _skip_detail(paper: Paper, reason: str, limits: _Limits) -> str:
    if reason == "title too long":
        return f"{len(paper.title)} characters, limit {limits.title_chars}"
    return paper.abstract[:80] if reason == "no title" else paper.title[:80]


def _split_place(place: str) -> tuple[str, int]:
    file, _, line = place.rpartition(":")
    return (file, int(line)) if line.isdigit() else (place, 0)
