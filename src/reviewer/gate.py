"""The evidence gate: which retrieved papers may serve as evidence, and whether the collection can answer at all.

One decision used by ask, compare, review and chat, with or without a model. It looks at what retrieval
already knows about each retrieved paper:

- its **rank** in each retriever's list (BM25, dense), kept on every :class:`reviewer.library.Hit`;
- its **paper similarity**: cosine of the query and the whole paper (title + abstract);
- its **sentence similarity**: the best cosine of the query and one sentence of the paper (sentence vectors
  are stored at ingest, so this costs one matrix product).

**Can the collection answer?** Decided on the evidence as a whole: yes when the best sentence similarity of
any retrieved paper reaches ``answer_threshold`` (a near-miss question on a neighbouring topic shares words
and a general theme with many papers, so its *paper* similarities overlap those of answerable questions, but
no single sentence says what it asks). Otherwise the fixed cannot-answer reply is given.

**Which papers are evidence?** When the collection can answer, a paper is kept when it is in the top
``top_ranks`` of either retriever (a paper keyword search ranks first is never dropped for a low whole-paper
cosine alone), or its paper similarity reaches ``paper_threshold``. The rest are dropped (and reported where a
front end lists what it left out).

Constants are calibrated on the committed question set `benchmarks/abstain/questions.jsonl` (answerable,
off-topic and near-miss questions on the sample corpus; `reviewer eval abstain`), see the README.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Judged:
    """One retrieved paper with the signals the gate used."""

    hit: object  # reviewer.library.Hit
    paper_similarity: float
    sentence_similarity: float
    kept: bool
    why: str  # "top-3 bm25", "similarity 0.42", "similarity 0.12 < 0.30"
    top: bool = False  # kept for its rank in a retriever's list


    @property
    def key(self) -> str:
        return self.hit.key


@dataclass
class Decision:
    """The gate's verdict for one query: ``answerable``, and every retrieved paper judged (retrieval order)."""

    query: str
    answerable: bool
    judged: list[Judged] = field(default_factory=list)
    best_sentence: float = 0.0
    best_paper: float = 0.0
    threshold: float = 0.0

    @property
    def kept(self) -> list[Judged]:
        return [j for j in self.judged if j.kept] if self.answerable else []

    def evidence_order(self) -> list[Judged]:
        """The kept papers, those kept for their rank in a retriever's top list first (each group in retrieval
        order): what retrieval is surest of comes first, so a short answer quotes it."""
        return sorted(self.kept, key=lambda j: not j.top)

    @property
    def dropped(self) -> list[Judged]:
        return [j for j in self.judged if not j.kept] if self.answerable else list(self.judged)

    def reason(self) -> str:
        """Why nothing can be answered (empty when the collection can answer)."""
        if self.answerable:
            return ""
        if not self.judged:
            return "no paper was retrieved"
        return f"best sentence similarity {self.best_sentence:.2f} < {self.threshold:.2f}"

    def to_dict(self) -> dict:
        return {"answerable": self.answerable, "best_sentence": round(self.best_sentence, 4),
                "best_paper": round(self.best_paper, 4), "threshold": self.threshold,
                "papers": [{"key": j.key, "kept": j.kept, "why": j.why, "paper_similarity": round(j.paper_similarity, 4),
                            "sentence_similarity": round(j.sentence_similarity, 4), "ranks": dict(j.hit.ranks)}
                           for j in self.judged]}


def similarities(library, query: str, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(paper similarity, best sentence similarity) of ``query`` to each of ``keys``."""
    if not keys:
        return np.zeros(0), np.zeros(0)
    vector = library.embedder.embed_array([query])[0]
    mirror = library.vector_mirror()
    papers = mirror.paper_vectors(list(keys)) @ vector
    units, owners = mirror.sentence_vectors(list(keys))
    sentences = papers.astype(np.float64).copy()  # a paper without sentence vectors: its whole text
    if owners:
        best = np.full(len(keys), -np.inf)
        np.maximum.at(best, np.asarray(owners, dtype=np.intp), units @ vector)
        sentences = np.where(np.isfinite(best), best, sentences)
    return papers.astype(np.float64), sentences


def decide(library, query: str, hits: Sequence, settings=None) -> Decision:
    """Judge ``hits`` (from ``library.search(query)``) as evidence for ``query``."""
    gate = (settings or library.settings).gate
    papers, sentences = similarities(library, query, [h.key for h in hits])
    decision = Decision(query, False, threshold=gate.answer_threshold,
                        best_sentence=float(sentences.max(initial=-1.0)) if len(hits) else 0.0,
                        best_paper=float(papers.max(initial=-1.0)) if len(hits) else 0.0)
    decision.answerable = bool(len(hits)) and decision.best_sentence >= gate.answer_threshold
    for hit, paper, sentence in zip(hits, papers, sentences):
        top = sorted((rank, name) for name, rank in hit.ranks.items() if rank <= gate.top_ranks)
        if top:
            kept, why = True, f"top-{gate.top_ranks} {top[0][1]}"
        elif paper >= gate.paper_threshold:
            kept, why = True, f"similarity {paper:.2f}"
        else:
            kept, why = False, f"similarity {paper:.2f} < {gate.paper_threshold:.2f}"
        decision.judged.append(Judged(hit, float(paper), float(sentence), kept, why, bool(top)))
    return decision


__all__ = ["Decision", "Judged", "decide", "similarities"]
