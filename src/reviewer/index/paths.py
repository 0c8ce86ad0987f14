"""The data directory: what must be there before a library is read, and what may be created.

Only an ingest creates a library. Every other command opens an existing one, so a mistyped ``--db`` is an
error naming the path, not a new empty library. A directory whose derived indexes remain but whose Chroma
database is gone (or empty) is damaged, not empty.
"""

from __future__ import annotations

import os
from pathlib import Path

from reviewer.errors import IndexError_, InputError, NotFoundError

DERIVED_POINTERS = ("keyword.json", "vectors.json")


def check_library_dir(db: Path, *, create: bool) -> None:
    """Raise a clear error when ``db`` cannot hold (create) or does not hold (read) a library."""
    db = Path(db)
    if db.exists() and not db.is_dir():
        raise InputError(f"the data directory {db} is a file, not a folder: point --db / REVIEWER_DB at a folder")
    if create:
        _check_writable(db)
        return
    if not db.exists():
        raise NotFoundError(f"no library in {db} (no such folder): create one with `reviewer ingest PATH --db {db}`, "
                            "or point --db / REVIEWER_DB at an existing library")
    sqlite = db / "chroma" / "chroma.sqlite3"
    has_derived = any((db / name).exists() for name in DERIVED_POINTERS)
    if sqlite.is_file() and sqlite.stat().st_size > 0:
        return
    if has_derived or sqlite.exists():
        what = "is empty" if sqlite.exists() else "is missing"
        raise IndexError_(f"the library in {db} is damaged: its Chroma database {sqlite} {what}, although its "
                          "keyword index and vectors remain. Restore the folder from a backup, or ingest your "
                          "sources again into a new --db")
    raise NotFoundError(f"no library in {db} (no Chroma database in it): create one with "
                        f"`reviewer ingest PATH --db {db}`")


def _check_writable(db: Path) -> None:
    existing = db
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"cannot create the data directory {db}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"the data directory {db} is not writable ({existing} is read-only): "
                         "choose another --db / REVIEWER_DB or fix its permissions")
