"""`reviewer eval support` and `reviewer eval rationale`: the offline support check and the extractive engine's
choice of sentence, measured on labelled (sentence, abstract) pairs.

Files read (:func:`load_pairs`):

* scifact-train's ``support.jsonl`` (``claim``, ``abstract_sentences``, ``label`` SUPPORT / CONTRADICT / NOINFO,
  ``sentences`` = rationale indices). Its ``abstract_sentences`` hold SciFact's sentences run together in one
  string ("...cells.Examples include..."); they are split again where a sentence end meets a capital with no
  space, or at a run of spaces (:data:`SCIFACT_SPLIT`; every rationale index falls inside the result);
* a directory with ``answers.jsonl`` (scholarqa-multi): every sentence of an expert answer that cites ``[n]``
  becomes a SUPPORT pair with the snippets it cites, and a NOINFO pair with the first snippet cited by the next
  question's answer (a genuine citing sentence against a mismatched abstract);
* any JSONL of ``{"sentence" (or "claim"), "abstract", "title"?, "label"}`` (label SUPPORT / NOINFO / CONTRADICT,
  or true / false); a sentence citing several papers gives ``"sources": [{"title", "abstract"}, ...]`` instead
  (e.g. benchmarks/support/handwritten.jsonl).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reviewer.errors import InputError

SCIFACT_SPLIT = re.compile(r"(?<=[.!?])(?=[A-Z\[(])|\s{2,}")
LABELS = {"support": "SUPPORT", "supported": "SUPPORT", "true": "SUPPORT", "noinfo": "NOINFO", "false": "NOINFO",
          "unsupported": "NOINFO", "mismatch": "NOINFO", "contradict": "CONTRADICT", "contradiction": "CONTRADICT"}


@dataclass
class Pair:
    id: str
    sentence: str
    sources: list[tuple[str, list[str]]]  # (title, abstract sentences) of each cited paper
    label: str
    rationale: list[int] = field(default_factory=list)


def load_pairs(path: str | Path) -> list[Pair]:
    path = Path(path)
    if path.is_dir():
        return _citing_pairs(path)
    if not path.is_file():
        raise InputError(f"{path}: not found; give a JSONL of labelled pairs or a directory with answers.jsonl")
    from reviewer.evaluation.beir import jsonl_records

    pairs = []
    for number, row in jsonl_records(path):
        try:
            label = LABELS[str(row["label"]).strip().lower()]
            sentence = str(row.get("sentence") or row["claim"])
            if "abstract_sentences" in row:
                text = " ".join(row["abstract_sentences"])
                sources = [(str(row.get("title", "")), [p.strip() for p in SCIFACT_SPLIT.split(text.strip()) if p.strip()])]
            else:
                from reviewer.extractive.text import split

                cited = row.get("sources") or [{"title": row.get("title", ""), "abstract": row["abstract"]}]
                sources = [(str(c.get("title", "")), split(str(c["abstract"]))) for c in cited]
            pairs.append(Pair(str(row.get("claim_id", row.get("id", number))) + f":{row.get('doc_id', '')}", sentence,
                              sources, label, [int(i) for i in row.get("sentences", [])]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{number}: not a labelled pair ({exc.__class__.__name__}: {exc}); each line needs "
                             "sentence (or claim), abstract (or abstract_sentences) and label") from None
    if not pairs:
        raise InputError(f"{path}: no labelled pairs in it")
    return pairs


def _citing_pairs(directory: Path) -> list[Pair]:
    from reviewer.evaluation.beir import load_corpus
    from reviewer.evaluation.citations import load_answers
    from reviewer.extractive.text import split

    answers = load_answers(directory)
    corpus = {doc_id: (doc.title, split(doc.text)) for doc_id, doc in load_corpus(directory / "corpus.jsonl").items()}
    pairs = []
    for i, answer in enumerate(answers):
        other = answers[(i + 1) % len(answers)].cited[0]
        for j, sentence in enumerate(re.split(r"(?<=[.!?])\s+", answer.answer)):
            marks = [int(n) for n in re.findall(r"\[(\d+)\]", sentence) if int(n) < len(answer.cited)]
            plain = " ".join(re.sub(r"\s*\[\d+\]", "", sentence).split())
            if not marks or len(plain.split()) < 6:
                continue
            pairs.append(Pair(f"{answer.id}:{j}", plain, [corpus[answer.cited[n]] for n in marks], "SUPPORT"))
            pairs.append(Pair(f"{answer.id}:{j}:x", plain, [corpus[other]], "NOINFO"))
    return pairs


# ------------------------------------------------------------------------------------------ support
@dataclass
class SupportResult:
    name: str
    counts: dict[str, int]
    auc: float | None  # SUPPORT vs NOINFO
    auc_contradict: float | None  # SUPPORT vs CONTRADICT
    passed: dict[str, float]  # share of each label passed at the threshold
    cue: dict[str, float]  # share of each label flagged by the contradiction cue
    scores: dict[str, list[float]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        return {"file": self.name, "counts": self.counts, "auc": _r(self.auc), "auc_contradict": _r(self.auc_contradict),
                "passed": {k: _r(v) for k, v in self.passed.items()}, "contradiction_cue": {k: _r(v) for k, v in self.cue.items()}}


def _r(value):
    return None if value is None else round(value, 4)


def auc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """ROC AUC: the chance that a positive scores above a negative (ties count half)."""
    if not positive or not negative:
        return None
    p, n = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def support_scores(pairs: Sequence[Pair], embedder):
    """The offline :class:`~reviewer.extractive.support.Verdict` of each pair."""
    from reviewer.corpus.model import Paper
    from reviewer.extractive.support import offline_verdicts

    papers, cited = {}, []
    for pair in pairs:
        keys = []
        for title, parts in pair.sources:
            key = f"p{len(papers)}"
            papers[key] = Paper(key=key, title=title or "(untitled)", abstract=" ".join(parts))
            keys.append(key)
        cited.append(keys)
    return offline_verdicts([p.sentence for p in pairs], cited, papers, embedder)


def measure_support(name: str, pairs: Sequence[Pair], verdicts, threshold: float) -> SupportResult:
    by: dict[str, list] = {}
    for pair, verdict in zip(pairs, verdicts):
        by.setdefault(pair.label, []).append(verdict)
    scores = {label: [v.score for v in items] for label, items in by.items()}
    return SupportResult(
        name, {k: len(v) for k, v in by.items()}, auc(scores.get("SUPPORT", []), scores.get("NOINFO", [])),
        auc(scores.get("SUPPORT", []), scores.get("CONTRADICT", [])),
        {k: float(np.mean([v.supported(threshold) for v in items])) for k, items in by.items()},
        {k: float(np.mean([bool(v.contradiction) for v in items])) for k, items in by.items()}, scores)


MIN_PASS = 0.8  # share of SUPPORT pairs every file must pass at the threshold (the target)


def best_threshold(results: Sequence[SupportResult], grid=None, min_pass: float = MIN_PASS) -> tuple[float, float]:
    """(threshold, mean balanced accuracy): of the thresholds that pass at least ``min_pass`` of every file's
    SUPPORT pairs, the one that best separates SUPPORT from NOINFO on average over the files (each file's
    balanced accuracy weighs the same, whatever its size). (0.0, 0.0) when no threshold passes enough."""
    grid = np.round(np.arange(0.30, 0.701, 0.025), 3) if grid is None else grid
    best = (0.0, 0.0)
    measured = [r for r in results if r.scores.get("SUPPORT") and r.scores.get("NOINFO")]
    for t in grid:
        passed = [np.mean(np.asarray(r.scores["SUPPORT"]) >= t) for r in measured]
        if not measured or min(passed) < min_pass:
            continue
        accuracy = np.mean([(p + np.mean(np.asarray(r.scores["NOINFO"]) < t)) / 2 for p, r in zip(passed, measured)])
        if accuracy > best[1] + 1e-9:
            best = (float(t), float(accuracy))
    return best


# ------------------------------------------------------------------------------------------ rationale
@dataclass
class RationaleResult:
    pairs: int
    engine: dict[str, int]  # hits by label
    plain: dict[str, int]
    per_pair: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)  # id -> (plain hit, engine hit)


def measure_rationale(pairs: Sequence[Pair], embedder) -> RationaleResult:
    """For each SUPPORT/CONTRADICT pair with rationale sentences: is the sentence the engine would quote for the
    claim (:func:`reviewer.extractive.scoring.answer_scores`) a rationale sentence, and is the most similar one?
    Fragments (:func:`reviewer.extractive.text.is_fragment`) are never chosen by the engine."""
    from reviewer.extractive.scoring import answer_scores
    from reviewer.extractive.text import is_fragment

    usable = [p for p in pairs if p.label in ("SUPPORT", "CONTRADICT") and p.rationale]
    result = RationaleResult(len(usable), {}, {})
    texts = sorted({t for p in usable for t in [p.sentence, *p.sources[0][1]]})
    vectors = dict(zip(texts, embedder.embed_array(texts))) if texts else {}
    for pair in usable:
        parts = pair.sources[0][1]
        similarity = np.array([vectors[s] @ vectors[pair.sentence] for s in parts])
        scores = answer_scores(similarity, parts)
        scores[[is_fragment(s) for s in parts]] = -np.inf
        if np.all(np.isinf(scores)):
            scores = similarity
        plain_hit = int(int(np.argmax(similarity)) in pair.rationale)
        engine_hit = int(int(np.argmax(scores)) in pair.rationale)
        result.plain[pair.label] = result.plain.get(pair.label, 0) + plain_hit
        result.engine[pair.label] = result.engine.get(pair.label, 0) + engine_hit
        result.per_pair[pair.id] = (plain_hit, engine_hit)
    return result
