"""The Chroma collection that holds every paper: vector, text and full record.

Chroma is the single source of truth for what is stored (embedded ``PersistentClient`` by default,
``HttpClient`` against ``chroma run`` when a server URL is set). Vectors are always computed by our
embedder and passed explicitly, so Chroma's own default embedder (which downloads a model) is never used.
The collection's metadata records the embedder's name and dimension, and a ``revision`` that changes
before every write; the keyword index records the revision it was built from, so a stale keyword index
(e.g. after a crash between the two) is detected and rebuilt.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np

from reviewer.config import Settings
from reviewer.corpus.model import Paper, normalize_arxiv_id, normalize_doi
from reviewer.errors import ConfigError, EmbedderMismatchError, IndexError_

_GET_PAGE = 5_000


@dataclass(frozen=True)
class StoredRecord:
    """What the ingest pipeline and search need to know about a stored paper."""

    paper: Paper
    content_hash: str


def check_server(settings: Settings) -> None:
    """A quick heartbeat of the Chroma server at ``settings.chroma_url`` (standard library only, so it runs
    before chromadb is imported or the embedder loaded): a down, silent or non-Chroma server is a clear
    error within the connect timeout."""
    import http.client
    import socket

    url = urlparse(settings.chroma_url or "")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"REVIEWER_CHROMA_URL={settings.chroma_url!r} is not a URL; use e.g. http://127.0.0.1:8000")
    port = url.port or (443 if url.scheme == "https" else 80)
    timeout = settings.chroma_connect_timeout
    start = ("Start it with `chroma run --path DIR --host 127.0.0.1 --port N` or unset REVIEWER_CHROMA_URL.")
    conn_cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(url.hostname, port, timeout=timeout)
    try:
        conn.request("GET", "/api/v2/heartbeat")
        response = conn.getresponse()
        body = response.read(4096)
    except (socket.timeout, TimeoutError):
        raise IndexError_(f"the Chroma server at {settings.chroma_url} did not answer within {timeout:g} s "
                          f"(REVIEWER_CHROMA_CONNECT_TIMEOUT). {start}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise IndexError_(f"cannot reach the Chroma server at {settings.chroma_url} ({_reason(exc)}). {start}") from None
    finally:
        conn.close()
    if response.status != 200 or b"nanosecond heartbeat" not in body:
        raise IndexError_(f"{settings.chroma_url} answered, but not as a Chroma server (HTTP {response.status} to "
                          f"/api/v2/heartbeat). Check REVIEWER_CHROMA_URL.")


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def make_client(settings: Settings, *, create: bool = True, fresh: bool = False):
    """An embedded PersistentClient in ``settings.db``, or an HttpClient when ``chroma_url`` is set.

    ``fresh``: a new embedded client rather than the one chromadb shares per path in a process (whose
    vector index never sees what other processes wrote after it was loaded).

    With ``create=False`` a missing data directory or database is a :class:`NotFoundError` (nothing is
    created), and a database whose derived files remain but whose Chroma data is gone is reported as damaged.
    """
    from reviewer.index.paths import check_library_dir

    if settings.chroma_url:
        check_server(settings)
    else:
        check_library_dir(settings.db, create=create)
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            client = chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
            )
            _set_timeouts(client, settings)
            client.heartbeat()
        except Exception as exc:  # connection refused, DNS, TLS ...
            raise IndexError_(
                f"cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}). "
                "Start it with `chroma run --path DIR --host 127.0.0.1 --port N` or unset REVIEWER_CHROMA_URL."
            ) from None
        return client
    if create:
        settings.db.mkdir(parents=True, exist_ok=True)
    if fresh:
        _forget_shared_system(str(settings.db / "chroma"))
    try:
        return chromadb.PersistentClient(path=str(settings.db / "chroma"), settings=chroma_settings)
    except Exception as exc:  # a garbled or foreign chroma.sqlite3
        raise corrupt_database(settings, exc) from None


def _forget_shared_system(path: str) -> None:
    """Make the next PersistentClient for ``path`` load the database anew; clients already open keep theirs."""
    from chromadb.api.shared_system_client import SharedSystemClient

    for identifier in [i for i in SharedSystemClient._identifier_to_system if i == path]:
        SharedSystemClient._identifier_to_system.pop(identifier, None)
        SharedSystemClient._identifier_to_refcount.pop(identifier, None)


def corrupt_database(settings: Settings, exc: BaseException) -> IndexError_:
    return IndexError_(
        f"the Chroma database in {settings.db / 'chroma'} cannot be read ({type(exc).__name__}: "
        f"{str(exc)[:200]}). Rebuild the library by ingesting your sources again into a new --db."
    )


def _set_timeouts(client, settings: Settings) -> None:
    """chromadb's HTTP client waits forever by default; give it our connect and read timeouts."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is not None:
        session.timeout = httpx.Timeout(settings.chroma_read_timeout, connect=settings.chroma_connect_timeout)


class ServerLostError(IndexError_):
    """The Chroma server stopped answering in the middle of an operation."""


class _Guarded:
    """A chromadb collection whose network failures become a clear :class:`ServerLostError`."""

    def __init__(self, inner, where: str):
        self._inner = inner
        self._where = where

    def __getattr__(self, name):
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            try:
                return value(*args, **kwargs)
            except Exception as exc:
                if _is_connection_error(exc):
                    raise ServerLostError(
                        f"lost the Chroma server at {self._where} ({type(exc).__name__}); check that it is "
                        "running, then try again") from None
                raise

        return call


def _is_connection_error(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, httpx.TransportError)


class ChromaStore:
    """Papers in one Chroma collection, keyed by citation key."""

    def __init__(self, client, name: str, embedder_name: str, dimension: int, *, create: bool = True,
                 where: str = ""):
        self._client = _Guarded(client, where or "the configured URL")
        self.name = name
        self.embedder_name = embedder_name
        self.dimension = dimension
        self.create = create
        self._where = where
        self._collection = self._open()
        self._max_batch = max(1, int(self._client.get_max_batch_size()))
        # The vectors of every paper's sentences, for long-query scoring in hybrid search: one row per paper
        # (id = key, embedding = their normalised mean), the vectors themselves packed in its metadata, so
        # the vector index holds one entry per paper rather than one per sentence.
        self._sentences = self._get(
            f"{name}-sentences", metadata={"embedder": embedder_name, "dimension": dimension})

    # -- collection and its metadata -------------------------------------------------------------
    def _get(self, name: str, metadata: dict):
        """The collection ``name``, created (with ``metadata``) only when this store may create."""
        if self.create:
            found = self._client.get_or_create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}, metadata=metadata)
        else:
            try:
                found = self._client.get_collection(name, embedding_function=None)
            except ServerLostError:
                raise
            except Exception as exc:
                if "does not exist" not in str(exc):
                    raise
                from reviewer.errors import NotFoundError

                raise NotFoundError(
                    f"no library in {self._where}: its collection {name!r} does not exist. "
                    "Create it with `reviewer ingest PATH` (same --db / REVIEWER_CHROMA_URL)") from None
        return _Guarded(found, self._where or "the configured URL")

    def _open(self):
        collection = self._get(
            self.name, metadata={"embedder": self.embedder_name, "dimension": self.dimension, "revision": "empty"})
        meta = collection.metadata or {}
        built_with = (meta.get("embedder"), meta.get("dimension"))
        if built_with != (self.embedder_name, self.dimension):
            raise EmbedderMismatchError(
                f"the collection {self.name!r} was built with embedder {built_with[0]!r} "
                f"(dimension {built_with[1]}), but {self.embedder_name!r} (dimension {self.dimension}) is "
                "configured. Use the same embedder setting, or another --db / collection for the new embedder."
            )
        return collection

    def refresh(self) -> None:
        """Re-read the collection's metadata (another process may have written since it was opened)."""
        self._collection = self._open()

    def reconnect(self, client) -> None:
        """Use ``client`` from now on (a fresh one that sees what other processes wrote)."""
        self._client = _Guarded(client, self._where or "the configured URL")
        self._collection = self._open()
        self._sentences = self._get(
            f"{self.name}-sentences", metadata={"embedder": self.embedder_name, "dimension": self.dimension})

    @property
    def revision(self) -> str:
        return str((self._collection.metadata or {}).get("revision", "empty"))

    def new_revision(self) -> str:
        """Mark the collection as changing. Called before every write, so a crash leaves a new revision."""
        revision = uuid.uuid4().hex
        self._collection.modify(
            metadata={"embedder": self.embedder_name, "dimension": self.dimension, "revision": revision}
        )
        return revision

    # -- writes -----------------------------------------------------------------------------------
    def upsert_sentences(self, papers: Sequence[Paper], counts: Sequence[int], vectors: np.ndarray) -> None:
        """Sentence vectors of ``papers`` (``counts[i]`` rows each, in order). Written before the papers
        themselves, so a stored paper always has its sentences."""
        ids, means, metadatas, empty = [], [], [], []
        offset = 0
        for paper, n in zip(papers, counts):
            rows = np.asarray(vectors[offset:offset + n], dtype=np.float32)
            offset += n
            if n == 0:
                empty.append(paper.key)
                continue
            mean = rows.mean(axis=0)
            ids.append(paper.key)
            means.append(mean / (np.linalg.norm(mean) or 1.0))
            metadatas.append({"n": n, "vectors": base64.b64encode(rows.tobytes()).decode("ascii")})
        if empty:
            self._sentences.delete(ids=empty)
        for start in range(0, len(ids), self._max_batch):
            part = slice(start, start + self._max_batch)
            self._sentences.upsert(ids=ids[part], embeddings=np.asarray(means[part]), metadatas=metadatas[part])

    def _decode(self, meta: dict) -> np.ndarray:
        rows = np.frombuffer(base64.b64decode(meta["vectors"]), dtype=np.float32)
        return rows.reshape(int(meta["n"]), self.dimension)

    def sentence_vectors(self, keys: Sequence[str]) -> tuple[np.ndarray, list[str]]:
        """Sentence vectors of the given papers and the key each row belongs to."""
        page = self._sentences.get(ids=list(keys), include=["metadatas"])
        blocks = {key: self._decode(meta) for key, meta in zip(page["ids"], page["metadatas"])}
        owners = [key for key in keys if key in blocks for _ in range(len(blocks[key]))]
        rows = [blocks[key] for key in keys if key in blocks]
        return (np.concatenate(rows) if rows else np.zeros((0, self.dimension), np.float32)), owners

    def upsert(self, papers: Sequence[Paper], vectors: np.ndarray | None) -> None:
        """Write papers; ``vectors`` None means only their metadata changed (keep the stored vectors)."""
        if not papers:
            return
        ids = [p.key for p in papers]
        metadatas = [_metadata(p) for p in papers]
        documents = [p.embedding_text() for p in papers]
        for start in range(0, len(ids), self._max_batch):
            part = slice(start, start + self._max_batch)
            if vectors is None:  # same text: the stored document and vector stand
                self._collection.update(ids=ids[part], metadatas=metadatas[part])
            else:
                self._collection.upsert(ids=ids[part], embeddings=vectors[part], metadatas=metadatas[part],
                                        documents=documents[part])

    # -- reads ------------------------------------------------------------------------------------
    def count(self) -> int:
        return self._collection.count()

    def records(self) -> dict[str, StoredRecord]:
        """Every stored paper, by key (paged, so large collections do not need one huge response)."""
        out: dict[str, StoredRecord] = {}
        total = self.count()
        for offset in range(0, total, _GET_PAGE):
            page = self._collection.get(include=["metadatas"], limit=_GET_PAGE, offset=offset)
            for key, meta in zip(page["ids"], page["metadatas"]):
                out[key] = StoredRecord(_paper(key, meta), str(meta.get("content_hash", "")))
        return out

    def all_vectors(self) -> tuple[list[str], np.ndarray]:
        """Every paper's key and vector (paged)."""
        keys, vectors = [], []
        for offset in range(0, self.count(), _GET_PAGE):
            page = self._collection.get(include=["embeddings"], limit=_GET_PAGE, offset=offset)
            keys += page["ids"]
            vectors.append(np.asarray(page["embeddings"], dtype=np.float32))
        return keys, (np.concatenate(vectors) if vectors else np.zeros((0, self.dimension), np.float32))

    def all_sentence_vectors(self) -> tuple[list[tuple[str, int]], np.ndarray]:
        """Every sentence vector with its (paper key, sentence number)."""
        owners, vectors = [], []
        for offset in range(0, self._sentences.count(), _GET_PAGE):
            page = self._sentences.get(include=["metadatas"], limit=_GET_PAGE, offset=offset)
            for key, meta in zip(page["ids"], page["metadatas"]):
                block = self._decode(meta)
                owners += [(key, i) for i in range(len(block))]
                vectors.append(block)
        return owners, (np.concatenate(vectors) if vectors else np.zeros((0, self.dimension), np.float32))

    def get(self, keys: Iterable[str]) -> dict[str, Paper]:
        keys = list(keys)
        if not keys:
            return {}
        page = self._collection.get(ids=keys, include=["metadatas"])
        return {key: _paper(key, meta) for key, meta in zip(page["ids"], page["metadatas"])}

    def query(self, vector: np.ndarray, k: int, ids: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """Nearest papers to ``vector`` as (key, cosine similarity), best first; only among ``ids`` if given."""
        if k <= 0 or (ids is not None and not ids):
            return []
        result = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=k if ids is None else min(k, len(ids)),
            ids=list(ids) if ids is not None else None,
            include=["distances"],
        )
        return [(key, 1.0 - float(d)) for key, d in zip(result["ids"][0], result["distances"][0])]


def _metadata(paper: Paper) -> dict:
    record = paper.model_dump(exclude={"key"}, exclude_none=True)
    meta: dict = {
        "paper": json.dumps(record, ensure_ascii=False, sort_keys=True),
        "content_hash": paper.content_hash,
        "title": paper.title,
        "norm_title": paper.norm_title,
        "sources": "\n".join(sorted({p.rsplit(":", 1)[0] for p in paper.provenance})),
    }
    if paper.year is not None:
        meta["year"] = paper.year
    for name in ("venue", "doi", "arxiv_id"):
        value = getattr(paper, name)
        if value:
            meta[name] = value
    if paper.doi:
        meta["doi_norm"] = normalize_doi(paper.doi) or ""
    if paper.arxiv_id:
        meta["arxiv_norm"] = normalize_arxiv_id(paper.arxiv_id) or ""
    return meta


def _paper(key: str, meta: dict) -> Paper:
    try:
        return Paper(key=key, **json.loads(meta["paper"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise IndexError_(
            f"stored paper {key!r} has no readable record ({exc}); the collection was not written by reviewer. "
            "Point --db / REVIEWER_CHROMA_URL at a reviewer collection or choose another collection name."
        ) from None
