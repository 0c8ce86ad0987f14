"""reviewer: a literature-review agent grounded in your own collection of papers.

    from reviewer import Library
    lib = Library.open(db=".reviewer")
    lib.ingest(["papers.bib"])
    for hit in lib.search("retrieval-augmented generation", k=5):
        print(hit.key, hit.title)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["Library", "ChatSession", "Answer", "Comparison", "Draft", "Hit", "Paper", "IngestReport", "Settings",
           "ReviewerError"]
__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from reviewer.chains.ask import Answer
    from reviewer.chains.compare import Comparison
    from reviewer.config import Settings
    from reviewer.corpus.model import Paper
    from reviewer.draft import Draft
    from reviewer.errors import ReviewerError
    from reviewer.index.ingest import IngestReport
    from reviewer.library import Hit, Library
    from reviewer.session import ChatSession

_LAZY = {
    "Library": "reviewer.library",
    "ChatSession": "reviewer.session",
    "Answer": "reviewer.chains.ask",
    "Comparison": "reviewer.chains.compare",
    "Draft": "reviewer.draft",
    "Hit": "reviewer.library",
    "Paper": "reviewer.corpus.model",
    "IngestReport": "reviewer.index.ingest",
    "Settings": "reviewer.config",
    "ReviewerError": "reviewer.errors",
}


def __getattr__(name: str):
    # Imported on first use so `import reviewer` (and `reviewer --help`) stay fast.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'reviewer' has no attribute {name!r}")
