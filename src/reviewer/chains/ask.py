"""`ask`: question -> hybrid retrieval -> evidence -> cited answer -> grounding policy.

Steps: retrieve the top papers; abstain with the fixed CANNOT_ANSWER reply when the evidence gate
(:mod:`reviewer.gate`) finds that the collection cannot answer, else keep the papers it admits as evidence;
pack the evidence into the token budget (reporting what did not fit, and what of it was
neutralised as untrusted text); answer with the model (or, with no model configured, with the extractive
engine); apply the grounding policy (:mod:`reviewer.grounding`): a reply that cites none of the evidence,
repeats the prompt or is not prose is rejected and replaced by CANNOT_ANSWER (the evidence stays, as the
best evidence to read), unless ``allow_uncited`` shows an uncited one marked as such; uncited claims of an
answer are marked in its text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reviewer import extractive, gate, grounding, prompts
from reviewer.corpus.model import Paper
from reviewer.evidence import DELIMITER_TOKENS, Evidence, boundary, delimited, pack
from reviewer.llm import LLM, Usage
from reviewer.text import excerpt

CANNOT_ANSWER = "I cannot answer this from this collection: none of its papers address the question."
_CANNOT_MARKERS = ("cannot answer this from this collection", "cannot answer from this collection")


@dataclass
class Answer:
    """A grounded answer: ``text`` cites ``[key]``s, every one of them in ``evidence``. ``engine``: "llm", or
    "extractive" when no model is configured (then :attr:`notice` says so; ``text`` never does).

    ``status``: "answered" (grounded; claims without a citation are marked :data:`grounding.UNCITED_MARK` in
    ``text`` and listed in ``uncited``), "cannot_answer" (nothing relevant, or the model said so),
    "rejected" (the model's reply was not grounded, see ``rejected``: ``text`` is CANNOT_ANSWER and
    ``evidence`` the best evidence) or "uncited" (shown only because uncited replies were allowed: every claim
    of ``text`` is marked and the front ends show :data:`grounding.UNCITED_BANNER` above it).
    """

    question: str
    text: str
    citations: list[Paper] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    engine: str = "llm"
    status: str = "answered"
    uncited: list[str] = field(default_factory=list)
    rejected: str | None = None  # why the model's reply was not shown

    @property
    def notice(self) -> str | None:
        """The extractive engine's one-line notice (no LLM configured), never part of ``text``; None with a model."""
        return extractive.NO_LLM_NOTE if self.engine == "extractive" else None

    @property
    def answered(self) -> bool:
        return self.text != CANNOT_ANSWER

    @property
    def exit_code(self) -> int:
        """0, :data:`grounding.EXIT_REJECTED` or :data:`grounding.EXIT_UNCITED` (see :mod:`reviewer.grounding`)."""
        return {"rejected": grounding.EXIT_REJECTED, "uncited": grounding.EXIT_UNCITED}.get(self.status, 0)

    def to_dict(self) -> dict:
        return {
            "question": self.question, "text": self.text, "engine": self.engine, "notice": self.notice,
            "status": self.status,
            "banner": grounding.UNCITED_BANNER if self.status == "uncited" else None,
            "rejected": self.rejected, "uncited": self.uncited,
            "citations": [{"key": p.key, "title": p.title} for p in self.citations],
            "evidence": [{"key": e.key, "title": e.title, "score": round(e.score, 4)} for e in self.evidence],
            "warnings": self.warnings, "usage": self.usage.to_dict(),
        }


def ask(library, question: str, *, k: int = 8, llm: LLM | None = None,
        on_token: Callable[[str], None] | None = None, use_cache: bool = True, focus: str | None = None,
        allow_uncited: bool = False) -> Answer:
    """Answer ``question`` from ``library``. ``llm`` None: the extractive engine answers, quoting the sentences
    most similar to ``focus`` (default: the question). ``on_token`` receives the *unchecked* reply as it
    streams (for a provisional display only: the returned Answer is what was checked). ``allow_uncited``:
    show a reply that cites nothing, marked, instead of rejecting it."""
    question = question.strip()
    settings = library.settings
    hits = library.search(question, k=k)
    decision = gate.decide(library, question, hits)
    engine = "llm" if llm is not None else "extractive"
    if not decision.answerable:
        return Answer(question, CANNOT_ANSWER, engine=engine, status="cannot_answer",
                      warnings=[f"no paper of this collection answers the question ({decision.reason()})"])
    ordered = decision.evidence_order()
    candidates = [Evidence.of(j.hit.paper, j.paper_similarity) for j in ordered]

    model = llm.model_name if llm is not None else None
    # each item follows a boundary line, and one more ends the evidence
    packed = pack(candidates, settings.llm.evidence_tokens - DELIMITER_TOKENS, model, separator=DELIMITER_TOKENS)
    warnings = []
    if packed.truncated:
        warnings.append(f"the abstract of {', '.join(packed.truncated)} was cut to fit the evidence budget of "
                        f"{settings.llm.evidence_tokens} tokens (REVIEWER_LLM__EVIDENCE_TOKENS)")
    if packed.dropped:
        warnings.append(f"{len(packed.dropped)} paper(s) did not fit the evidence budget of "
                        f"{settings.llm.evidence_tokens} tokens (REVIEWER_LLM__EVIDENCE_TOKENS) and were not "
                        "shown to the model: " + ", ".join(e.key for e in packed.dropped))
    if neutralised := packed.neutralised():
        warnings.append("text that imitated instructions or the prompt's format was neutralised in the evidence: "
                        + ", ".join(f"{key} ({n})" for key, n in neutralised.items()))
    if llm is None:
        # Every paper a retriever ranks in its top few is quoted (they come first in the evidence).
        limit = max(extractive.LIMIT, sum(j.top for j in ordered))
        text = extractive.answer(focus or question, packed.included, library.embedder, limit=limit)
        answer = _finish(library, question, text, packed.included, warnings, Usage(), "extractive")
        if on_token:
            on_token(answer.text)
        return answer

    prompt = prompts.load("ask")
    marker = boundary(question, *(e.render() for e in packed.included))
    messages = prompt.render(question=question, evidence=delimited(packed.included, marker),
                             cannot_answer=CANNOT_ANSWER, boundary=marker)
    completion = llm.complete(messages, on_token=on_token, use_cache=use_cache)
    if completion.finish_reason == "length":
        warnings.append(f"the reply was cut at the token limit ({settings.llm.max_tokens} tokens): "
                        "raise REVIEWER_LLM__MAX_TOKENS for a complete answer")
    if completion.cut:
        warnings.append(completion.cut)
    return _finish(library, question, completion.text, packed.included, warnings, completion.usage, "llm",
                   system=messages[0]["content"], examples=prompt.example_keys, allow_uncited=allow_uncited)


def _finish(library, question, text, evidence, warnings, usage, engine, *, system: str | None = None,
            examples=(), allow_uncited: bool = False) -> Answer:
    """Apply the grounding policy to a reply (see the module notes): the cannot-answer sentence becomes exactly
    CANNOT_ANSWER; a reply that is unsafe, not prose or (unless ``allow_uncited``) uncited is rejected;
    otherwise unknown keys are removed and reported and uncited claims marked."""
    if _is_cannot_answer(grounding.clean_reply(text)[0]):
        return Answer(question, CANNOT_ANSWER, [], evidence, warnings, usage, engine, status="cannot_answer")
    result = grounding.check(text, [e.key for e in evidence], known=library.records().keys(), examples=examples,
                             prompt=system, ignore=[CANNOT_ANSWER],
                             sources={e.key: f"{e.title} {e.abstract}" for e in evidence})
    source = "the model's reply" if engine == "llm" else "the extractive engine's answer"
    if result.stripped:
        warnings.append(f"removed {result.stripped} tag(s) or marker line(s) {source} echoed from the prompt")
    if result.removed:
        warnings.append("removed citation(s) of keys that were not in the evidence: " + ", ".join(result.removed))
    if result.unrelated:
        warnings.append("removed the citations of sentence(s) that share no word with the papers they cite: "
                        + " | ".join(excerpt(s) for s in result.unrelated))
    if result.verdict in ("unsafe", "unusable") or (result.verdict == "uncited" and not allow_uncited):
        hint = " (--allow-uncited shows such a reply, marked)" if result.verdict == "uncited" else ""
        rejected = f"{source} was rejected: {result.reason}{hint}: {excerpt(result.text.strip())!r}"
        warnings.append(rejected)
        return Answer(question, CANNOT_ANSWER, [], evidence, warnings, usage, engine, status="rejected",
                      rejected=rejected)
    if result.uncited:
        warnings.append(f"{len(result.uncited)} claim(s) without a citation, marked {grounding.UNCITED_MARK}: "
                        + " | ".join(excerpt(s) for s in result.uncited))
    papers = library.store.get(result.keys)
    return Answer(question, result.text, [papers[k] for k in result.keys if k in papers], evidence, warnings,
                  usage, engine, status="answered" if result.grounded else "uncited", uncited=result.uncited)


def _is_cannot_answer(text: str) -> bool:
    lowered = " ".join(text.lower().split())
    return any(marker in lowered for marker in _CANNOT_MARKERS) and len(lowered) < 2 * len(CANNOT_ANSWER)
