"""The corpus: Paper records read from files (parsers), deduplicated (dedupe), keyed (keys)."""

from __future__ import annotations

from reviewer.corpus.keys import assign_keys, make_base_key
from reviewer.corpus.loader import LoadResult, load
from reviewer.corpus.model import Paper, ParseResult, Skip

__all__ = ["Paper", "Skip", "ParseResult", "LoadResult", "load", "assign_keys", "make_base_key"]
