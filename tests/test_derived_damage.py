"""Damaged derived files (keyword index, vector mirror) are detected by their header and rebuilt from Chroma
with one warning; results are the same as before the damage."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import seed_papers, write_listing


def _folder(db, name):
    return db / json.loads((db / f"{name}.json").read_text())["dir"]


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path):
    data = bytearray(path.read_bytes())
    data[200:260] = b"\xff" * 60
    path.write_bytes(bytes(data))


def _replace_by_file(path):
    shutil.rmtree(path)
    path.write_text("not a folder")


def _wrong_shape(path):
    np.save(path, np.zeros((3, 7), dtype=np.float32))


def _huge_offsets(path):
    offsets = np.load(path)
    offsets[1:] = 10**12
    np.save(path, offsets)


def _shuffle_keys(path):
    keys = json.loads(path.read_text())
    path.write_text(json.dumps(keys[1:] + keys[:1]))


DAMAGE = {
    "truncated papers.npy": ("vectors", "papers.npy", _truncate),
    "garbled sentences.npy": ("vectors", "sentences.npy", _garble),
    "wrong shape papers.npy": ("vectors", "papers.npy", _wrong_shape),
    "huge offsets": ("vectors", "offsets.npy", _huge_offsets),
    "shuffled vector keys": ("vectors", "keys.json", _shuffle_keys),
    "vector folder replaced by a file": ("vectors", None, _replace_by_file),
    "shuffled keyword keys": ("keyword", "keys.json", _shuffle_keys),
    "truncated keyword index": ("keyword", "data.csc.index.npy", _truncate),
    "keyword folder replaced by a file": ("keyword", None, _replace_by_file),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory, minilm):
    """A small library, saved once; each test damages a copy of it."""
    from reviewer.config import Settings
    from reviewer.library import Library

    root = tmp_path_factory.mktemp("derived")
    papers = seed_papers(8)
    library = Library.open(settings=Settings(db=root / "db"), embedder=minilm)
    library.ingest([write_listing(root / "l.txt", papers)])
    expected = {mode: [h.key for h in library.search(papers[3].title, k=5, mode=mode)] for mode in ("hybrid", "bm25")}
    return root / "db", papers[3].title, expected


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damage_is_rebuilt_with_one_warning(built, tmp_path, minilm, case):
    from reviewer.config import Settings
    from reviewer.library import Library

    source, query, expected = built
    db = tmp_path / "db"
    shutil.copytree(source, db)
    name, file, damage = DAMAGE[case]
    folder = _folder(db, name)
    damage(folder / file if file else folder)

    library = Library.open(settings=Settings(db=db), embedder=minilm, create=False)
    notes: list[str] = []
    library.notify = notes.append
    for _ in range(2):
        for mode, keys in expected.items():
            assert [h.key for h in library.search(query, k=5, mode=mode)] == keys
    what = "vector mirror" if name == "vectors" else "keyword index"
    assert len(notes) == 1 and notes[0].startswith(f"the {what} was damaged (")
    assert notes[0].endswith("); rebuilt from the Chroma collection")
    # the rebuilt file is saved: a new process finds it sound
    again = Library.open(settings=Settings(db=db), embedder=minilm, create=False)
    again.notify = notes.append
    again.search(query, k=5)
    assert len(notes) == 1
