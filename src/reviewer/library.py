"""The Library: one collection of papers, its indexes, and everything you can do with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reviewer.config import Settings, load_settings
from reviewer.corpus.model import Paper
from reviewer.errors import InputError, NotFoundError
from reviewer.llm import command_deadline
from reviewer.index.ingest import IngestReport, ProgressFn, ingest
from reviewer.index.keyword import KeywordIndex
from reviewer.index.store import ChromaStore, make_client


@dataclass
class Hit:
    """One search result: the paper, its score, and which retrievers found it."""

    key: str
    title: str
    score: float
    paper: Paper
    found_by: list[str] = field(default_factory=list)
    ranks: dict[str, int] = field(default_factory=dict)  # 1-based rank in each retriever's list that has it


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

    @classmethod
    def open(cls, db: str | Path | None = None, settings: Settings | None = None, *,
             embedder=None, client=None) -> "Library":
        """Open (or create) the library in ``db`` (default: ``settings.db``, i.e. ``.reviewer``).

        ``embedder`` and ``client`` (a chromadb client) may be injected; by default they come from settings.
        """
        settings = settings or load_settings()
        if db is not None:
            settings = settings.model_copy(update={"db": Path(db)})
        if embedder is None:
            from reviewer.index.embedder import make_embedder

            embedder = make_embedder(settings)
        client = client or make_client(settings)
        store = ChromaStore(client, settings.collection, embedder.name, embedder.dimension)
        return cls(settings, store, embedder)

    # -- writing -------------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[str | Path] | str | Path, *, progress: ProgressFn | None = None) -> IngestReport:
        """Add or update the papers found in ``paths`` (files or folders). Unchanged papers cost nothing."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        if not paths:
            raise InputError("no path given: name at least one file or folder of papers")
        report, wrote = ingest(
            paths,
            self.store,
            self.embedder.embed_array,
            batch_size=self.settings.ingest.upsert_batch,
            max_field_chars=self.settings.ingest.max_field_chars,
            max_title_chars=self.settings.ingest.max_title_chars,
            progress=progress,
        )
        self._keyword = self._vectors = None
        self.keyword_index(rebuild=wrote)
        self.vector_mirror(rebuild=wrote)
        return report

    # -- reading -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.store.count()

    def get(self, key: str) -> Paper:
        """The paper stored under ``key``; raises NotFoundError (saying how to list keys) when there is none."""
        found = self.store.get([key])
        if key not in found:
            raise NotFoundError(f"no paper with key {key!r}; `reviewer papers --grep WORD` lists keys")
        return found[key]

    def papers(self, grep: str | None = None) -> list[Paper]:
        """Every paper, sorted by key; with ``grep``, those whose key, title or abstract contain it (any case)."""
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
        index = None if rebuild else KeywordIndex.load(self.settings.db)
        if index is None or index.revision != revision or len(index) != len(self):
            records = self.records()
            keys = sorted(records)
            index = KeywordIndex.build(keys, [records[k].paper.embedding_text() for k in keys], revision)
            index.save(self.settings.db)
        self._keyword = index
        return index

    def vector_mirror(self, rebuild: bool = False):
        """The local copy of every paper's and sentence's vector, rebuilt when out of date."""
        from reviewer.index.vectors import VectorMirror

        revision = self.store.revision
        if not rebuild and self._vectors is not None and self._vectors.revision == revision:
            return self._vectors
        mirror = None if rebuild else VectorMirror.load(self.settings.db)
        if mirror is None or mirror.revision != revision or len(mirror) != len(self):
            mirror = VectorMirror.build(self.store, revision)
            mirror.save(self.settings.db)
        self._vectors = mirror
        return mirror

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
        ranked = search(self, query, k=k, mode=mode or self.settings.retrieval.mode, use_mmr=mmr, filters=filters)
        papers = self.store.get([r.key for r in ranked])
        return [Hit(r.key, papers[r.key].title, r.score, papers[r.key], r.found_by, r.ranks) for r in ranked]

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
