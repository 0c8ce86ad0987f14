"""BibTeX files, read with bibtexparser 2 (LaTeX decoded with pylatexenc, which bibtexparser uses).

Fields: title, abstract, author (split on " and " by bibtexparser, stored "First Last" like every other
format), year (or date), journal / booktitle as venue, doi, eprint as arXiv id (when archivePrefix or
eprinttype is arXiv, or the eprint looks like an arXiv id; also "arXiv:NNNN.NNNNN" in journal), url.
Braces and LaTeX markup are removed from text fields ("{BERT}" -> "BERT", "M{\\"u}ller" -> "Müller").

bibtexparser keeps going after a syntax error and reports the broken block in
``library.failed_blocks`` with a 0-based ``start_line``: each becomes a Skip at the entry's 1-based line.
A second entry with an already used citation key is still read (dedupe decides), with a warning.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from reviewer.corpus.model import ParseResult, Skip
from reviewer.corpus.parsers._common import clean, first_year, make_paper

# bibtexparser logs every failed block; we report them as Skips, so keep its logger quiet by default.
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())

_ENTRY_START = re.compile(r"^[ \t]*@[ \t]*(?!(comment|preamble|string)\b)[A-Za-z]+\s*[{(]", re.M | re.I)
_ARXIV_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})(v\d+)?$", re.I)
_ARXIV_IN_TEXT = re.compile(r"arxiv:\s*(\d{4}\.\d{4,5})", re.I)
_BARE_SPECIAL = {char: re.compile(rf"(?<!\\)\{char}") for char in "%$"}
_SIMPLE_ESCAPE = re.compile(r"\\([%&_#$])")
_NEEDS_LATEX = re.compile(r"\\(?![%&_#$])|(?<!\\)\$")  # a macro or an accent, or math


def looks_like(text: str) -> bool:
    """True when a line starts a BibTeX entry ("@article{...")."""
    return bool(_ENTRY_START.search(text[:200_000]))


def parse(path: str, text: str) -> ParseResult:
    """Every entry of one .bib file; broken entries become Skips and the rest is still read.

    Values are read raw and expanded here: ``@string`` macros, month names and ``#`` concatenation
    (``title = pre # " and more"``) become the text they stand for.
    """
    import bibtexparser

    result = ParseResult()
    try:
        library = bibtexparser.parse_string(text, parse_stack=[])
    except RecursionError:
        result.skipped.append(Skip(path, 0, "malformed BibTeX entry", "nested too deeply to read"))
        return result
    strings: dict[str, str] = {}
    for string in library.strings:
        strings[string.key.lower()] = expand(string.value, strings)
    for entry in library.entries:
        _add_entry(path, entry, strings, result)
    for block in library.failed_blocks:
        _handle_failed_block(path, block, strings, result)
    result.papers.sort(key=lambda p: int(p.provenance[0].rsplit(":", 1)[1]))
    return result


def _add_entry(path: str, entry, strings: dict[str, str], result: ParseResult, line: int | None = None) -> None:
    """One entry as a Paper; an entry that cannot be decoded (e.g. braces nested thousands deep) is a Skip."""
    line = line if line is not None else entry.start_line + 1
    try:
        result.papers.append(_paper(path, entry, strings, line))
    except RecursionError:
        result.skipped.append(Skip(path, line, "malformed BibTeX entry", "nested too deeply to read"))


_MONTHS = {m: m.capitalize() for m in "jan feb mar apr may jun jul aug sep oct nov dec".split()}


def expand(raw: str, strings: dict[str, str]) -> str:
    """A raw BibTeX value as text: its ``#``-joined parts ({...}, "...", numbers, macro names) concatenated.
    Braces inside a part are kept (LaTeX decoding drops them later). Iterative: any nesting depth is fine."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(raw):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == "#" and depth == 0 and not quoted:
            parts.append(raw[start:i])
            start = i + 1
    parts.append(raw[start:])
    return "".join(_part(part.strip(), strings) for part in parts)


def _part(part: str, strings: dict[str, str]) -> str:
    if len(part) >= 2 and (part[0], part[-1]) in (("{", "}"), ('"', '"')):
        return part[1:-1]
    name = part.lower()
    if name in strings:
        return strings[name]
    return _MONTHS.get(name, part)


def _handle_failed_block(path: str, block, strings: dict[str, str], result: ParseResult) -> None:
    from bibtexparser.model import DuplicateBlockKeyBlock, DuplicateFieldKeyBlock, ParsingFailedBlock

    line = (block.start_line or 0) + 1
    if isinstance(block, DuplicateBlockKeyBlock):
        entries = _reparse(block.raw)
        if entries:
            _add_entry(path, entries[0], strings, result, line=line)
            result.warnings.append(f"{path}:{line}: BibTeX key {block.key!r} is used twice; read as a separate record")
            return
    if isinstance(block, DuplicateFieldKeyBlock):
        detail = "field given twice: " + ", ".join(sorted(block.duplicate_keys))
    elif isinstance(block, ParsingFailedBlock):
        detail = clean(getattr(block.error, "abort_reason", "") or block.error)
    else:
        detail = clean(block.error)
    result.skipped.append(Skip(path, line, "malformed BibTeX entry", detail))


def _reparse(raw: str) -> list:
    import bibtexparser

    return bibtexparser.parse_string(raw, parse_stack=[]).entries


def _paper(path: str, entry, strings: dict[str, str], line: int):
    fields = {f.key.lower(): expand(f.value, strings) for f in entry.fields if isinstance(f.value, str)}
    venue = fields.get("journal") or fields.get("booktitle") or fields.get("journaltitle")
    return make_paper(
        path,
        line,
        title=latex_to_text(fields.get("title")),
        abstract=latex_to_text(fields.get("abstract")),
        authors=_authors(fields.get("author")),
        year=first_year(fields.get("year") or fields.get("date")),
        venue=latex_to_text(venue) or None,
        doi=_plain(fields.get("doi")),
        arxiv_id=_arxiv_id(fields),
        url=_plain(fields.get("url")),
    )


def _authors(value) -> list[str]:
    """BibTeX names ("Devlin, Jacob and Ming-Wei Chang") as "First Last"."""
    from bibtexparser.middlewares.names import parse_single_name_into_parts, split_multiple_persons_names

    if not isinstance(value, str) or not value.strip():
        return []
    names = []
    for raw in split_multiple_persons_names(value):
        parts = parse_single_name_into_parts(raw, strict=False)
        name = latex_to_text(parts.merge_first_name_first)
        if name and name.lower() != "others":
            names.append(name)
    return names


def _arxiv_id(fields: dict) -> str | None:
    eprint = _plain(fields.get("eprint"))
    kind = (fields.get("archiveprefix") or fields.get("eprinttype") or "").strip().lower()
    if eprint and (kind == "arxiv" or _ARXIV_ID.match(eprint)):
        return eprint
    for name in ("journal", "note", "howpublished"):
        if match := _ARXIV_IN_TEXT.search(str(fields.get(name) or "")):
            return match.group(1)
    return None


def _plain(value) -> str:
    """DOIs, URLs and ids: no LaTeX decoding ('%' is a comment in LaTeX), only braces and escapes removed."""
    if not isinstance(value, str):
        return ""
    return clean(value.replace("\\_", "_").replace("\\%", "%").replace("{", "").replace("}", ""))


def latex_to_text(value) -> str:
    """LaTeX markup to plain text: braces dropped, accents and escapes decoded, math kept verbatim.

    pylatexenc takes ~5 ms for a long abstract, so text with no macro and no math (most of it) only
    has its braces, ties and simple escapes (\\% \\& \\_ \\# \\$) removed and dashes set, as pylatexenc does.
    """
    if not isinstance(value, str) or not value.strip():
        return ""
    if _NEEDS_LATEX.search(value):
        return clean(_decoder().latex_to_text(_as_latex_source(value)))
    text = _SIMPLE_ESCAPE.sub(r"\1", value).replace("{", "").replace("}", "").replace("~", " ")
    return clean(text.replace("---", "\u2014").replace("--", "\u2013"))


def _as_latex_source(value: str) -> str:
    """Escape what is text in a BibTeX value but markup to LaTeX: a bare '%' (a comment: it would cut
    off the rest of the line) and an unpaired '$' (a price, not math: it would swallow the rest)."""
    value = _BARE_SPECIAL["%"].sub(r"\\%", value)
    if len(_BARE_SPECIAL["$"].findall(value)) % 2:
        value = _BARE_SPECIAL["$"].sub(r"\\$", value)
    return value


@lru_cache(maxsize=1)
def _decoder():
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="verbatim", keep_braced_groups=False)
