"""`reviewer eval abstain`: does the evidence gate answer what the collection covers and refuse the rest?

A question set is a JSONL file, one ``{"id", "group", "question", "keys"}`` a line: ``group`` is
``answerable`` (``keys``: the papers that answer it), ``off-topic`` or ``near-miss`` (ML topics the collection
does not cover). Each question goes through the same retrieval and gate as ``reviewer ask`` (no model is
called: the gate decides before any model would), and the rates per group are compared with the targets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reviewer.errors import InputError, ParseError

GROUPS = ("answerable", "off-topic", "near-miss")
TARGETS = {"answerable": 0.95, "off-topic": 0.95, "near-miss": 0.80}  # answered / refused / refused


@dataclass(frozen=True)
class Question:
    id: str
    group: str
    question: str
    keys: tuple[str, ...] = ()


@dataclass
class Outcome:
    question: Question
    answered: bool
    best_sentence: float
    best_paper: float
    evidence: list[str] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return self.answered == (self.question.group == "answerable")

    @property
    def found(self) -> bool:
        """For an answerable question: one of its papers is in the evidence."""
        return any(key in self.evidence for key in self.question.keys)

    def to_dict(self) -> dict:
        return {"id": self.question.id, "group": self.question.group, "question": self.question.question,
                "answered": self.answered, "correct": self.correct, "best_sentence": round(self.best_sentence, 4),
                "best_paper": round(self.best_paper, 4), "evidence": self.evidence,
                **({"expected": list(self.question.keys), "found": self.found} if self.question.keys else {})}


@dataclass
class GroupRate:
    group: str
    questions: int
    answered: int
    found: int  # answerable only: an expected paper was in the evidence

    @property
    def rate(self) -> float:
        """answered share for answerable questions, refused share for the others."""
        if not self.questions:
            return 0.0
        good = self.answered if self.group == "answerable" else self.questions - self.answered
        return good / self.questions

    @property
    def target(self) -> float:
        return TARGETS[self.group]

    def to_dict(self) -> dict:
        return {"group": self.group, "questions": self.questions, "answered": self.answered,
                "refused": self.questions - self.answered, "rate": round(self.rate, 4), "target": self.target,
                **({"expected_paper_in_evidence": self.found} if self.group == "answerable" else {})}


def load_questions(path: str | Path) -> list[Question]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; give a JSONL question set (see benchmarks/abstain/README.md)")
    questions, seen = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            question = Question(str(record["id"]), record["group"], record["question"].strip(),
                                tuple(record.get("keys") or ()))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ParseError(f"expected {{\"id\", \"group\", \"question\", \"keys\"}} ({exc})", file=str(path),
                             line=number) from None
        if question.group not in GROUPS:
            raise ParseError(f"group {question.group!r} is not one of {', '.join(GROUPS)}", file=str(path), line=number)
        if question.id in seen:
            raise ParseError(f"duplicate id {question.id!r}", file=str(path), line=number)
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise InputError(f"{path}: no questions")
    return questions


def run(library, questions: list[Question], *, k: int = 8,
        progress: Callable[[int, int], None] | None = None) -> list[Outcome]:
    """Each question through ``library.search`` and the gate, as ``reviewer ask -k K`` would."""
    from reviewer import gate

    outcomes = []
    for done, question in enumerate(questions, start=1):
        hits = library.search(question.question, k=k)
        decision = gate.decide(library, question.question, hits)
        outcomes.append(Outcome(question, decision.answerable, decision.best_sentence, decision.best_paper,
                                [j.key for j in decision.kept]))
        if progress:
            progress(done, len(questions))
    return outcomes


def rates(outcomes: list[Outcome]) -> list[GroupRate]:
    out = []
    for group in GROUPS:
        mine = [o for o in outcomes if o.question.group == group]
        if mine:
            out.append(GroupRate(group, len(mine), sum(o.answered for o in mine), sum(o.found for o in mine)))
    return out


__all__ = ["Question", "Outcome", "GroupRate", "load_questions", "run", "rates", "GROUPS", "TARGETS"]
