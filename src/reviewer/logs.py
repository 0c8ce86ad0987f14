"""The answer log: every ask, compare, review and chat answer of the CLI, in SQLite (``logs.db`` in the user data
directory, or in ``$REVIEWER_DATA_DIR``), so that what was asked last week can be found again (``reviewer logs``).

A record holds the question (or methods, or topic), the command, engine, model and endpoint (never a key or
credentials: the endpoint is written as :func:`reviewer.llm.endpoint_name` shows it), the library, the evidence
keys, the checked answer as shown, its warnings, tokens, cost and how long it took. Turn it off with the
``log`` setting (``REVIEWER_LOG=false``, or ``reviewer config set log false``) or ``--no-log`` on one command.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from reviewer.errors import NotFoundError, ReviewerError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    command TEXT NOT NULL,
    question TEXT NOT NULL,
    engine TEXT NOT NULL,
    model TEXT,
    endpoint TEXT,
    library TEXT NOT NULL,
    status TEXT,
    evidence TEXT NOT NULL,
    citations TEXT NOT NULL,
    text TEXT NOT NULL,
    warnings TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    seconds REAL NOT NULL
)
"""


@dataclass
class LogEntry:
    """One logged answer. ``evidence``/``citations``: keys; ``text``: the checked answer (Markdown for a
    comparison, a summary and the folder for a review)."""

    command: str
    question: str
    engine: str
    library: str
    text: str
    model: str | None = None
    endpoint: str | None = None
    status: str | None = None
    evidence: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    time: str = ""
    id: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def log_path() -> Path:
    from reviewer.config import data_dir

    return data_dir() / "logs.db"


class AnswerLog:
    """The log database at ``path`` (default :func:`log_path`), created on the first write."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else log_path()

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if not create and not self.path.exists():
            return None
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10)
            db.execute(_SCHEMA)
            return db
        except (OSError, sqlite3.Error) as exc:
            raise ReviewerError(f"cannot open the answer log {self.path}: {exc}; set REVIEWER_DATA_DIR to a folder "
                                "you can write to, or turn logging off (REVIEWER_LOG=false)") from None

    def add(self, entry: LogEntry) -> int:
        """Store ``entry`` (its time is set now); returns its id."""
        entry.time = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
        row = asdict(entry)
        row.pop("id")
        for name in ("evidence", "citations", "warnings"):
            row[name] = json.dumps(row[name], ensure_ascii=False)
        db = self._connect(create=True)
        with db:
            cursor = db.execute(f"INSERT INTO answers ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                                list(row.values()))
        db.close()
        entry.id = cursor.lastrowid
        return entry.id

    def latest(self, limit: int = 20) -> list[LogEntry]:
        """The ``limit`` latest entries, newest first."""
        return self._query("ORDER BY id DESC LIMIT ?", (limit,))

    def get(self, entry_id: int) -> LogEntry:
        found = self._query("WHERE id = ?", (entry_id,))
        if not found:
            raise NotFoundError(f"no logged answer with id {entry_id}: `reviewer logs` lists the latest")
        return found[0]

    def search(self, text: str, limit: int = 20) -> list[LogEntry]:
        """Entries whose question, answer or keys contain ``text`` (any case), newest first."""
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return self._query("WHERE question LIKE ? ESCAPE '\\' OR text LIKE ? ESCAPE '\\' OR evidence LIKE ? ESCAPE '\\' "
                           "ORDER BY id DESC LIMIT ?", (like, like, like, limit))

    def _query(self, where: str, parameters: tuple) -> list[LogEntry]:
        db = self._connect(create=False)
        if db is None:
            return []
        with db:
            db.row_factory = sqlite3.Row
            rows = db.execute(f"SELECT * FROM answers {where}", parameters).fetchall()
        db.close()
        entries = []
        for row in rows:
            data = dict(row)
            for name in ("evidence", "citations", "warnings"):
                data[name] = json.loads(data[name])
            entries.append(LogEntry(**data))
        return entries


class Timer:
    """Seconds since it was made (``Timer().seconds``)."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 3)


def entry_for(command: str, question: str, result, library, *, text: str | None = None, seconds: float = 0.0,
              llm=None) -> LogEntry:
    """A log entry for the Answer, Comparison or Draft ``result`` of ``command``."""
    from reviewer.llm import endpoint_name

    usage = result.usage
    evidence = getattr(result, "evidence", None)
    if isinstance(evidence, dict):  # a Comparison: evidence per method
        keys = list(dict.fromkeys(e.key for items in evidence.values() for e in items))
    elif evidence is not None:
        keys = [e.key for e in evidence]
    else:  # a Draft: every reviewed paper
        keys = list(result.papers)
    citations = [p.key for p in result.citations] if isinstance(result.citations, list) else \
        [p.key for p in result.citations()]
    settings = library.settings.llm
    uses_model = result.engine == "llm"
    return LogEntry(
        command=command, question=question, engine=result.engine, library=library.settings.chroma_url or str(Path(library.settings.db).resolve()),
        text=text if text is not None else result.text, status=getattr(result, "status", None),
        model=(llm.model_name if llm is not None else settings.model) if uses_model else None,
        endpoint=endpoint_name(settings) if uses_model else None,
        evidence=keys, citations=citations, warnings=list(result.warnings),
        input_tokens=usage.input_tokens, output_tokens=usage.output_tokens, cost_usd=round(usage.cost, 6),
        seconds=seconds)


def record(library, entry: LogEntry, *, enabled: bool = True) -> int | None:
    """Add ``entry`` unless logging is off (``enabled`` False: --no-log; or the ``log`` setting)."""
    if not enabled or not library.settings.log:
        return None
    return AnswerLog().add(entry)
