"""`ask` without a model: an answer made of the evidence's own sentences, each with its citation.

Every quotable sentence (:func:`reviewer.extractive.text.sentences`) of the evidence is embedded and scored for
the question by :func:`reviewer.extractive.scoring.answer_scores` (similarity, plus a bonus for a finding and a
malus for a premise). The answer quotes the best sentence of each of the first ``limit`` papers (evidence comes
in retrieval order, so a paper retrieval ranks high is always quoted), then the best sentences left, at most
``per_paper`` per paper. When two quoted sentences of different papers take opposite sides
(:func:`reviewer.extractive.scoring.disagrees`), a last line says so and cites both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reviewer.evidence import Evidence
from reviewer.extractive import scoring
from reviewer.extractive.text import quote, sentences
from reviewer.extractive.support import content_words

NO_LLM_NOTE = (
    "No LLM is configured, so this answer is extractive: the collection's most relevant sentences, quoted. "
    "Set REVIEWER_LLM__BASE_URL (e.g. a local Ollama or llama.cpp server) or OPENAI_API_KEY for written answers."
)
LIMIT = 5  # sentences quoted per answer (more when more papers are top-ranked, see reviewer.chains.ask)


def best_sentences(query: str, evidence: Sequence[Evidence], embedder, *, limit: int = LIMIT, per_paper: int = 2,
                   plain: bool = False) -> list[tuple[str, str, float]]:
    """(sentence, key, score) of ``limit`` sentences for ``query``, best first (see the module notes).
    ``plain``: score by similarity alone (the baseline `reviewer eval rationale` compares with)."""
    chosen, _ = _choose(query, evidence, embedder, limit, per_paper, plain)
    return chosen


def _choose(query, evidence, embedder, limit, per_paper, plain=False):
    pool = [(s, e.key) for e in evidence for s in sentences(e.abstract)]
    if not pool:
        return [], np.zeros((0, 0))
    vectors = embedder.embed_array([query] + [s for s, _ in pool])
    similarity = vectors[1:] @ vectors[0]
    score = similarity if plain else scoring.answer_scores(similarity, [s for s, _ in pool])
    order = list(np.argsort(-np.round(score, 6), kind="stable"))
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
    picked.sort(key=lambda i: (-round(float(score[i]), 6), i))
    return [(pool[i][0], pool[i][1], float(score[i])) for i in picked], vectors[1:][picked]


def answer(question: str, evidence: Sequence[Evidence], embedder, *, limit: int = LIMIT) -> str:
    """An extractive answer: one quoted sentence per line, each with its ``[key]``, and a last line when the
    quoted papers disagree (the caller adds NO_LLM_NOTE)."""
    chosen, vectors = _choose(question, evidence, embedder, limit, 2)
    lines = [f"- {quote(sentence).rstrip()} [{key}]" for sentence, key, _ in chosen]
    if note := disagreement(chosen, vectors):
        lines.append(note)
    return "\n".join(lines)


def disagreement(chosen: Sequence[tuple[str, str, float]], vectors: np.ndarray) -> str | None:
    """The line saying that two quoted papers disagree (the first such pair, best quoted first), or None.
    It names what they share, so that its citations are checkably about their text."""
    for i in range(len(chosen)):
        for j in range(i + 1, len(chosen)):
            (a, key_a, _), (b, key_b, _) = chosen[i], chosen[j]
            if key_a != key_b and scoring.disagrees(a, b, float(vectors[i] @ vectors[j])):
                shared = _shared_terms(a, b)
                about = f" on {shared}" if shared else ""
                return f"- The papers quoted do not all agree{about}: compare [{key_a}] with [{key_b}]."
    return None


def _shared_terms(a: str, b: str, most: int = 3) -> str:
    """Up to ``most`` words the two sentences share (in ``a``'s order), joined as a phrase list."""
    common = content_words(b)
    words: list[str] = []
    for word in a.replace("(", " ").replace(")", " ").split():
        clean = word.strip(".,;:!?\"'").lower()
        if clean and content_words(clean) and content_words(clean) <= common and clean not in words:
            words.append(clean)
    return ", ".join(words[:most])
