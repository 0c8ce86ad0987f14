"""Indexes derived from the Chroma collection and kept beside it in the data directory.

Each lives in ``<db>/<name>-<revision>/``, written completely before ``<db>/<name>.json`` is pointed at it
(atomic rename), so a reader sees the old index or the new one, never half of one; old directories are
then removed. The revision is the collection's: a derived index of another revision is stale.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def save_dir(db: Path, name: str, revision: str, write: Callable[[Path], None]) -> Path:
    db.mkdir(parents=True, exist_ok=True)
    target = db / f"{name}-{revision}"
    tmp = db / f".{name}-{revision}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    write(tmp)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    pointer_tmp = db / f".{name}.json.tmp{os.getpid()}"
    pointer_tmp.write_text(json.dumps({"revision": revision, "dir": target.name}), encoding="utf-8")
    os.replace(pointer_tmp, db / f"{name}.json")
    for old in db.glob(f"{name}-*"):
        if old.name != target.name:
            shutil.rmtree(old, ignore_errors=True)
    return target


def current_dir(db: Path, name: str) -> tuple[Path, str] | None:
    """(directory, revision) of the saved index ``name``, or None."""
    try:
        pointer = json.loads((db / f"{name}.json").read_text(encoding="utf-8"))
        return db / pointer["dir"], pointer["revision"]
    except (OSError, ValueError, KeyError):
        return None


def load_dir(db: Path, name: str, read: Callable[[Path, list[str], str], T]) -> T | None:
    """``read(folder, keys, revision)`` on the saved index ``name`` (its keys.json already read), or None when
    there is none or it cannot be read (the caller then rebuilds it)."""
    found = current_dir(db, name)
    if found is None:
        return None
    folder, revision = found
    try:
        keys = json.loads((folder / "keys.json").read_text(encoding="utf-8"))
        return read(folder, keys, revision)
    except (OSError, ValueError, KeyError):
        return None
