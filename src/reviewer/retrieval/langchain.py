"""A LangChain retriever over a reviewer library, to drop reviewer into your own chains.

    from reviewer import Library
    from reviewer.retrieval.langchain import ReviewerRetriever
    retriever = ReviewerRetriever(library=Library.open(), k=5)
    docs = retriever.invoke("sparse retrieval")      # Documents with key, title, provenance in metadata
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict


class ReviewerRetriever(BaseRetriever):
    """Hybrid search of a :class:`reviewer.Library` as LangChain ``Document``s (content: title + abstract)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    library: Any
    k: int = 8
    mode: str | None = None
    mmr: bool = False
    filters: Any = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self.library.search(query, k=self.k, mode=self.mode, mmr=self.mmr, filters=self.filters)
        return [
            Document(
                page_content=f"{hit.paper.title}\n\n{hit.paper.abstract}",
                metadata={"key": hit.key, "title": hit.title, "provenance": list(hit.paper.provenance),
                          "score": hit.score, "found_by": list(hit.found_by), "year": hit.paper.year},
                id=hit.key,
            )
            for hit in hits
        ]
