"""Ingest pipeline: parse -> match against what is stored -> assign keys -> embed what changed -> upsert.

Crash safety (an ingest killed with SIGKILL at any point): keys of stored papers are read back from
Chroma, so they never change; papers are written in small batches with idempotent upserts keyed by
citation key, so a re-run finds what is already stored (by key, DOI, arXiv id or title) and embeds only
what is missing or changed; the collection's revision is bumped before the first write, so the keyword
index is rebuilt on the next run if the crash came before it was saved.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reviewer.corpus import Paper, Skip, assign_keys, load
from reviewer.corpus.model import normalize_arxiv_id, normalize_doi
from reviewer.index.store import ChromaStore, ServerLostError, StoredRecord
from reviewer.retrieval.fusion import split_sentences

ProgressFn = Callable[[int, int], None]  # (papers embedded so far, papers to embed), from (0, total) on


def paper_sentences(paper: Paper) -> list[str]:
    """The sentences of title + abstract that get their own vectors (for long-query scoring)."""
    return split_sentences(f"{paper.title.strip()} {paper.abstract.strip()}".strip())


@dataclass
class IngestReport:
    """What one ingest did. ``skipped`` and ``warnings`` name file and line."""

    files: list[str] = field(default_factory=list)
    records: int = 0
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    embedded: int = 0
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def duplicates(self) -> int:
        """Records that were merged into another record of the same input."""
        return self.records - len(self.new) - len(self.updated) - len(self.unchanged)

    def skip_reasons(self) -> Counter:
        return Counter(s.reason for s in self.skipped)


class _Identities:
    """Finds the stored key of a paper by DOI, then arXiv id, then normalized title."""

    def __init__(self, stored: dict[str, StoredRecord]):
        self.by_doi: dict[str, str] = {}
        self.by_arxiv: dict[str, str] = {}
        self.by_title: dict[str, str] = {}
        self.keys = set(stored)
        for key, record in stored.items():
            self.add(key, record.paper)

    def add(self, key: str, paper: Paper) -> None:
        if doi := normalize_doi(paper.doi):
            self.by_doi.setdefault(doi, key)
        if arxiv := normalize_arxiv_id(paper.arxiv_id):
            self.by_arxiv.setdefault(arxiv, key)
        if title := paper.norm_title:  # an empty title identifies nothing
            self.by_title.setdefault(title, key)

    def find(self, paper: Paper) -> str | None:
        if paper.key and paper.key in self.keys:
            return paper.key
        if (doi := normalize_doi(paper.doi)) and doi in self.by_doi:
            return self.by_doi[doi]
        if (arxiv := normalize_arxiv_id(paper.arxiv_id)) and arxiv in self.by_arxiv:
            return self.by_arxiv[arxiv]
        return self.by_title.get(paper.norm_title)


def merge_with_stored(stored: Paper, incoming: Paper) -> Paper:
    """The stored paper updated by a newly read version: the new non-empty fields win, provenance is united."""
    data = stored.model_dump()
    for name, value in incoming.model_dump(exclude={"key", "provenance"}).items():
        if value not in (None, "", []):
            data[name] = value
    data["provenance"] = list(dict.fromkeys([*stored.provenance, *incoming.provenance]))
    data["key"] = stored.key
    return Paper(**data)


def plan(papers: Sequence[Paper], stored: dict[str, StoredRecord],
         key_style: str = "title-words") -> tuple[list[Paper], list[Paper], list[Paper]]:
    """Split parsed papers into (new, updated, unchanged), with keys set; new keys never clash with stored ones."""
    identities = _Identities(stored)
    new: list[Paper] = []
    updated: list[Paper] = []
    unchanged: list[Paper] = []
    seen: set[str] = set()
    for paper in papers:
        key = identities.find(paper)
        if key is None or key in seen:
            new.append(paper if paper.key and paper.key not in stored else paper.model_copy(update={"key": ""}))
            continue
        seen.add(key)
        merged = merge_with_stored(stored[key].paper, paper)
        (unchanged if merged == stored[key].paper and stored[key].content_hash == merged.content_hash else updated).append(merged)
    assign_keys(new, set(stored), key_style)
    return new, updated, unchanged


def _write(store: ChromaStore, batch, counts, vectors) -> None:
    # Sentences first: a paper that is stored always has its sentence vectors (crash safety).
    store.upsert_sentences(batch, counts, vectors[len(batch):])
    store.upsert(batch, vectors[: len(batch)])


def ingest(
    paths: Sequence[str | Path],
    store: ChromaStore,
    embed: Callable[[list[str]], "object"],
    *,
    batch_size: int = 64,
    max_field_chars: int = 20_000,
    max_title_chars: int = 1_000,
    progress: ProgressFn | None = None,
    key_style: str = "title-words",
) -> tuple[IngestReport, bool]:
    """Ingest ``paths`` into ``store``. Returns the report and whether anything was written.

    A Chroma server lost mid-way stops the ingest with a :class:`ServerLostError` saying how many papers
    were stored (running it again stores the rest)."""
    started = time.perf_counter()
    loaded = load(list(paths), max_field_chars=max_field_chars, max_title_chars=max_title_chars)
    report = IngestReport(files=loaded.files, records=loaded.records, skipped=list(loaded.skipped),
                          warnings=list(loaded.warnings))
    try:
        wrote = store_papers(loaded.papers, store, embed, report, batch_size=batch_size, progress=progress,
                             key_style=key_style)
    except ServerLostError as exc:
        raise ServerLostError(f"{exc}. {report.embedded} of {len(report.new) + len(report.updated)} new or "
                              "changed paper(s) were stored before that; run the same ingest again to store "
                              "the rest") from None
    report.seconds = time.perf_counter() - started
    return report, wrote


def store_papers(
    papers: Sequence[Paper],
    store: ChromaStore,
    embed: Callable[[list[str]], "object"],
    report: IngestReport,
    *,
    batch_size: int = 64,
    progress: ProgressFn | None = None,
    key_style: str = "title-words",
) -> bool:
    """Match, key, embed and upsert already-parsed papers (a paper may bring its own key). Fills ``report``."""
    stored = store.records()
    new, updated, unchanged = plan(papers, stored, key_style)
    report.new = [p.key for p in new]
    report.updated = [p.key for p in updated]
    report.unchanged = [p.key for p in unchanged]

    to_embed = new + [p for p in updated if p.content_hash != stored[p.key].content_hash]
    metadata_only = [p for p in updated if p.content_hash == stored[p.key].content_hash]
    wrote = bool(to_embed or metadata_only)
    if wrote:
        store.new_revision()
    store.upsert(metadata_only, None)
    # Similar lengths side by side: each batch pads to its own longest text only.
    to_embed.sort(key=lambda p: len(p.embedding_text()))
    total = len(to_embed)
    if progress:
        progress(0, total)
    # Writing batch i to Chroma overlaps embedding batch i+1 (one writer thread keeps the order).
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending = None
        for start in range(0, total, batch_size):
            batch = to_embed[start : start + batch_size]
            sentences = [paper_sentences(p) for p in batch]
            counts = [len(s) for s in sentences]
            vectors = _embed_batch(embed, batch, sentences, progress and (lambda n, s=start: progress(s + n, total)))
            if pending is not None:
                pending.result()
                report.embedded += pending.size
            pending = writer.submit(_write, store, batch, counts, vectors)
            pending.size = len(batch)
        if pending is not None:
            pending.result()
            report.embedded += pending.size
            if progress:
                progress(report.embedded, total)
    return wrote


EMBED_CHUNK = 32  # papers embedded per call within a batch, so that progress moves from the first papers on


def _embed_batch(embed, batch: list[Paper], sentences: list[list[str]], progress) -> "object":
    """The vectors of ``batch``'s papers, then of their sentences (the order ``_write`` expects), embedded
    :data:`EMBED_CHUNK` papers at a time; ``progress(n)`` after each chunk with the papers embedded so far."""
    import numpy as np

    papers, units = [], []
    for start in range(0, len(batch), EMBED_CHUNK):
        chunk, groups = batch[start:start + EMBED_CHUNK], sentences[start:start + EMBED_CHUNK]
        vectors = embed([p.embedding_text() for p in chunk] + [s for group in groups for s in group])
        papers.append(vectors[:len(chunk)])
        units.append(vectors[len(chunk):])
        if progress:
            progress(start + len(chunk))
    return np.concatenate(papers + units)
