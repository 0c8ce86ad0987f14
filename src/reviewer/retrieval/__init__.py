"""Retrieval building blocks: rank fusion, long-query (sentence-window) scoring, and MMR."""

from reviewer.retrieval.fusion import (
    coverage_scores,
    long_query_dense_scores,
    pack_sentences,
    rrf,
    sentence_windows,
    split_sentences,
)
from reviewer.retrieval.mmr import mmr
from reviewer.retrieval.search import MODES, Filters, search

__all__ = [
    "rrf",
    "coverage_scores",
    "long_query_dense_scores",
    "split_sentences",
    "sentence_windows",
    "pack_sentences",
    "mmr",
    "Filters",
    "MODES",
    "search",
]
