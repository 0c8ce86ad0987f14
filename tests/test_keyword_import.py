"""The keyword index imports bm25s without scipy (start-up time and memory of every search process), with the
same scores as when scipy is loaded, and leaves scipy importable afterwards."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
if sys.argv[1] == "scipy-first":
    import scipy.sparse
from reviewer.index.keyword import KeywordIndex
texts = ["In-context learning in large language models", "Sparse retrieval with BM25 and learned expansions",
         "Dense passage retrieval for open-domain question answering", "Learning to rank papers by citations"]
index = KeywordIndex.build(["a", "b", "c", "d"], texts, "r1")
out = {"scipy": "scipy" in sys.modules, "scores": index.scores("retrieval learning").tolist(),
       "top": index.search("retrieval for question answering", 3)}
import scipy.sparse  # still importable afterwards (scikit-learn needs it in the same process)
print(json.dumps(out))
"""


def _run(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_bm25_without_scipy_scores_the_same():
    without, with_scipy = _run("plain"), _run("scipy-first")
    assert without["scipy"] is False
    assert with_scipy["scipy"] is True
    assert without["scores"] == with_scipy["scores"]
    assert without["top"] == with_scipy["top"] and without["top"][0][0] == "c"
