"""The Paper record every parser produces and every later stage consumes."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

_NOT_WORD = re.compile(r"[\W_]+")
_LATIN_END = 0x0250  # accents are dropped from Latin letters only: in other scripts marks tell words apart


def normalize_title(title: str) -> str:
    """Case-folded, punctuation-free form of a title in any script, used to spot duplicates.

    Unicode NFKC (full-width forms, ligatures), accents dropped from Latin letters ("Café" = "Cafe"), letters
    and digits of every script kept, so a title of only CJK, Arabic, Cyrillic or Greek letters identifies its
    paper as a Latin one does.
    """
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", title))
    kept, base = [], 0
    for ch in text:
        if unicodedata.combining(ch):
            if base < _LATIN_END:
                continue
        else:
            base = ord(ch)
        kept.append(ch)
    text = unicodedata.normalize("NFC", "".join(kept)).casefold()
    return _NOT_WORD.sub(" ", text).strip()


def normalize_doi(doi: str | None) -> str | None:
    if not doi:
        return None
    doi = doi.strip()
    doi = re.sub(r"^(https?://)?(dx\.)?doi\.org/", "", doi, flags=re.I)
    doi = re.sub(r"^doi:\s*", "", doi, flags=re.I)
    return doi.lower() or None


def normalize_arxiv_id(arxiv_id: str | None) -> str | None:
    """'arXiv:2401.01234v2' and 'https://arxiv.org/abs/2401.01234' -> '2401.01234'."""
    if not arxiv_id:
        return None
    text = arxiv_id.strip()
    text = re.sub(r"^(https?://)?(www\.)?arxiv\.org/(abs|pdf)/", "", text, flags=re.I)
    text = re.sub(r"^arxiv:\s*", "", text, flags=re.I)
    text = re.sub(r"\.pdf$", "", text)
    text = re.sub(r"v\d+$", "", text)
    return text.lower() or None


class Paper(BaseModel):
    """One paper in the collection.

    ``key`` is empty until the library assigns one; once stored it never changes.
    ``provenance`` lists every place (``file:line``) the paper was read from.
    """

    key: str = ""
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    venue: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    url: str | None = None
    provenance: list[str] = Field(default_factory=list)

    @property
    def content_hash(self) -> str:
        """Hash of exactly the text that is embedded: a change here means re-embedding."""
        return hashlib.sha256(self.embedding_text().encode("utf-8")).hexdigest()[:32]

    @property
    def norm_title(self) -> str:
        return normalize_title(self.title)

    def embedding_text(self) -> str:
        return f"{self.title.strip()}\n\n{self.abstract.strip()}".strip()


@dataclass(frozen=True)
class Skip:
    """A record or file that was not ingested, and why (``reason`` is a short category)."""

    file: str
    line: int
    reason: str
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class ParseResult:
    """What one parser got out of one file: records, skips, and non-fatal warnings."""

    papers: list[Paper] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
