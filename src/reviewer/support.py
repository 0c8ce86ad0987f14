"""The support check: does each sentence that cites ``[key]``s say something its cited abstracts say?

Two checkers, the same verdicts (``reviewer.draft.SUPPORTED`` / ``REWRITTEN`` / ``UNSUPPORTED``, stored on
each :class:`reviewer.draft.Sentence` with a score and a reason):

* **Offline** (:func:`check_offline`, no model): the sentence, with its citations stripped, is compared with
  the sentences (and title) of the abstracts it cites.

      score = COSINE_WEIGHT * max cosine(sentence, abstract sentence)      (all-MiniLM-L6-v2)
            + (1 - COSINE_WEIGHT) * overlap                                 (share of its content words found
                                                                             in the cited titles and abstracts)

  A sentence is supported when ``score >= OFFLINE_THRESHOLD`` (0.5). Calibration: 35 hand-written sentences
  (14 about sample-corpus papers; 21 about the fixture papers of tests/fixtures/review, which are the table
  in tests/test_support.py). The 19 faithful paraphrases scored 0.59-0.87, but for one loose two-paper
  summary (0.46); the 16 sentences citing the wrong paper, or claiming what the abstract does not discuss,
  scored 0.16-0.48, but for one that reuses much of its two cited abstracts' wording (0.57). At 0.5, 18 of
  19 supported sentences pass and 15 of 16 unsupported ones are flagged; quotes (the extractive engine's
  sentences) score about 1.0.
  The check sees topic and wording, not truth: a wrong number in an otherwise faithful sentence passes.
  With several keys the abstracts are pooled (the best sentence of any of them counts). The offline check
  cannot rewrite: what fails is flagged.

* **With the model** (:func:`check_with_llm`): one structured call per section judges every citing sentence
  against the abstracts it cites; the unsupported ones are rewritten once (one structured call), the
  rewrites are checked again (one more call), and a sentence still unsupported keeps its first version and
  is flagged. So a section costs at most three calls however many sentences it has.

Sentences that cite nothing are not checked here (the chain flags uncited claims itself).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, Field

from reviewer import citations, extractive, prompts
from reviewer.corpus.model import Paper
from reviewer.draft import REWRITTEN, SUPPORTED, UNSUPPORTED, Sentence
from reviewer.llm import StructuredOutputError, Usage
from reviewer.text import excerpt, strip_special_tokens

COSINE_WEIGHT = 0.6
OFFLINE_THRESHOLD = 0.5

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
    return [paper.title.strip()] + extractive.sentences(paper.abstract)


def offline_scores(texts: Sequence[str], cited: Sequence[Sequence[str]], papers: Mapping[str, Paper],
                   embedder, known: Mapping[str, np.ndarray] | None = None) -> list[tuple[float, float, float]]:
    """(score, max cosine, overlap) of each sentence ``texts[i]`` against the papers ``cited[i]``.

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
            out.append((0.0, 0.0, 0.0))
            continue
        cosine = float(max(np.dot(vectors[text], vectors[s]) for s in own))
        share = overlap(text, [papers[k].title + " " + papers[k].abstract for k in keys if k in papers])
        score = COSINE_WEIGHT * max(cosine, 0.0) + (1 - COSINE_WEIGHT) * share
        out.append((round(score, 4), round(cosine, 4), round(share, 4)))
    return out


def check_offline(sentences: Sequence[Sentence], papers: Mapping[str, Paper], embedder,
                  threshold: float = OFFLINE_THRESHOLD, known: Mapping[str, np.ndarray] | None = None) -> None:
    """Set ``support``, ``score`` and ``reason`` of every citing sentence (in place) by :func:`offline_scores`."""
    citing = [s for s in sentences if s.keys]
    if not citing:
        return
    scores = offline_scores([s.text for s in citing], [s.keys for s in citing], papers, embedder, known)
    for sentence, (score, cosine, share) in zip(citing, scores):
        sentence.score = score
        if score >= threshold:
            sentence.support, sentence.reason = SUPPORTED, ""
        else:
            sentence.support = UNSUPPORTED
            sentence.reason = (f"offline check: score {score:.2f} < {threshold:.2f} (closest sentence of "
                               f"{'; '.join(sentence.keys)}: cosine {cosine:.2f}; {share:.0%} of its content words "
                               "appear in the cited abstracts)")


# ------------------------------------------------------------------------------------------ with the model
class Judgement(BaseModel):
    """The verdict on one numbered sentence."""

    n: int = Field(description="The number of the sentence judged.")
    supported: bool = Field(description="True only if the cited abstracts state what the sentence says.")
    reason: str = Field("", description="When not supported: what the abstracts do not say (one short phrase).")


class Verdicts(BaseModel):
    """One verdict per numbered sentence."""

    verdicts: list[Judgement]


class Rewrite(BaseModel):
    n: int = Field(description="The number of the sentence rewritten.")
    text: str = Field(description="The rewritten sentence, ending with its [key] citation(s).")


class Rewrites(BaseModel):
    """One rewritten sentence per numbered sentence."""

    rewrites: list[Rewrite]


def check_with_llm(sentences: Sequence[Sentence], papers: Mapping[str, Paper], llm, *, allowed: Sequence[str],
                   use_cache: bool = True, warn: Callable[[str], None] | None = None) -> Usage:
    """Judge every citing sentence of one section with the model (in place); rewrite the unsupported ones
    once (citing only ``allowed`` keys whose abstracts the rewrite prompt showed), judge the rewrites, flag
    what is still unsupported. Returns the usage."""
    usage = Usage()
    citing = [s for s in sentences if s.keys]
    if not citing:
        return usage
    verdicts = _judge(citing, papers, llm, use_cache, usage)
    failed = []
    for sentence, (ok, reason) in zip(citing, verdicts):
        sentence.support, sentence.reason = (SUPPORTED, "") if ok else (UNSUPPORTED, reason or "not supported")
        if not ok:
            failed.append(sentence)
    if not failed:
        return usage

    rewrites = _rewrite(failed, papers, llm, use_cache, usage)
    # A rewrite may cite only what its prompt showed: the abstracts the failing sentences cite (of the theme).
    shown = [k for k in dict.fromkeys(k for s in failed for k in s.keys) if k in papers and k in set(allowed)]
    retry, replaced = [], []
    for sentence, text in zip(failed, rewrites):
        checked = citations.validate(strip_special_tokens(text), shown) if text else None
        if checked is None or not checked.keys:
            if warn and checked is not None:
                cited = f" (it cited {', '.join(checked.removed)})" if checked.removed else ""
                warn(f"the rewrite of {excerpt(sentence.text)!r} cites none of the abstracts it was shown{cited}: "
                     "the first version is kept and flagged")
            continue
        retry.append(Sentence(checked.text, checked.keys))
        replaced.append(sentence)
    if not retry:
        return usage
    for candidate, sentence, (ok, reason) in zip(retry, replaced, _judge(retry, papers, llm, use_cache, usage)):
        if ok:
            sentence.original, sentence.text, sentence.keys = sentence.text, candidate.text, candidate.keys
            sentence.support, sentence.reason = REWRITTEN, f"first version unsupported: {sentence.reason}"
        else:
            sentence.reason = f"{sentence.reason}; the rewrite was not supported either ({reason or 'no reason given'})"
    return usage


def _numbered(sentences: Sequence[Sentence]) -> str:
    return "\n".join(f"{i}. {s.text}" for i, s in enumerate(sentences, 1))


def _cited_evidence(sentences: Sequence[Sentence], papers: Mapping[str, Paper]) -> str:
    from reviewer.evidence import Evidence

    keys = [k for s in sentences for k in s.keys if k in papers]
    return "\n\n".join(Evidence.of(papers[k]).render() for k in dict.fromkeys(keys))


def check_messages(sentences: Sequence[Sentence], papers: Mapping[str, Paper]) -> list[dict]:
    """The prompt judging ``sentences`` (all citing): numbered, with the abstracts they cite and no other."""
    return prompts.load("support_check").render(evidence=_cited_evidence(sentences, papers),
                                                sentences=_numbered(sentences))


def _judge(sentences: Sequence[Sentence], papers, llm, use_cache: bool, usage: Usage) -> list[tuple[bool, str]]:
    """(supported, reason) for each sentence, from one structured call. A sentence the reply gives no verdict
    for counts as unsupported (weak models skip some, or all): asking again would cost a call and rarely help."""
    n = len(sentences)
    try:
        reply = llm.structured(check_messages(sentences, papers), Verdicts, use_cache=use_cache)
    except StructuredOutputError as exc:  # judged unsupported, never dropped: the draft is kept
        usage.add(exc.usage)
        return [(False, "the model's verdicts could not be read")] * n
    usage.add(reply.usage)
    by_number: dict[int, Judgement] = {}
    for judgement in reply.value.verdicts:
        by_number.setdefault(judgement.n, judgement)
    return [(by_number[i].supported, " ".join(by_number[i].reason.split())) if i in by_number
            else (False, "the model gave no verdict") for i in range(1, n + 1)]


def _rewrite(sentences: Sequence[Sentence], papers, llm, use_cache: bool, usage: Usage) -> list[str | None]:
    """The rewritten text of each sentence (None where the model gave none), from one structured call."""
    n = len(sentences)
    problems = "\n".join(f"{i}. {s.reason}" for i, s in enumerate(sentences, 1))
    messages = prompts.load("support_rewrite").render(evidence=_cited_evidence(sentences, papers),
                                                      sentences=_numbered(sentences), problems=problems)
    try:
        reply = llm.structured(messages, Rewrites, use_cache=use_cache)
    except StructuredOutputError as exc:  # no rewrite: the sentences stay flagged
        usage.add(exc.usage)
        return [None] * n
    usage.add(reply.usage)
    by_number: dict[int, str] = {}
    for rewrite in reply.value.rewrites:
        by_number.setdefault(rewrite.n, " ".join(rewrite.text.split()))
    return [by_number.get(i) or None for i in range(1, n + 1)]
