"""The same library and query give the same ranking in every process: the dense candidates are the exact
nearest papers of the vector mirror (not Chroma's approximate HNSW list), ties broken by key."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import seed_papers, unit, write_listing
from reviewer.retrieval.search import exact_nearest

WEAK_QUERY = "Which tomato varieties grow best in a cold, wet garden?"  # nothing in the library is about it

_SEARCH = """
import json, sys
from reviewer.library import Library
library = Library.open(db=sys.argv[1])
out = {mode: [[h.key, round(h.score, 6)] for h in library.search(sys.argv[2], k=30, mode=mode)]
       for mode in ("dense", "hybrid")}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def db(tmp_path_factory, minilm):
    from reviewer.config import Settings
    from reviewer.library import Library

    root = tmp_path_factory.mktemp("determinism")
    Library.open(settings=Settings(db=root / "db"), embedder=minilm).ingest(
        [write_listing(root / "listing.txt", seed_papers(60, "003_afd7636b7b7e31f6.txt"))])
    return root / "db"


class _Mirror:
    def __init__(self, keys, vectors):
        self.keys, self.vectors = keys, np.asarray(vectors, dtype=np.float32)

    def similarities(self, query, keys=None):
        rows = range(len(self.keys)) if keys is None else [self.keys.index(k) for k in keys if k in self.keys]
        return [self.keys[i] for i in rows], self.vectors[list(rows)] @ np.asarray(query, dtype=np.float32)


def test_exact_nearest_is_exact_and_breaks_ties_by_key():
    mirror = _Mirror(["d", "b", "c", "a"], [unit([1, 0]), unit([1, 1]), unit([1, 1]), unit([0, 1])])
    assert exact_nearest(mirror, unit([1, 1]), 3) == [("b", pytest.approx(1.0)), ("c", pytest.approx(1.0)),
                                                      ("a", pytest.approx(0.7071068)), ]
    assert [k for k, _ in exact_nearest(mirror, unit([1, 0]), 10, allowed=["a", "c"])] == ["c", "a"]
    assert exact_nearest(mirror, unit([1, 0]), 5, allowed=[]) == []


def test_the_dense_list_is_the_exact_nearest_papers(db, minilm):
    from reviewer.config import Settings
    from reviewer.library import Library

    library = Library.open(settings=Settings(db=db), embedder=minilm)
    mirror = library.vector_mirror()
    query = minilm.embed_array([WEAK_QUERY])[0]
    scores = mirror.paper_vectors(mirror.keys) @ query
    best = sorted(range(len(mirror.keys)), key=lambda i: (-scores[i], mirror.keys[i]))[:10]
    assert [k for k, _ in exact_nearest(mirror, query, 10)] == [mirror.keys[i] for i in best]


@pytest.mark.slow
def test_a_weak_query_ranks_the_same_in_three_processes(db):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REVIEWER_", "OPENAI_"))}
    runs = [subprocess.Popen([sys.executable, "-c", _SEARCH, str(db), WEAK_QUERY], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    results = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        results.append(json.loads(out))
    assert results[0] == results[1] == results[2]
    assert len(results[0]["dense"]) == len(results[0]["hybrid"]) == 30
