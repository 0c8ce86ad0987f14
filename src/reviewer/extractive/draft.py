"""`review` without a model: which papers a draft cites, which of their sentences it quotes, and its introduction.

* **Citation budget** (:func:`allocate`): the draft quotes one sentence from each of the ``budget`` most relevant
  papers of all those the evidence gate admitted (relevance = retrieval order; ``budget`` = a third of
  ``max_papers`` by default, :data:`BUDGET_SHARE`). A theme gets as many quotes as it has papers among them, so
  a large on-topic theme gets many and a small off-topic one few or none (a theme with none is left out of the
  sections and named in a warning). Measured with `reviewer eval citations`: the draft then cites the expert's
  papers at least as often as plain search returning as many papers (README, "Writing quality").
* **Quote** (:func:`paper_quote`): of a paper's quotable sentences (no fragment, see
  :func:`reviewer.extractive.text.is_fragment`; at most :data:`MAX_QUOTE_WORDS` words), the one with the best
  similarity to the topic plus to its theme's centroid, plus the finding cue
  (:func:`reviewer.extractive.scoring.answer_scores`); first person is turned into third
  and a leading connective dropped (:func:`reviewer.extractive.text.reword`); a sentence that cannot be turned
  safely, or opens by pointing back ("These results"), is not quoted.
* **Introduction** (:func:`introduction`): the engine's note, then one line naming the topic in its short form
  (:func:`reviewer.extractive.text.short_topic`), the number of papers and the themes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from reviewer.corpus.model import Paper
from reviewer.draft import EXTRACTIVE_NOTE, Sentence, Theme
from reviewer.extractive.scoring import answer_scores
from reviewer.extractive.support import strip_citations
from reviewer.extractive.text import cited, quote, reword, sentences, short_topic, third_person

BUDGET_SHARE = 1 / 3  # papers quoted, as a share of max_papers
MAX_QUOTE_WORDS = 80  # longer "sentences" (an abstract without full stops) are quoted only when a paper has no other


def budget(max_papers: int) -> int:
    return max(1, math.ceil(max_papers * BUDGET_SHARE))


def allocate(papers: Mapping[str, Paper], themes: Sequence[Theme], centroids: np.ndarray,
             relevance_order: Sequence[str], quotes: int, embedder, topic_vector: np.ndarray,
             known: dict[str, np.ndarray]) -> dict[int, list[Sentence]]:
    """{theme id: its quotes, most relevant paper first}: one quote (:func:`paper_quote`) from each of the
    ``quotes`` most relevant papers of ``relevance_order`` that have a quotable sentence (a paper with none
    passes its place to the next), each in its own theme's section."""
    theme_of = {key: i for i, theme in enumerate(themes) for key in theme.keys}
    out: dict[int, list[Sentence]] = {theme.id: [] for theme in themes}
    taken = 0
    for key in relevance_order:
        if taken == quotes:
            break
        if key not in theme_of:
            continue
        theme = themes[theme_of[key]]
        sentence = paper_quote(papers[key], embedder, topic_vector, centroids[theme.id], known)
        if sentence is not None:
            out[theme.id].append(sentence)
            taken += 1
    return out


def paper_quote(paper: Paper, embedder, topic_vector: np.ndarray, centroid: np.ndarray,
                known: dict[str, np.ndarray]) -> Sentence | None:
    """The sentence of ``paper`` a section quotes, cited (None when it has no quotable sentence). Vectors
    computed are added to ``known`` (by text), where the support check looks them up."""
    candidates = sentences(paper.abstract)
    worded = {s: reword(s, paper.authors) for s in candidates}
    # A paper among the most relevant is quoted even when none of its sentences stands alone: then a sentence
    # that points back ("These results ...") is quoted as it is, in the third person (never "we" or "this paper").
    pool = [s for s in candidates if worded[s] is not None]
    if not pool:
        worded = {s: third_person(s, paper.authors) for s in candidates}
        pool = [s for s in candidates if worded[s] is not None]
    pool = [s for s in pool if len(s.split()) <= MAX_QUOTE_WORDS] or pool
    if not pool:
        return None
    missing = [s for s in pool if s not in known]
    if missing:
        known.update(zip(missing, embedder.embed_array(missing)))
    vectors = np.array([known[s] for s in pool])
    centroid = centroid / (np.linalg.norm(centroid) or 1.0)
    scores = np.round(answer_scores(vectors @ topic_vector + vectors @ centroid, pool), 6)
    best = int(min(range(len(pool)), key=lambda i: (-scores[i], i)))
    source = pool[best]
    text = cited(quote(worded[source]), paper.key)
    known[strip_citations(text)] = known[source]  # a reworded quote is checked as its source sentence
    return Sentence(text, [paper.key], quote=source)


def introduction(topic: str, papers: int, quoted: int, themes: Sequence[Theme], unquoted: int = 0) -> list[Sentence]:
    """The extractive draft's introduction (it cites nothing: it describes the draft). ``unquoted``: themes that
    hold none of the quoted papers (they have no section)."""
    name = short_topic(topic)
    subject = f"the question \u201c{name}\u201d" if topic.rstrip().endswith("?") else name
    plural = "s" if papers != 1 else ""
    names = "; ".join(t.name for t in themes)
    line = (f"It reviews {papers} paper{plural} on {subject} in {len(themes)} theme{'s' if len(themes) != 1 else ''}, "
            f"found by clustering their embeddings: {names}.")
    if quoted < papers:
        line += f" It quotes the {quoted} most relevant to the topic."
    if unquoted:
        line += (f" Of the themes, {unquoted} hold none of them and have no section." if unquoted > 1 else
                 " One theme holds none of them and has no section.")
    return [Sentence(EXTRACTIVE_NOTE), Sentence(line)]
