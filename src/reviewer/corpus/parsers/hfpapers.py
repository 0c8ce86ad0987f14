"""Hugging Face Papers listing pages saved as text: a title line, then its abstract, repeated.

Two layouts are read the same way, line by line, ignoring blank lines:

* blank-line separated blocks (furniture, then title / abstract / title / abstract ...);
* no blank lines, with the "Subscribe" button text glued onto the first title
  ("SubscribeA Picture Is Worth a Graph: ...").

Page furniture ("new", "Subscribe", "Get trending papers ...", "byAK and the research community",
dates such as "Jul 2") is never a paper. A line is an abstract when it reads like prose (long, or
sentences ending in punctuation); a title followed by another title has no abstract (the record is
kept with an empty abstract; the loader reports it). Prose with no title before it is skipped.
Provenance is ``path:line`` of the title line (1-based).
"""

from __future__ import annotations

import re

from reviewer.corpus.model import ParseResult, Skip
from reviewer.corpus.parsers._common import clean, make_paper

_MARKERS = ("get trending papers in your email inbox", "byak and the research community")
_FURNITURE = {
    "new", "subscribe", "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!", "byak and the research community",
    "by ak and the research community", "daily papers", "trending papers", "trending", "previous", "next",
    "submit", "submit paper", "search", "upvote", "sign up", "log in", "login",
}  # fmt: skip
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_FURNITURE_RE = re.compile(rf"^({_MONTH}\s+\d{{1,2}}(,?\s+\d{{4}})?|\d{{4}}-\d\d-\d\d|\d+|submitted by\b.*)$", re.I)
# "Subscribe" glued onto the next line's first word (the second layout).
_GLUED = re.compile(r"^Subscribe(?=[A-Z0-9\"'(\[])")
_SENTENCE_BREAK = re.compile(r"[.!]\s+[A-Z(]")  # "?" is left out: titles ask questions
ABSTRACT_MIN_CHARS = 300  # the longest title in the sample pages is 149 characters, the shortest abstract 485


def looks_like(text: str) -> bool:
    """True for a listing page: its furniture, or (nearly) only title-line / prose-line pairs near the top."""
    head = text[:4000].lower()
    if any(marker in head for marker in _MARKERS):
        return True
    lines = [line for _, line in _content_lines(text[:20_000])][:12]
    pairs = sum(1 for a, b in zip(lines, lines[1:]) if _is_title_like(a) and is_abstract_like(b, after_title=True))
    return pairs >= 1 and 2 * pairs >= len(lines) - 1


def parse(path: str, text: str) -> ParseResult:
    """Papers of one listing page, in page order."""
    result = ParseResult()
    title: tuple[int, str] | None = None  # the title line waiting for its abstract
    previous_was_abstract = False
    for number, line in _content_lines(text):
        if is_abstract_like(line, after_title=title is not None):
            if title is not None:
                result.papers.append(make_paper(path, title[0], title=title[1], abstract=line))
                title = None
            elif previous_was_abstract and result.papers:
                _continue_abstract(result, path, number, line)
            else:
                result.skipped.append(Skip(path, number, "no title", "prose with no title line before it"))
            previous_was_abstract = True
            continue
        if title is not None:
            result.papers.append(make_paper(path, title[0], title=title[1]))
        title = (number, line)
        previous_was_abstract = False
    if title is not None:
        result.papers.append(make_paper(path, title[0], title=title[1]))
    return result


def _content_lines(text: str):
    """(1-based line number, cleaned line) for every line that is not blank and not page furniture."""
    for number, raw in enumerate(text.split("\n"), 1):
        line = clean(_GLUED.sub("", raw.strip(), count=1))
        if line and not is_furniture(line):
            yield number, line


def _continue_abstract(result: ParseResult, path: str, number: int, line: str) -> None:
    paper = result.papers[-1]
    paper.abstract = f"{paper.abstract} {line}"
    result.warnings.append(f"{path}:{number}: second prose paragraph joined to the abstract of {paper.provenance[0]}")


def is_furniture(line: str) -> bool:
    """Page furniture: buttons, banners, dates, counters."""
    return line.lower() in _FURNITURE or bool(_FURNITURE_RE.match(line))


def is_abstract_like(line: str, *, after_title: bool) -> bool:
    """Does ``line`` read like an abstract? Right after a title, a shorter prose line is accepted."""
    if len(line) >= ABSTRACT_MIN_CHARS:
        return True
    words = len(line.split())
    sentences = len(_SENTENCE_BREAK.findall(line)) + (1 if line.endswith((".", "!")) else 0)
    if after_title:
        return (sentences >= 1 and words >= 12) or words >= 30
    return (sentences >= 2 and words >= 10) or (sentences >= 1 and words >= 20)


def _is_title_like(line: str) -> bool:
    return not is_furniture(line) and not is_abstract_like(line, after_title=False) and len(line) < 300
