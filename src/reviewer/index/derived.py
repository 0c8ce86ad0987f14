"""Indexes derived from the Chroma collection and kept beside it in the data directory.

Each lives in ``<db>/<name>-<revision>/``, written completely before ``<db>/<name>.json`` is pointed at it
(atomic rename), so a reader sees the old index or the new one, never half of one; old directories are
then removed. The revision is the collection's: a derived index of another revision is stale.

The pointer is also a header: the number of papers, and each file's size and SHA-256 (files up to
``HASHED_BYTES``; larger ones by size, their shapes checked by the reader). A saved index that does not match
its header, or that cannot be read at all, is reported (:class:`Unusable`) so the caller rebuilds it from
Chroma and says so once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
HASHED_BYTES = 64 * 1024 * 1024


class Unusable(Exception):
    """A saved derived index that exists but cannot be trusted; ``str()`` says why."""


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _manifest(folder: Path) -> dict:
    files = {}
    for path in sorted(folder.iterdir()):
        size = path.stat().st_size
        files[path.name] = {"size": size, **({"sha256": _digest(path)} if size <= HASHED_BYTES else {})}
    return files


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def save_dir(db: Path, name: str, revision: str, write: Callable[[Path], None], count: int = 0) -> Path:
    db.mkdir(parents=True, exist_ok=True)
    target = db / f"{name}-{revision}"
    tmp = db / f".{name}-{revision}.tmp{os.getpid()}"
    _remove(tmp)
    tmp.mkdir()
    write(tmp)
    files = _manifest(tmp)
    _remove(target)
    os.replace(tmp, target)
    pointer_tmp = db / f".{name}.json.tmp{os.getpid()}"
    header = {"revision": revision, "dir": target.name, "count": count, "files": files}
    pointer_tmp.write_text(json.dumps(header), encoding="utf-8")
    os.replace(pointer_tmp, db / f"{name}.json")
    for old in db.glob(f"{name}-*"):
        if old.name != target.name:
            _remove(old)
    return target


def _pointer(db: Path, name: str) -> dict | None:
    path = db / f"{name}.json"
    if not path.exists():
        return None
    try:
        pointer = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(pointer, dict) or not isinstance(pointer.get("dir"), str):
            raise ValueError("not a header")
        return pointer
    except (OSError, ValueError) as exc:
        raise Unusable(f"{path} is unreadable ({exc})") from None


def current_dir(db: Path, name: str) -> tuple[Path, str] | None:
    """(directory, revision) of the saved index ``name``, or None."""
    try:
        pointer = _pointer(db, name)
    except Unusable:
        return None
    return (db / pointer["dir"], str(pointer.get("revision"))) if pointer else None


def recorded_count(db: Path, name: str) -> int:
    """How many papers the saved index ``name`` says it holds (0 when there is none or it is unreadable)."""
    try:
        pointer = _pointer(db, name)
    except Unusable:
        return 0
    count = (pointer or {}).get("count", 0)
    return count if isinstance(count, int) else 0


def load_dir(db: Path, name: str, read: Callable[[Path, list[str], str], T]) -> T | None:
    """``read(folder, keys, revision)`` on the saved index ``name`` (its keys.json already read and every
    file checked against the header), or None when there is none. Raises :class:`Unusable` when it exists
    but does not match its header or cannot be read (the caller then rebuilds it)."""
    pointer = _pointer(db, name)
    if pointer is None:
        return None
    folder = db / pointer["dir"]
    if not folder.is_dir():
        raise Unusable(f"{folder} is missing or not a folder")
    for file, expected in (pointer.get("files") or {}).items():
        path = folder / file
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise Unusable(f"{path}: {exc.strerror}") from None
        if size != expected.get("size"):
            raise Unusable(f"{path} has {size} bytes, its header says {expected.get('size')}")
        if "sha256" in expected and _digest(path) != expected["sha256"]:
            raise Unusable(f"{path} does not match its checksum")
    try:
        keys = json.loads((folder / "keys.json").read_text(encoding="utf-8"))
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError("keys.json is not a list of keys")
        if "count" in pointer and len(keys) != pointer["count"]:
            raise ValueError(f"{len(keys)} keys, header says {pointer['count']}")
        return read(folder, keys, str(pointer.get("revision")))
    except Unusable:
        raise
    except Exception as exc:  # truncated or garbled files: numpy and bm25s raise many kinds
        raise Unusable(f"{folder}: {type(exc).__name__}: {str(exc)[:200]}") from None
