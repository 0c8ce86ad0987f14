"""The no-LLM engine: answers made of the collection's own sentences, each with its citation.

Used when no model endpoint is configured. It is useful, not a placeholder: every abstract sentence of the
evidence is embedded and the sentences most similar to the question are returned (at most two per paper,
so the answer has breadth), each followed by the key of the paper it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from reviewer.evidence import Evidence

NO_LLM_NOTE = (
    "No LLM is configured, so this answer is extractive: the collection's most relevant sentences, quoted. "
    "Set REVIEWER_LLM_BASE_URL (e.g. a local Ollama or llama.cpp server) or OPENAI_API_KEY for written answers."
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
MIN_WORDS = 5


def sentences(text: str) -> list[str]:
    """Sentences of an abstract (very short fragments are dropped)."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if len(s.split()) >= MIN_WORDS]


def best_sentences(query: str, evidence: Sequence[Evidence], embedder, *, limit: int = 5,
                   per_paper: int = 2) -> list[tuple[str, str, float]]:
    """(sentence, key, similarity) of the sentences most similar to ``query``, best first."""
    pool = [(s, e.key) for e in evidence for s in sentences(e.abstract)]
    if not pool:
        return []
    vectors = embedder.embed_array([query] + [s for s, _ in pool])
    similarity = vectors[1:] @ vectors[0]
    chosen: list[tuple[str, str, float]] = []
    taken: dict[str, int] = {}
    for i in np.argsort(-similarity, kind="stable"):
        sentence, key = pool[i]
        if taken.get(key, 0) >= per_paper:
            continue
        taken[key] = taken.get(key, 0) + 1
        chosen.append((sentence, key, float(similarity[i])))
        if len(chosen) == limit:
            break
    return chosen


def answer(question: str, evidence: Sequence[Evidence], embedder, *, limit: int = 5) -> str:
    """An extractive answer: one quoted sentence per line, each with its ``[key]`` (the caller adds NO_LLM_NOTE)."""
    chosen = best_sentences(question, evidence, embedder, limit=limit)
    return "\n".join(f"- {_unbracket(sentence.rstrip())} [{key}]" for sentence, key, _ in chosen)


def _unbracket(sentence: str) -> str:
    """Square brackets of the quoted text ("[CLS]", "[12]") become parentheses, so that the citation
    check does not take them for citations of unknown keys and cut them out of the quote."""
    return sentence.replace("[", "(").replace("]", ")")
