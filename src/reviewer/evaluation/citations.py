"""`reviewer eval citations`: do `ask` and `review` cite what an expert cited?

On a data set of expert answers with the ids they cite (``answers.jsonl``: ``_id``, ``question``, ``cited_ids``;
e.g. ../shared/eval/scholarqa-multi) and a library of its whole corpus (keys = corpus ids), each question is
answered (`ask`) and reviewed (`review`, the question as topic) exactly as the commands do, with the model when one
is given. For each output: citation recall (share of the expert's citations it cites), precision (share of its
citations the expert cited) and F1; an output that cites nothing scores 0 on all three. The baseline is plain
search (the library's default mode, no MMR, no gate) returning as many papers as that output cites: what a
user gets by reading the top of the result list. Means over all questions, and per-query values for
`reviewer eval compare`-style wins and losses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reviewer.errors import InputError
from reviewer.evaluation.paired import Paired, paired

SYSTEMS = ("ask", "review")


@dataclass(frozen=True)
class ExpertAnswer:
    id: str
    question: str
    cited: tuple[str, ...]
    answer: str = ""  # the expert's text, with its [n] markers (n: an index into ``cited``)


@dataclass
class Score:
    recall: float
    precision: float
    f1: float
    cited: int

    @classmethod
    def of(cls, cited: Sequence[str], gold: Sequence[str]) -> "Score":
        cited, gold = list(dict.fromkeys(cited)), set(gold)
        hits = len([k for k in cited if k in gold])
        recall = hits / len(gold) if gold else 0.0
        precision = hits / len(cited) if cited else 0.0
        f1 = 2 * recall * precision / (recall + precision) if hits else 0.0
        return cls(recall, precision, f1, len(cited))

    def to_dict(self) -> dict:
        return {"recall": round(self.recall, 4), "precision": round(self.precision, 4), "f1": round(self.f1, 4),
                "cited": self.cited}


@dataclass
class Outcome:
    """One question through one system: what it cited, and the baseline at the same count."""

    id: str
    system: str
    cited: list[str]
    baseline: list[str]
    score: Score
    base: Score
    status: str = "answered"  # or "cannot_answer" (nothing cited)

    def to_dict(self) -> dict:
        return {"id": self.id, "system": self.system, "status": self.status, "cited": self.cited,
                "baseline": self.baseline, "score": self.score.to_dict(), "baseline_score": self.base.to_dict()}


@dataclass
class Summary:
    system: str
    questions: int
    answered: int
    mean: dict[str, float]
    baseline: dict[str, float]
    tests: dict[str, Paired] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"system": self.system, "questions": self.questions, "answered": self.answered,
                "mean": {k: round(v, 4) for k, v in self.mean.items()},
                "baseline": {k: round(v, 4) for k, v in self.baseline.items()},
                "paired": {m: t.to_dict() for m, t in self.tests.items()}}


def load_answers(path: str | Path) -> list[ExpertAnswer]:
    """The expert answers of ``path`` (a data-set directory holding answers.jsonl, or the file itself)."""
    path = Path(path)
    file = path / "answers.jsonl" if path.is_dir() else path
    if not file.is_file():
        raise InputError(f"{file}: not found; give a directory with answers.jsonl (e.g. ../shared/eval/scholarqa-multi)")
    from reviewer.evaluation.beir import jsonl_records

    answers = []
    for number, row in jsonl_records(file):
        try:
            answers.append(ExpertAnswer(str(row["_id"]), str(row["question"]), tuple(map(str, row["cited_ids"])),
                                        str(row.get("answer") or "")))
        except (KeyError, TypeError) as exc:
            raise InputError(f"{file}:{number}: not an expert answer ({exc.__class__.__name__}: {exc}); each line "
                             "needs _id, question and cited_ids") from None
    if not answers:
        raise InputError(f"{file}: no expert answers in it")
    return answers


def cited_by(library, system: str, question: str, llm=None) -> tuple[list[str], str]:
    """(the keys ``system`` cites for ``question``, its status)."""
    from reviewer.errors import NotFoundError

    if system == "ask":
        from reviewer.chains.ask import ask

        answer = ask(library, question, llm=llm)
        return [p.key for p in answer.citations], "answered" if answer.citations else answer.status
    from reviewer.chains.review import review

    try:
        draft = review(library, question, llm=llm)
    except NotFoundError:
        return [], "cannot_answer"
    keys = draft.cited_keys()
    return keys, "answered" if keys else "cannot_answer"


def baseline(library, question: str, count: int) -> list[str]:
    """Plain search's top ``count`` keys."""
    return [h.paper.key for h in library.search(question, k=count)] if count else []


def run(library, answers: Sequence[ExpertAnswer], systems: Sequence[str] = SYSTEMS, *, llm=None,
        progress: Callable[[int, int], None] | None = None) -> list[Outcome]:
    outcomes = []
    total = len(answers) * len(systems)
    for system in systems:
        for answer in answers:
            cited, status = cited_by(library, system, answer.question, llm)
            base = baseline(library, answer.question, len(cited))
            outcomes.append(Outcome(answer.id, system, cited, base, Score.of(cited, answer.cited),
                                    Score.of(base, answer.cited), status))
            if progress:
                progress(len(outcomes), total)
    return outcomes


def summarise(outcomes: Sequence[Outcome], dataset: str = "") -> list[Summary]:
    out = []
    for system in dict.fromkeys(o.system for o in outcomes):
        rows = [o for o in outcomes if o.system == system]
        mean = {m: sum(getattr(o.score, m) for o in rows) / len(rows) for m in ("recall", "precision", "f1", "cited")}
        base = {m: sum(getattr(o.base, m) for o in rows) / len(rows) for m in ("recall", "precision", "f1", "cited")}
        tests = {m: paired(dataset, m, {o.id: getattr(o.base, m) for o in rows}, {o.id: getattr(o.score, m) for o in rows})
                 for m in ("recall", "precision", "f1")}
        out.append(Summary(system, len(rows), len([o for o in rows if o.cited]), mean, base, tests))
    return out
