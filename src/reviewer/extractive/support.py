"""The offline support check: does a sentence that cites ``[key]``s say what its cited abstracts say?

No model is called. The sentence, with its citations stripped, is compared with the sentences (and title) of the
abstracts it cites::

    score = COSINE_WEIGHT * max cosine(sentence, abstract sentence)      (all-MiniLM-L6-v2)
          + (1 - COSINE_WEIGHT) * overlap                                 (share of its content words found
                                                                           in the cited titles and abstracts)

A sentence is supported when ``score >= OFFLINE_THRESHOLD`` and no contradiction is detected
(:func:`contradiction`: the closest abstract sentence negates what the sentence asserts, says the opposite
direction, "increases" vs "decreases", or the sentence states a number the abstracts do not have).
Calibration (`reviewer eval support`, README "Writing quality"): scifact-train's SUPPORT vs NOINFO claims, the
citing sentences of scholarqa-multi's expert answers vs the same sentences against another question's snippet,
and the 35 hand-written sentences of tests/test_support.py. Similarity sees topic and wording, not truth: a
contradiction stated in other words passes (what the cues catch is measured and reported separately).
With several keys the abstracts are pooled (the best sentence of any of them counts). The offline check cannot
rewrite: what fails is flagged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from reviewer import citations
from reviewer.corpus.model import Paper
from reviewer.draft import SUPPORTED, UNSUPPORTED, Sentence
from reviewer.extractive.text import split

COSINE_WEIGHT = 0.6
OFFLINE_THRESHOLD = 0.425  # calibrated: `reviewer eval support` (see the module notes)

_WORD = re.compile(r"[a-z][a-z0-9\-]+")
_STOP = frozenset("""
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself yourselves
    may might must shall one two three many much well thus however therefore whereas whether within without
    paper papers work works study studies show shows shown propose proposes proposed present presents
    approach method methods result results using use used uses new novel based authors report reports
    reported find finds found demonstrate demonstrates et al
""".split())


# ------------------------------------------------------------------------------------------ offline
def strip_citations(text: str) -> str:
    """``text`` without its ``[key]`` citations (and the space before them)."""
    text = citations.CITATION.sub("", text)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return " ".join(text.split())


def content_words(text: str) -> set[str]:
    """Lowercased words of ``text`` that carry content (no stop words), lightly stemmed."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def overlap(sentence: str, sources: Sequence[str]) -> float:
    """Share of the content words of ``sentence`` that occur in ``sources`` (0 when it has none)."""
    words = content_words(sentence)
    if not words:
        return 0.0
    found = set().union(*(content_words(s) for s in sources)) if sources else set()
    return len(words & found) / len(words)


def source_sentences(paper: Paper) -> list[str]:
    """What a citation of ``paper`` can be checked against: its title and its abstract's sentences."""
    return [paper.title.strip()] + [s for s in split(paper.abstract) if len(s.split()) >= 5]


def offline_scores(texts: Sequence[str], cited: Sequence[Sequence[str]], papers: Mapping[str, Paper],
                   embedder, known: Mapping[str, np.ndarray] | None = None) -> list[tuple[float, float, float]]:
    """(score, max cosine, overlap) of each sentence ``texts[i]`` against the papers ``cited[i]``."""
    return [(v.score, v.cosine, v.share) for v in offline_verdicts(texts, cited, papers, embedder, known)]


@dataclass
class Verdict:
    """The offline check of one sentence: its score, its best cosine and overlap, and a contradiction cue."""

    score: float
    cosine: float
    share: float
    contradiction: str = ""

    def supported(self, threshold: float = OFFLINE_THRESHOLD) -> bool:
        return self.score >= threshold and not self.contradiction


def offline_verdicts(texts: Sequence[str], cited: Sequence[Sequence[str]], papers: Mapping[str, Paper],
                     embedder, known: Mapping[str, np.ndarray] | None = None) -> list[Verdict]:
    """The :class:`Verdict` of each sentence ``texts[i]`` against the papers ``cited[i]``.

    Every distinct text is embedded once, in one batch; ``known``: vectors already computed, by text."""
    plain = [strip_citations(t) for t in texts]
    sources = {key: source_sentences(papers[key]) for keys in cited for key in keys if key in papers}
    vectors = dict(known or {})
    pool = sorted(({s for group in sources.values() for s in group} | {p for p in plain if p}) - set(vectors))
    if pool:
        vectors.update(zip(pool, embedder.embed_array(pool)))
    out = []
    for text, keys in zip(plain, cited):
        own = [s for key in keys if key in sources for s in sources[key]]
        if not text or not own:
            out.append(Verdict(0.0, 0.0, 0.0))
            continue
        cosines = [float(np.dot(vectors[text], vectors[s])) for s in own]
        best = int(np.argmax(cosines))
        share = overlap(text, [papers[k].title + " " + papers[k].abstract for k in keys if k in papers])
        score = COSINE_WEIGHT * max(cosines[best], 0.0) + (1 - COSINE_WEIGHT) * share
        out.append(Verdict(round(score, 4), round(cosines[best], 4), round(share, 4),
                           contradiction(text, own[best], cosines[best])))
    return out


def check_offline(sentences: Sequence[Sentence], papers: Mapping[str, Paper], embedder,
                  threshold: float = OFFLINE_THRESHOLD, known: Mapping[str, np.ndarray] | None = None) -> None:
    """Set ``support``, ``score`` and ``reason`` of every citing sentence (in place) by :func:`offline_verdicts`."""
    citing = [s for s in sentences if s.keys]
    if not citing:
        return
    verdicts = offline_verdicts([s.text for s in citing], [s.keys for s in citing], papers, embedder, known)
    for sentence, v in zip(citing, verdicts):
        sentence.score = v.score
        if v.supported(threshold):
            sentence.support, sentence.reason = SUPPORTED, ""
        elif v.contradiction:
            sentence.support = UNSUPPORTED
            sentence.reason = f"offline check: possible contradiction of {'; '.join(sentence.keys)}: {v.contradiction}"
        else:
            sentence.support = UNSUPPORTED
            sentence.reason = (f"offline check: score {v.score:.2f} < {threshold:.2f} (closest sentence of "
                               f"{'; '.join(sentence.keys)}: cosine {v.cosine:.2f}; {v.share:.0%} of its content "
                               "words appear in the cited abstracts)")


# ------------------------------------------------------------------------------------------ contradictions
# Similarity cannot see a contradiction. One cue can, often enough to use: the sentence and the abstract sentence
# closest to it move in opposite directions. Measured on scifact-train (closest sentence at cosine >= SAME_CLAIM):
# it flags 17% of CONTRADICT claims and 3.5% of SUPPORT ones. Two more cues were measured and are not used: a
# negation on one side only (26% of CONTRADICT, but 13% of SUPPORT), and a number the abstract does not state
# (more SUPPORT than CONTRADICT claims). What it misses: contradictions in other words ("no effect" vs "protects"),
# wrong quantities, wrong populations.
_UP = re.compile(r"\b(?:increas\w*|higher|more|greater|elevat\w+|rais\w+|up-?regulat\w+|enhanc\w+|improv\w+|"
                 r"promot\w+|activat\w+|positively|gains?|better|longer|larger|faster|strengthen\w*|outperform\w*|"
                 r"accelerat\w+|induc\w+)\b", re.I)
_DOWN = re.compile(r"\b(?:decreas\w*|lower|less|fewer|reduc\w+|diminish\w*|down-?regulat\w+|impair\w*|worsen\w*|"
                   r"inhibit\w*|suppress\w*|negatively|loss|losses|worse|shorter|smaller|slower|weaken\w*|"
                   r"underperform\w*|attenuat\w+|block\w*|prevent\w*)\b", re.I)
SAME_CLAIM = 0.5  # the closest abstract sentence is about the same thing (cosine) when directions are compared


def _direction(text: str) -> int:
    return int(bool(_UP.search(text))) - int(bool(_DOWN.search(text)))


def contradiction(sentence: str, closest: str, cosine: float) -> str:
    """Why ``sentence`` may contradict the abstract sentence ``closest`` to it (``cosine``), or '' (see above)."""
    if cosine >= SAME_CLAIM:
        mine, theirs = _direction(sentence), _direction(closest)
        if mine and theirs and mine != theirs:
            return "it and the closest abstract sentence go in opposite directions (more vs less)"
    return ""
