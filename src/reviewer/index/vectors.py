"""A local, memory-mapped copy of the collection's vectors (papers and their sentences).

Hybrid search reads the vectors of a few hundred candidates and their sentences per query; reading them
from Chroma costs tens of milliseconds, from this mirror well under one. It is a derived index (see
:mod:`reviewer.index.derived`): rebuilt from Chroma whenever the collection's revision moves, so it can
never disagree with it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reviewer.index.derived import load_dir, save_dir

NAME = "vectors"


class VectorMirror:
    def __init__(self, keys: list[str], papers: np.ndarray, sentences: np.ndarray, offsets: np.ndarray,
                 revision: str):
        self.keys = keys
        self.revision = revision
        self._row = {key: i for i, key in enumerate(keys)}
        self._papers = papers
        self._sentences = sentences
        self._offsets = offsets  # sentences of paper i: rows offsets[i] .. offsets[i+1]

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def build(cls, store, revision: str) -> "VectorMirror":
        keys, papers = store.all_vectors()
        owners, sentence_vectors = store.all_sentence_vectors()
        row = {key: i for i, key in enumerate(keys)}
        order = sorted(range(len(owners)), key=lambda j: (row.get(owners[j][0], -1), owners[j][1]))
        order = [j for j in order if owners[j][0] in row]
        counts = np.zeros(len(keys) + 1, dtype=np.int64)
        for j in order:
            counts[row[owners[j][0]] + 1] += 1
        sentences = sentence_vectors[order] if order else np.zeros((0, papers.shape[1] if papers.size else 0), np.float32)
        return cls(keys, papers, sentences.astype(np.float32), np.cumsum(counts), revision)

    def save(self, db: Path) -> None:
        def write(folder: Path) -> None:
            (folder / "keys.json").write_text(json.dumps(self.keys), encoding="utf-8")
            np.save(folder / "papers.npy", self._papers)
            np.save(folder / "sentences.npy", self._sentences)
            np.save(folder / "offsets.npy", self._offsets)

        save_dir(db, NAME, self.revision, write, count=len(self.keys))

    @classmethod
    def load(cls, db: Path) -> "VectorMirror | None":
        def read(folder: Path, keys: list[str], revision: str) -> "VectorMirror":
            papers = np.load(folder / "papers.npy", mmap_mode="r", allow_pickle=False)
            sentences = np.load(folder / "sentences.npy", mmap_mode="r", allow_pickle=False)
            offsets = np.load(folder / "offsets.npy", allow_pickle=False)
            _check_shapes(len(keys), papers, sentences, offsets)
            return cls(keys, papers, sentences, offsets, revision)

        return load_dir(db, NAME, read)

    def __contains__(self, key: str) -> bool:
        return key in self._row

    def similarities(self, query: np.ndarray, keys: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
        """(keys, their papers' dot products with ``query``): every paper, or those of ``keys`` that it holds."""
        query = np.asarray(query, dtype=np.float32)
        if not self.keys:
            return [], np.zeros(0, np.float32)
        if keys is None:
            return list(self.keys), np.asarray(self._papers @ query, dtype=np.float32)
        kept = [k for k in keys if k in self._row]
        return kept, (self.paper_vectors(kept) @ query if kept else np.zeros(0, np.float32))

    def paper_vectors(self, keys: Sequence[str]) -> np.ndarray:
        return np.asarray(self._papers[[self._row[k] for k in keys]], dtype=np.float32)

    def sentence_vectors(self, keys: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        """Sentence vectors of ``keys`` and, for each row, the index in ``keys`` of the paper it belongs to."""
        spans = [(self._offsets[self._row[k]], self._offsets[self._row[k] + 1]) for k in keys]
        owners = [i for i, (start, end) in enumerate(spans) for _ in range(end - start)]
        if not owners:
            return np.zeros((0, self._papers.shape[1]), dtype=np.float32), []
        rows = np.concatenate([np.arange(start, end) for start, end in spans])
        return np.asarray(self._sentences[rows], dtype=np.float32), owners


def _check_shapes(count: int, papers, sentences, offsets) -> None:
    """Raise ValueError unless the arrays fit together: one paper row per key, offsets 0..len(sentences)
    rising (corrupt offsets would otherwise ask for absurd amounts of memory)."""
    if papers.ndim != 2 or papers.shape[0] != count or papers.dtype != np.float32:
        raise ValueError(f"papers.npy has shape {papers.shape} {papers.dtype}, expected ({count}, d) float32")
    if sentences.ndim != 2 or (sentences.shape[0] and sentences.shape[1] != papers.shape[1]):
        raise ValueError(f"sentences.npy has shape {sentences.shape}, expected (n, {papers.shape[1]})")
    if offsets.shape != (count + 1,) or offsets.dtype.kind != "i":
        raise ValueError(f"offsets.npy has shape {offsets.shape}, expected ({count + 1},)")
    if offsets[0] != 0 or offsets[-1] != sentences.shape[0] or np.any(np.diff(offsets) < 0):
        raise ValueError("offsets.npy does not run from 0 to the number of sentences")
