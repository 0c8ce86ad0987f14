"""Read files and folders of papers in any supported format into one deduplicated list of Papers.

Every path is checked before anything is read: a missing one raises :class:`InputError`. Folders are
walked recursively; hidden files and folders are not read but reported (a Skip each). Links are followed
once: a link loop or a dangling link is a Skip. The parser is chosen by extension, else by content (see
:mod:`reviewer.corpus.parsers`). Nothing bad in the input stops the load: each problem becomes a
:class:`Skip` (``line`` 0 means the whole file) or a warning, both naming file and line. A record's text
is cleaned of NUL bytes and lone surrogates (with a warning); a file whose parser fails outright is a Skip.
"""

from __future__ import annotations

import codecs
import os
import re
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
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_ENCODING_WARNINGS = 20


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
    """(path as shown, path) of every file to read, sorted, each once; an empty folder, a hidden file or
    folder met in a walk, a link loop and a dangling link are Skips."""
    found: dict[Path, str] = {}
    for given in paths:
        shown = os.fspath(given)
        if os.path.isdir(given):
            inside = list(_walk(shown, skipped))
            if not inside and not any(s.file.startswith(shown) for s in skipped):
                skipped.append(Skip(shown, 0, "no records", "empty directory"))
            for name in inside:
                _add_file(found, name, skipped)
        else:
            _add_file(found, shown, skipped)
    return sorted(((shown, path) for path, shown in found.items()), key=lambda item: item[0])


def _add_file(found: dict[Path, str], shown: str, skipped: list[Skip]) -> None:
    try:
        real = Path(shown).resolve(strict=True)
    except FileNotFoundError:
        skipped.append(Skip(shown, 0, "unreadable", "dangling link: its target does not exist"))
        return
    except (RuntimeError, OSError) as error:  # a link loop (RuntimeError, or ELOOP)
        skipped.append(Skip(shown, 0, "unreadable", f"link loop ({getattr(error, 'strerror', None) or error})"))
        return
    found.setdefault(real, shown)


def _walk(top: str, skipped: list[Skip]) -> Iterable[str]:
    """Files under ``top``, following links to folders once each (a folder reached again is a link loop)."""
    seen: set[str] = set()
    stack = [top]
    while stack:
        folder = stack.pop()
        real = os.path.realpath(folder)
        if real in seen:
            skipped.append(Skip(folder, 0, "unreadable", "link loop: this folder was already read"))
            continue
        seen.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            skipped.append(Skip(folder, 0, "unreadable", error.strerror or str(error)))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                kind = "hidden folder" if _is_dir(entry) else "hidden file"
                skipped.append(Skip(entry.path, 0, kind, "not read; name it explicitly to read it"))
            elif _is_dir(entry):
                subfolders.append(entry.path)
            else:
                yield entry.path
        stack.extend(reversed(subfolders))


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows links; a loop or dangling link is not a folder
    except OSError:
        return False


def _load_file(display: str, path: Path, limits: _Limits, result: LoadResult) -> list[Paper]:
    """The valid records of one file; its skips and warnings go into ``result``."""
    text = _read_text(display, path, result)
    if text is None:
        return []
    try:
        parser = choose(display, text)
        if parser is None:
            result.skipped.append(Skip(display, 0, "unknown format", FORMATS_HINT))
            return []
        parsed: ParseResult = parser(display, text)
    except RecursionError:
        result.skipped.append(Skip(display, 0, "unreadable", "nested too deeply to read"))
        return []
    except Exception as error:  # a parser bug must not cost the other files their papers
        result.skipped.append(Skip(display, 0, "unreadable", f"{type(error).__name__}: {str(error)[:160]}"))
        return []
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
    """UTF-8 (BOM allowed), UTF-16 with a BOM; a line that is not UTF-8 is read as cp1252 (else latin-1) with a
    warning naming it, the other lines stay UTF-8. None for binary (NUL bytes with many other control bytes, or
    more than 1% NULs); a few NUL bytes in a text file are removed with a warning naming their lines."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            return None
        warnings.append(f"{display}:1: not UTF-8; read as utf-16 (byte-order mark)")
        return text
    nuls = data.count(b"\x00")
    if nuls and _looks_binary(data, nuls):
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _decode_lines(display, data, warnings)
    if nuls:
        lines = [n for n, line in enumerate(text.split("\n"), 1) if "\x00" in line]
        warnings.append(f"{display}:{lines[0]}: {nuls} NUL byte(s) removed (on line(s) "
                        f"{', '.join(map(str, lines[:10]))}{', ...' if len(lines) > 10 else ''})")
        text = text.replace("\x00", "")
    return text


_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0c\x1b")


def _looks_binary(data: bytes, nuls: int) -> bool:
    """More than 1% NUL bytes, or NULs among many other control bytes (a PDF, an image, a compressed file)."""
    if nuls * 100 > len(data):
        return True
    sample = data[:65536]
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls * 20 > len(sample)


def _decode_lines(display: str, data: bytes, warnings: list[str]) -> str:
    """Line by line: UTF-8 where it is valid, cp1252 (or latin-1, which decodes any byte) where it is not."""
    lines, bad = [], 0
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            lines.append(raw.decode("utf-8"))
            continue
        except UnicodeDecodeError:
            pass
        for encoding in FALLBACK_ENCODINGS:
            try:
                lines.append(raw.decode(encoding))
                break
            except UnicodeDecodeError:
                continue
        bad += 1
        if bad <= MAX_ENCODING_WARNINGS:
            warnings.append(f"{display}:{number}: not valid UTF-8 (first bad byte on this line); read as {encoding}")
    if bad > MAX_ENCODING_WARNINGS:
        warnings.append(f"{display}: {bad - MAX_ENCODING_WARNINGS} more line(s) not valid UTF-8")
    return "\n".join(lines).removeprefix("\ufeff")


def _checked(paper: Paper, limits: _Limits, parsed: ParseResult) -> bool:
    """Whether the record is usable; skips it (or truncates over-long fields, with a warning) otherwise."""
    where = paper.provenance[0]
    file, line = _split_place(where)
    _clean_surrogates(paper, where, parsed)
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


def _clean_surrogates(paper: Paper, where: str, parsed: ParseResult) -> None:
    """Lone surrogates (from a JSON "\\ud83d") cannot be encoded, tokenised or stored: each becomes U+FFFD."""
    changed = []
    for name in _TEXT_FIELDS:
        value = getattr(paper, name)
        if value and _SURROGATE.search(value):
            setattr(paper, name, _SURROGATE.sub("\ufffd", value))
            changed.append(name)
    if any(_SURROGATE.search(a) for a in paper.authors):
        paper.authors = [_SURROGATE.sub("\ufffd", a) for a in paper.authors]
        changed.append("authors")
    if changed:
        parsed.warnings.append(f"{where}: invalid character (lone surrogate) replaced in {', '.join(changed)}")


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
