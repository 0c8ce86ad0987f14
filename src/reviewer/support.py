"""The support check: does each sentence that cites ``[key]``s say something its cited abstracts say?

Two checkers, the same verdicts (``reviewer.draft.SUPPORTED`` / ``REWRITTEN`` / ``UNSUPPORTED``, stored on
each :class:`reviewer.draft.Sentence` with a score and a reason):

* **Offline** (:func:`check_offline`, no model): embedding similarity and term overlap with the cited
  abstracts, a calibrated threshold and contradiction cues; it lives with the rest of the no-model engine in
  :mod:`reviewer.extractive.support` (re-exported here).

* **With the model** (:func:`check_with_llm`): one structured call per section judges every citing sentence
  against the abstracts it cites; the unsupported ones are rewritten once (one structured call), the
  rewrites are checked again (one more call), and a sentence still unsupported keeps its first version and
  is flagged. So a section costs at most three calls however many sentences it has.

Sentences that cite nothing are not checked here (the chain flags uncited claims itself).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pydantic import BaseModel, Field

from reviewer import citations, prompts
from reviewer.corpus.model import Paper
from reviewer.draft import REWRITTEN, SUPPORTED, UNSUPPORTED, Sentence
from reviewer.extractive.support import (COSINE_WEIGHT, OFFLINE_THRESHOLD, check_offline, content_words,  # noqa: F401
                                         offline_scores, overlap, source_sentences, strip_citations)
from reviewer.llm import StructuredOutputError, Usage
from reviewer.text import excerpt, strip_special_tokens


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
