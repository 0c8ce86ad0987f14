"""BM25 keyword index (bm25s) persisted beside the Chroma data.

It is rebuilt from the stored papers whenever the collection's revision differs from the one it was
built from, so it is always in sync with Chroma, even after a crash between the two writes.
Saved as a derived index (see :mod:`reviewer.index.derived`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from reviewer.index.derived import load_dir, save_dir

NAME = "keyword"
STOPWORDS = "en"


def _bm25s():
    """bm25s, imported without scipy when scipy is not loaded yet.

    bm25s imports scipy.sparse only to offer it as an optional backend; reviewer uses its default numpy
    backend (``BM25()``; ``BM25.load`` uses it too), so the scores are the same either way. Not
    importing scipy saves about 0.3-0.8 s and 15 MB in every search process (scipy comes with scikit-learn)."""
    import sys

    if "bm25s" in sys.modules or "scipy" in sys.modules:
        import bm25s

        return bm25s
    sys.modules["scipy"] = None  # type: ignore[assignment]  # `import scipy...` raises ImportError meanwhile
    try:
        import bm25s
    finally:
        if sys.modules.get("scipy", 0) is None:
            del sys.modules["scipy"]
    return bm25s


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-case word tokens, English stopwords removed, Snowball-stemmed (same for documents and queries)."""
    return _bm25s().tokenize(
        list(texts), stopwords=STOPWORDS, stemmer=_stemmer(), return_ids=False, show_progress=False
    )


class KeywordIndex:
    """A BM25 index over title + abstract of every stored paper."""

    def __init__(self, keys: list[str], bm25, revision: str):
        self.keys = keys
        self.revision = revision
        self._bm25 = bm25

    @classmethod
    def build(cls, keys: Sequence[str], texts: Sequence[str], revision: str) -> "KeywordIndex":
        bm25 = _bm25s().BM25()
        if keys:
            bm25.index(tokenize(texts), show_progress=False)
        return cls(list(keys), bm25 if keys else None, revision)

    # -- persistence --------------------------------------------------------------------------------
    def save(self, db: Path) -> None:
        def write(folder: Path) -> None:
            if self._bm25 is not None:
                self._bm25.save(str(folder), show_progress=False)
            (folder / "keys.json").write_text(json.dumps(self.keys), encoding="utf-8")

        save_dir(db, NAME, self.revision, write, count=len(self.keys))

    @classmethod
    def load(cls, db: Path) -> "KeywordIndex | None":
        """The saved index, or None when there is none; :class:`~reviewer.index.derived.Unusable` when it cannot
        be trusted (the caller rebuilds it)."""
        bm25s = _bm25s()

        def read(folder: Path, keys: list[str], revision: str) -> "KeywordIndex":
            bm25 = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0) if keys else None
            return cls(keys, bm25, revision)

        return load_dir(db, NAME, read)

    # -- search -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.keys)

    def _positions(self) -> dict[str, int]:
        if getattr(self, "_position_cache", None) is None:
            self._position_cache = {key: i for i, key in enumerate(self.keys)}
        return self._position_cache

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed paper for ``query`` (aligned with ``self.keys``)."""
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        tokens = tokenize([query])[0]
        ids = self._bm25.get_tokens_ids(tokens)
        if not ids:
            return np.zeros(len(self.keys), dtype=np.float32)
        return self._bm25.get_scores_from_ids(ids)

    def search(self, query: str, k: int, allowed: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (key, BM25 score) with a positive score, best first; ties broken by key.
        With ``allowed``, only those keys are ranked."""
        scores = self.scores(query)
        if scores.size == 0 or k <= 0:
            return []
        if allowed is not None:
            mask = np.zeros(scores.size, dtype=bool)
            position = self._positions()
            mask[[position[key] for key in allowed if key in position]] = True
            scores = np.where(mask, scores, 0.0)
        k = min(k, scores.size)
        top = np.argpartition(-scores, k - 1)[:k]
        ranked = sorted(top, key=lambda i: (-float(scores[i]), self.keys[i]))
        return [(self.keys[i], float(scores[i])) for i in ranked if scores[i] > 0]
