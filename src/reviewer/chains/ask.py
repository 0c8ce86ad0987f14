"""`ask`: question -> hybrid retrieval -> evidence -> cited answer -> citation check.

Steps: retrieve the top papers; abstain with the fixed CANNOT_ANSWER reply when the evidence gate
(:mod:`reviewer.gate`) finds that the collection cannot answer, else keep the papers it admits as evidence;
pack the evidence into the token budget (reporting what did not fit); answer with the model
(or, with no model configured, with the extractive engine); remove cited keys that were not in the
evidence and flag claims left without a citation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from reviewer import citations, extractive, gate, prompts
from reviewer.corpus.model import Paper
from reviewer.evidence import Evidence, pack
from reviewer.llm import LLM, Usage
from reviewer.text import excerpt, strip_special_tokens

CANNOT_ANSWER = "I cannot answer this from this collection: none of its papers address the question."
_CANNOT_MARKERS = ("cannot answer this from this collection", "cannot answer from this collection")


@dataclass
class Answer:
    """A grounded answer: ``text`` cites ``[key]``s, every one of them in ``evidence``."""

    question: str
    text: str
    citations: list[Paper] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    engine: str = "llm"

    @property
    def answered(self) -> bool:
        return self.text != CANNOT_ANSWER

    def to_dict(self) -> dict:
        return {
            "question": self.question, "answer": self.text, "engine": self.engine,
            "citations": [{"key": p.key, "title": p.title} for p in self.citations],
            "evidence": [{"key": e.key, "title": e.title, "score": round(e.score, 4)} for e in self.evidence],
            "warnings": self.warnings, "usage": self.usage.to_dict(),
        }


def ask(library, question: str, *, k: int = 8, llm: LLM | None = None,
        on_token: Callable[[str], None] | None = None, use_cache: bool = True, focus: str | None = None) -> Answer:
    """Answer ``question`` from ``library``. ``llm`` None: the extractive engine answers, quoting the sentences
    most similar to ``focus`` (default: the question)."""
    question = question.strip()
    settings = library.settings
    hits = library.search(question, k=k)
    decision = gate.decide(library, question, hits)
    engine = "llm" if llm is not None else "extractive"
    if not decision.answerable:
        return Answer(question, CANNOT_ANSWER, engine=engine,
                      warnings=[f"no paper of this collection answers the question ({decision.reason()})"])
    ordered = decision.evidence_order()
    candidates = [Evidence.of(j.hit.paper, j.paper_similarity) for j in ordered]

    model = llm.model_name if llm is not None else None
    packed = pack(candidates, settings.llm.evidence_tokens, model)
    warnings = []
    if packed.truncated:
        warnings.append(f"the abstract of {', '.join(packed.truncated)} was cut to fit the evidence budget of "
                        f"{settings.llm.evidence_tokens} tokens (REVIEWER_LLM_EVIDENCE_TOKENS)")
    if packed.dropped:
        warnings.append(f"{len(packed.dropped)} paper(s) did not fit the evidence budget of "
                        f"{settings.llm.evidence_tokens} tokens (REVIEWER_LLM_EVIDENCE_TOKENS) and were not "
                        "shown to the model: " + ", ".join(e.key for e in packed.dropped))
    if llm is None:
        # Every paper a retriever ranks in its top few is quoted (they come first in the evidence).
        limit = max(extractive.LIMIT, sum(j.top for j in ordered))
        text = extractive.answer(focus or question, packed.included, library.embedder, limit=limit)
        answer = _finish(library, question, text, packed.included, warnings, Usage(), "extractive")
        if answer.answered:  # the engine's note heads every extractive answer
            answer.text = f"{extractive.NO_LLM_NOTE}\n\n{answer.text}"
        if on_token:
            on_token(answer.text)
        return answer

    messages = prompts.load("ask").render(question=question, evidence=packed.text(), cannot_answer=CANNOT_ANSWER)
    completion = llm.complete(messages, on_token=on_token, use_cache=use_cache)
    if completion.finish_reason == "length":
        warnings.append(f"the reply was cut at the token limit ({settings.llm.max_tokens} tokens): "
                        "raise REVIEWER_LLM_MAX_TOKENS for a complete answer")
    return _finish(library, question, completion.text, packed.included, warnings, completion.usage, "llm")


def _finish(library, question, text, evidence, warnings, usage, engine) -> Answer:
    """Post-process a reply: the cannot-answer sentence becomes exactly CANNOT_ANSWER; a reply that is not
    prose (empty, only citations or markup) becomes CANNOT_ANSWER with a warning; otherwise unknown keys are
    removed and reported, uncited claims flagged."""
    text = strip_special_tokens(text)
    if _is_cannot_answer(text):
        return Answer(question, CANNOT_ANSWER, [], evidence, warnings, usage, engine)
    if not _is_prose(text):
        source = "the model's reply" if engine == "llm" else "the extractive engine's answer"
        warnings.append(f"{source} was not a usable answer: {excerpt(text.strip())!r}")
        return Answer(question, CANNOT_ANSWER, [], evidence, warnings, usage, engine)
    checked = citations.validate(text, [e.key for e in evidence])
    if checked.removed:
        warnings.append("removed citation(s) of keys that were not in the evidence: " + ", ".join(checked.removed))
    if checked.uncited and engine == "llm":  # an extractive line is one quoted sentence and its key, by construction
        warnings.append(f"{len(checked.uncited)} claim(s) without a citation: "
                        + " | ".join(excerpt(s) for s in checked.uncited))
    if not checked.keys:
        warnings.append("the answer cites no paper of the evidence: treat it as unsupported")
    papers = library.store.get(checked.keys)
    return Answer(question, checked.text, [papers[k] for k in checked.keys if k in papers],
                  evidence, warnings, usage, engine)


def _is_prose(text: str) -> bool:
    """At least three words once citations are set aside (citation keys are not words of an answer)."""
    return len(re.findall(r"[^\W\d_]{2,}", citations.CITATION.sub(" ", text))) >= 3


def _is_cannot_answer(text: str) -> bool:
    lowered = " ".join(text.lower().split())
    return any(marker in lowered for marker in _CANNOT_MARKERS) and len(lowered) < 2 * len(CANNOT_ANSWER)
