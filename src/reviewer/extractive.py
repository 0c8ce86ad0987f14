"""The no-LLM engine: answers made of the collection's own sentences, each with its citation.

Used when no model endpoint is configured. It is useful, not a placeholder: every abstract sentence of the
evidence is embedded; the answer quotes the sentence most similar to the question of each of the most relevant
papers (in retrieval order), then the closest sentences left (at most two per paper, so the answer has breadth),
each followed by the key of the paper it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from reviewer.evidence import Evidence

NO_LLM_NOTE = (
    "No LLM is configured, so this answer is extractive: the collection's most relevant sentences, quoted. "
    "Set REVIEWER_LLM__BASE_URL (e.g. a local Ollama or llama.cpp server) or OPENAI_API_KEY for written answers."
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
MIN_WORDS = 5
LIMIT = 5  # sentences quoted per answer (more when more papers are top-ranked, see reviewer.chains.ask)


def sentences(text: str) -> list[str]:
    """Sentences of an abstract (very short fragments are dropped)."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if len(s.split()) >= MIN_WORDS]


def best_sentences(query: str, evidence: Sequence[Evidence], embedder, *, limit: int = 5,
                   per_paper: int = 2) -> list[tuple[str, str, float]]:
    """(sentence, key, similarity) of ``limit`` sentences for ``query``, most similar first: the closest sentence
    of each of the first ``limit`` papers of ``evidence`` (given in relevance order), then the closest others."""
    pool = [(s, e.key) for e in evidence for s in sentences(e.abstract)]
    if not pool:
        return []
    vectors = embedder.embed_array([query] + [s for s, _ in pool])
    similarity = vectors[1:] @ vectors[0]
    order = list(np.argsort(-similarity, kind="stable"))
    # First the best sentence of each of the ``limit`` most relevant papers (evidence comes in retrieval order,
    # so a paper retrieval ranks high is always quoted, even when other papers have closer sentences), then
    # the remaining places go to the closest sentences left, at most ``per_paper`` per paper.
    leaders: dict[str, int] = {}
    for i in order:
        leaders.setdefault(pool[i][1], i)
    picked = [leaders[e.key] for e in evidence if e.key in leaders][:limit]
    taken = {pool[i][1]: 1 for i in picked}
    for i in order:
        if len(picked) == limit:
            break
        key = pool[i][1]
        if i not in picked and taken.get(key, 0) < per_paper:
            taken[key] = taken.get(key, 0) + 1
            picked.append(i)
    picked.sort(key=lambda i: (-similarity[i], i))
    return [(pool[i][0], pool[i][1], float(similarity[i])) for i in picked]


def answer(question: str, evidence: Sequence[Evidence], embedder, *, limit: int = LIMIT) -> str:
    """An extractive answer: one quoted sentence per line, each with its ``[key]`` (the caller adds NO_LLM_NOTE)."""
    chosen = best_sentences(question, evidence, embedder, limit=limit)
    return "\n".join(f"- {_unbracket(sentence.rstrip())} [{key}]" for sentence, key, _ in chosen)


def _unbracket(sentence: str) -> str:
    """Square brackets of the quoted text ("[CLS]", "[12]") become parentheses, so that the citation
    check does not take them for citations of unknown keys and cut them out of the quote."""
    return sentence.replace("[", "(").replace("]", ")")
