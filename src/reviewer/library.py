"""The Library: one collection of papers, its indexes, and everything you can do with it."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reviewer.config import Settings, load_settings
from reviewer.corpus.model import Paper
from reviewer.errors import IndexError_, InputError, NotFoundError, ReviewerError
from reviewer.index.derived import recorded_count
from reviewer.llm import command_deadline
from reviewer.index.ingest import IngestReport, ProgressFn, ingest
from reviewer.index.keyword import KeywordIndex
from reviewer.index.lock import IngestLock
from reviewer.index.paths import check_library_dir
from reviewer.index.store import ChromaStore, corrupt_database, make_client


def _warn(message: str) -> None:
    import sys

    print(f"reviewer: {message}", file=sys.stderr, flush=True)


@dataclass
class Hit:
    """One search result: the paper, its raw ``score`` (the mode's own scale: an RRF score is about 0.03),
    ``relevance`` (that score on a 0-1 scale, see :func:`reviewer.retrieval.search.relevance`), which retrievers
    found it and its rank in each."""

    key: str
    title: str
    score: float
    paper: Paper
    found_by: list[str] = field(default_factory=list)
    ranks: dict[str, int] = field(default_factory=dict)  # 1-based rank in each retriever's list that has it
    relevance: float = 0.0

    def to_dict(self) -> dict:
        """``key``, ``title``, ``relevance``, ``score`` (raw), ``found_by``, ``ranks`` and ``paper``
        (:meth:`Paper.model_dump`): the JSON of `reviewer search --json`."""
        return {"key": self.key, "title": self.title, "relevance": self.relevance, "score": round(self.score, 6),
                "found_by": list(self.found_by), "ranks": dict(self.ranks), "paper": self.paper.model_dump()}


class Library:
    """A persistent, incremental collection of papers.

    >>> lib = Library.open(db="my-review")          # doctest: +SKIP
    >>> lib.ingest(["papers.bib"])                  # doctest: +SKIP
    >>> [h.key for h in lib.search("in-context learning", k=3)]   # doctest: +SKIP
    """

    def __init__(self, settings: Settings, store: ChromaStore, embedder):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._keyword: KeywordIndex | None = None
        self._llm = None
        self._records = None
        self._vectors = None
        self._notes: list[str] = []
        self._seen_revision = store.revision
        self._fresh_client = None  # set when this library built its embedded client (see _sync)
        self.notify = _warn  # where one-off warnings go (damaged derived index rebuilt, ...)

    @classmethod
    def open(cls, db: str | Path | None = None, settings: Settings | None = None, *,
             embedder=None, client=None, create: bool = True) -> "Library":
        """Open the library in ``db`` (default: ``settings.db``, i.e. ``.reviewer``), creating it if
        ``create`` (only an ingest needs to); with ``create=False`` a missing library is a
        :class:`NotFoundError` naming the path, and nothing is written.

        ``embedder`` and ``client`` (a chromadb client) may be injected; by default they come from settings.
        The data directory and a Chroma server are checked before the embedder is loaded.
        """
        settings = settings or load_settings()
        if db is not None:
            settings = settings.model_copy(update={"db": Path(db)})
        client_given = client
        if client is None and (settings.chroma_url or not create):
            client = make_client(settings, create=create)  # a server or a missing library: fail before the embedder
        elif client is None:
            check_library_dir(settings.db, create=True)
        if embedder is None:
            from reviewer.index.embedder import make_embedder

            embedder = make_embedder(settings)
        where = settings.chroma_url or str(settings.db)
        # Two first ingests into one new folder would both create Chroma's tables: creating is done under the
        # ingest lock (an existing library is opened without it, so readers never wait for a writer).
        creating = create and not settings.chroma_url and not (settings.db / "chroma" / "chroma.sqlite3").exists()
        try:
            with IngestLock(settings.db, notify=_warn) if creating else contextlib.nullcontext():
                client = client or make_client(settings, create=create)
                store = ChromaStore(client, settings.collection, embedder.name, embedder.dimension,
                                    create=create, where=where)
        except ReviewerError:
            raise
        except Exception as exc:  # chromadb cannot read its own database
            raise corrupt_database(settings, exc) from None
        library = cls(settings, store, embedder)
        if client_given is None and not settings.chroma_url:
            library._fresh_client = lambda: make_client(settings, create=False, fresh=True)
        if not create:
            library._check_not_emptied()
        return library

    def _check_not_emptied(self) -> None:
        """A collection with no papers while the derived indexes beside it record some: Chroma's data was
        lost (deleted, replaced), so the library is damaged, not empty."""
        if self.settings.chroma_url or self.store.count():
            return
        recorded = recorded_count(self.settings.db, "keyword")
        if recorded:
            raise IndexError_(
                f"the library in {self.settings.db} is damaged: its Chroma collection holds no papers, but its "
                f"keyword index records {recorded}. Restore the folder from a backup, or ingest your sources "
                "again into a new --db")

    # -- writing -------------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[str | Path] | str | Path, *, progress: ProgressFn | None = None,
               notify=None) -> IngestReport:
        """Add or update the papers found in ``paths`` (files or folders). Unchanged papers cost nothing.

        Another ingest into the same data directory is waited for (``notify`` gets one message saying so;
        by default it goes to stderr)."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        if not paths:
            raise InputError("no path given: name at least one file or folder of papers")
        # One ingest at a time per library: keys are handed out from what is stored when the lock is taken.
        with IngestLock(self.settings.db, notify=notify or self.notify):
            self.store.refresh()
            report, wrote = ingest(
                paths,
                self.store,
                self.embedder.embed_array,
                batch_size=self.settings.ingest.upsert_batch,
                max_field_chars=self.settings.ingest.max_field_chars,
                max_title_chars=self.settings.ingest.max_title_chars,
                progress=progress,
                key_style=self.settings.ingest.key_style,
            )
            self._keyword = self._vectors = None
            self.keyword_index(rebuild=wrote)
            self.vector_mirror(rebuild=wrote)
            self._seen_revision = self.store.revision
        return report

    def _sync(self) -> None:
        """See what other processes wrote: re-read the collection's revision; when it moved, the keyword
        index and vector mirror follow it on their next use, and an embedded Chroma client (whose loaded
        vector index would not see the new papers) is replaced by a fresh one."""
        self.store.refresh()
        if self.store.revision == self._seen_revision:
            return
        if self._fresh_client is not None:
            self.store.reconnect(self._fresh_client())
        self._seen_revision = self.store.revision

    # -- reading -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.store.count()

    def get(self, key: str) -> Paper:
        """The paper stored under ``key``, which may be written as pasted (``[key]``, ``@key``, ``[@key; other]``,
        any case); raises NotFoundError naming the closest keys (and how to list keys) when there is none."""
        found = self.store.get([key])
        if key in found:
            return found[key]
        key = self.resolve_key(key)
        return self.store.get([key])[key]

    def resolve_key(self, text: str) -> str:
        """The stored key ``text`` names: exactly, or as pasted (``[key]``, ``@key``, ``key.``), in any case.
        Raises NotFoundError with "did you mean ..." (the closest keys) when it names none."""
        from reviewer.corpus.keys import closest, lookup, pasted_keys

        keys = self.records()
        found = lookup(text, keys)
        if found is not None:
            return found
        near = closest(text, keys)
        hint = f"did you mean {', '.join(near)}? " if near else ""
        shown = (pasted_keys(text) or [text.strip()])[0]
        raise NotFoundError(f"no paper with key {shown!r}; {hint}`reviewer papers --grep WORD` lists keys")

    def resolve_keys(self, texts: Sequence[str], option: str = "--keys") -> tuple[list[str], list[str]]:
        """(the stored keys ``texts`` name, a warning per text that names none, with the closest keys)."""
        resolved, warnings = [], []
        for text in texts:
            try:
                resolved.append(self.resolve_key(text))
            except NotFoundError as exc:
                warnings.append(f"{option}: {exc}")
        return resolved, warnings

    def explain_empty(self, filters) -> str | None:
        """Why ``filters`` let no paper through: each filter that alone excludes every paper, with how many
        papers have that field (None when the filters allow some paper)."""
        records = [r.paper for r in self.records().values()]
        if not filters or not filters.active() or any(filters.allows(p) for p in records):
            return None
        from reviewer.retrieval.search import Filters

        total = len(records)
        checks = [
            ("--from", filters.year_min, Filters(year_min=filters.year_min), "a year", lambda p: p.year),
            ("--to", filters.year_max, Filters(year_max=filters.year_max), "a year", lambda p: p.year),
            ("--venue", filters.venue, Filters(venue=filters.venue), "a venue", lambda p: p.venue),
            ("--source", filters.source, Filters(source=filters.source), "a source file", lambda p: p.provenance),
            ("--keys", filters.keys, Filters(keys=filters.keys), "a key", lambda p: p.key),
        ]
        reasons = []
        for option, value, alone, field_name, has in checks:
            if value is None:
                continue
            if not any(alone.allows(p) for p in records):
                shown = ",".join(value) if isinstance(value, (list, tuple)) else value
                having = sum(1 for p in records if has(p))
                reasons.append(f"{option} {shown} excludes all {total} papers ({having} of {total} have "
                               f"{field_name})" if option != "--keys" else "--keys names none of the papers")
        if not reasons:
            reasons.append("the filters together exclude every paper (each alone lets some through)")
        return "no paper matches the filters: " + "; ".join(reasons)

    def papers(self, grep: str | None = None) -> list[Paper]:
        """Every paper, sorted by key; with ``grep``, those whose key, title or abstract contain it (any case)."""
        self._sync()
        papers = sorted((r.paper for r in self.records().values()), key=lambda p: p.key)
        if grep:
            needle = grep.lower()
            papers = [p for p in papers if needle in p.key or needle in p.title.lower() or needle in p.abstract.lower()]
        return papers

    def keyword_index(self, rebuild: bool = False) -> KeywordIndex:
        """The BM25 index, rebuilt from the stored papers when it is missing or out of date."""
        revision = self.store.revision
        if not rebuild and self._keyword is not None and self._keyword.revision == revision:
            return self._keyword
        index = None if rebuild else self._load_derived(KeywordIndex.load, "keyword index")
        if index is None or index.revision != revision or len(index) != len(self):
            records = self.records()
            keys = sorted(records)
            index = KeywordIndex.build(keys, [records[k].paper.embedding_text() for k in keys], revision)
            self._save_derived(index, "keyword index")
        self._keyword = index
        return index

    def vector_mirror(self, rebuild: bool = False):
        """The local copy of every paper's and sentence's vector, rebuilt when out of date."""
        from reviewer.index.vectors import VectorMirror

        revision = self.store.revision
        if not rebuild and self._vectors is not None and self._vectors.revision == revision:
            return self._vectors
        mirror = None if rebuild else self._load_derived(VectorMirror.load, "vector mirror")
        if mirror is None or mirror.revision != revision or len(mirror) != len(self):
            mirror = VectorMirror.build(self.store, revision)
            self._save_derived(mirror, "vector mirror")
        self._vectors = mirror
        return mirror

    def _load_derived(self, load, what: str):
        """A saved derived index, or None (then rebuilt from Chroma) when it is missing or damaged; damage is
        reported once."""
        from reviewer.index.derived import Unusable

        try:
            return load(self.settings.db)
        except Unusable as exc:
            self._note(f"the {what} was damaged ({exc}); rebuilt from the Chroma collection")
            return None

    def _save_derived(self, index, what: str) -> None:
        try:
            index.save(self.settings.db)
        except OSError as exc:  # a read-only data directory: the index is kept in memory only
            self._note(f"could not save the {what} in {self.settings.db} ({exc.strerror}); "
                       "it is rebuilt in memory each time")

    def _note(self, message: str) -> None:
        if message not in self._notes:
            self._notes.append(message)
            self.notify(message)

    def records(self) -> dict:
        """Every stored record by key, cached until the collection changes."""
        revision = self.store.revision
        if self._records is None or self._records[0] != revision:
            self._records = (revision, self.store.records())
        return self._records[1]

    def search(self, query: str, k: int = 10, *, mode: str | None = None, mmr: bool = False,
               filters=None) -> list[Hit]:
        """The ``k`` papers most relevant to ``query``, best first.

        ``mode``: ``rrf`` (the default: BM25 and plain cosine, fused by reciprocal rank), ``hybrid`` (BM25 and a
        dense list that adds sentence-window coverage to the cosine), ``bm25``, ``cosine`` or ``dense`` alone
        (see :mod:`reviewer.retrieval.search`).
        ``mmr``: re-rank for breadth (maximal marginal relevance). ``filters``: a
        :class:`reviewer.retrieval.Filters` (year range, source file, venue, key list, exclude).
        """
        from reviewer.retrieval.search import search

        query = query.strip()
        if not query:
            raise InputError("the search query is empty")
        self._sync()
        ranked = search(self, query, k=k, mode=mode or self.settings.retrieval.mode, use_mmr=mmr, filters=filters)
        papers = self.store.get([r.key for r in ranked])
        return [Hit(r.key, papers[r.key].title, r.score, papers[r.key], r.found_by, r.ranks, r.relevance)
                for r in ranked]

    def llm(self):
        """The configured chat model wrapped with usage and cache (one per library), or None when no endpoint
        is configured (the extractive engine answers then)."""
        if not self.settings.llm.configured:
            return None
        if self._llm is None:
            from reviewer.llm import LLM

            self._llm = LLM(self.settings.llm)
        return self._llm

    def ask(self, question: str, *, k: int = 8, llm=None, on_token=None, use_cache: bool = True,
            focus: str | None = None, allow_uncited: bool = False):
        """A grounded answer to ``question`` citing ``[key]``s of this library (see :class:`reviewer.Answer`
        and :mod:`reviewer.grounding`).

        ``on_token`` receives the *unchecked* reply as it streams (show it as provisional only). ``focus``: for
        the extractive engine, the text its sentences are ranked by when it differs from the retrieval question
        (a chat follow-up retrieves with the previous topic's terms added, but quotes what answers the
        follow-up itself). ``allow_uncited``: a reply that cites nothing is shown, marked, instead of the
        cannot-answer reply.
        """
        from reviewer.chains.ask import ask

        question = question.strip()
        if not question:
            raise InputError("the question is empty")
        llm = llm if llm is not None else self.llm()
        with command_deadline(llm):
            return ask(self, question, k=k, llm=llm, on_token=on_token, use_cache=use_cache, focus=focus,
                       allow_uncited=allow_uncited)

    def compare(self, methods: Sequence[str] | None = None, *, topic: str | None = None,
                aspects: Sequence[str] | None = None, k: int = 4, max_methods: int = 4, llm=None,
                use_cache: bool = True):
        """A side-by-side table of ``methods`` (or of at most ``max_methods`` main methods of ``topic``) on
        ``aspects``, ``k`` papers per method, every cell backed by ``[key]``s of this library
        (see :class:`reviewer.Comparison`)."""
        from reviewer.chains.compare import compare

        llm = llm if llm is not None else self.llm()
        with command_deadline(llm):
            return compare(self, methods, topic=topic, aspects=aspects, k=k, max_methods=max_methods, llm=llm,
                           use_cache=use_cache)

    def review(self, topic: str, *, max_papers: int = 30, themes: int | None = None, llm=None,
               use_cache: bool = True, progress=None):
        """A thematic related-work draft on ``topic`` from this library (see :class:`reviewer.Draft`);
        ``Draft.write(dir)`` writes review.md, references.bib, review.tex, review.json and themes.png."""
        from reviewer.chains.review import review

        topic = topic.strip()
        if not topic:
            raise InputError("the review topic is empty")
        llm = llm if llm is not None else self.llm()
        with command_deadline(llm):
            return review(self, topic, max_papers=max_papers, themes=themes, llm=llm, use_cache=use_cache,
                          progress=progress)

    def similarity(self, text: str, keys: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of ``text`` to each of the stored papers ``keys``."""
        if not keys:
            return {}
        query = self.embedder.embed_array([text])[0]
        vectors = self.vector_mirror().paper_vectors(list(keys))
        return {key: float(score) for key, score in zip(keys, vectors @ query)}

    def stats(self) -> dict:
        """Counts and where things are stored."""
        self._sync()
        records = self.records()
        sources = sorted({p.rsplit(":", 1)[0] for r in records.values() for p in r.paper.provenance})
        return {
            "papers": len(records),
            "sources": len(sources),
            "with_authors": sum(1 for r in records.values() if r.paper.authors),
            "with_year": sum(1 for r in records.values() if r.paper.year),
            "embedder": f"{self.store.embedder_name} ({self.store.dimension} dimensions)",
            "chroma": self.settings.chroma_url or str(self.settings.db / "chroma"),
            "keyword_index": f"{len(self.keyword_index())} papers, BM25 (bm25s), in {self.settings.db}",
        }
