"""`compare` without a model: one quoted sentence per cell, and the methods a topic's titles name.

* :func:`extractive_cells` — each cell quotes the sentence of that method's papers that best fits the aspect
  (:func:`aspect_scores`: cosine to the aspect's keyword query, plus :data:`_CUE_BONUS` for one of its cue words,
  plus :data:`_OPENING_BONUS` for "task" when the sentence opens its abstract); a pair scoring under
  :data:`EXTRACTIVE_MIN_SCORE` is never taken; fragments are never quoted.
* :func:`names_method` / :func:`is_about` — whether a text names a method, and whether a paper is about it
  (used by both engines to narrow each method's evidence).
* :func:`methods_from_titles` — the methods a topic's papers name ("Name: what it does").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reviewer import extractive
from reviewer.evidence import Evidence

if TYPE_CHECKING:
    from reviewer.chains.compare import Target

_NAME_CHARS = 80

# The extractive engine's scores (see aspect_scores): a sentence fills a cell only when it scores this much.
EXTRACTIVE_MIN_SCORE = 0.25
_CUE_BONUS = 0.2
_OPENING_BONUS = 0.1
_EXTRACTIVE_QUERIES = {  # MiniLM tells aspects apart better from keywords than from the descriptions
    "task": "task problem goal motivation",
    "approach": "method approach architecture idea: a model that learns, trains, freezes or adds layers",
    "data": "dataset benchmark data corpus evaluation",
    "results": "results accuracy improvement performance",
    "limitations": "limitation drawback cost failure slower",
}
_CUES = {name: re.compile(pattern, re.I) for name, pattern in {
    "task": r"\b(we (address|study|consider|tackle|investigate|ask)|problems?|challeng\w*|requires?|should not|"
            r"is (slow|costly|expensive)|needs? to)\b",
    "approach": r"\b(we (propose|introduce|present|combine|model|train|design|develop)|our (method|approach|model)|"
                r"learns?|trains?|freezes?|inserted|prepends?|uses?|based on)\b",
    "data": r"\b(datasets?|benchmarks?|corpus|corpora|annotated|experiments? (on|cover)|evaluated? on|collected)\b",
    "results": r"(\d+(\.\d+)?\s?%|\b(improv\w*|outperform\w*|match(es)?|reach\w*|gains?|drops?|accuracy|error|F1|BLEU|"
               r"state[- ]of[- ]the[- ]art)\b)",
    "limitations": r"\b(limitations?|however|less (effective|accurate)|slower|unstable|fail\w*|not (been )?tested|"
                   r"must be|costs?|drawbacks?|lags?|latency|shrink\w*|only)\b",
}.items()}
_STOP_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "the", "to", "via", "with"}


def names_method(text: str, name: str) -> bool:
    """Whether ``text`` names the method ``name``: the name itself (any case, hyphens and spaces alike, a plural
    "s" and an acronym in brackets allowed: "Chain-of-Thought (CoT) Prompting" names "chain-of-thought
    prompting"), or, for a name of three or more words besides "of", "from"..., their initials in capitals
    ("RLHF" names "reinforcement learning from human feedback")."""
    phrase = _phrase(name)
    if not phrase:
        return False
    if re.search(phrase, text, re.I):
        return True
    initials = "".join(w[0] for w in _words(name) if w.casefold() not in _STOP_WORDS).upper()
    return len(initials) >= 3 and initials.isalpha() and bool(re.search(rf"(?<!\w){initials}s?(?!\w)", text))


def is_about(paper: Evidence, name: str) -> bool:
    """Whether ``paper`` is about the method ``name`` rather than only mentioning it: its title names it, or has
    all the words of the name but the last, which tell this method from the others ("SoftPrompt: Learning
    Continuous Prompts" is about "prompt tuning", "Step-level Value Preference Optimization" is not about
    "direct preference optimization"; "of", "from"... do not count)."""
    if names_method(paper.title, name):
        return True
    words = [w.casefold() for w in _words(name) if w.casefold() not in _STOP_WORDS]
    title = {w.casefold() for w in re.findall(r"\w+", paper.title)}
    return len(words) >= 2 and all({w, w + "s", w + "es"} & title for w in words[:-1])


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[\s\-\u2010-\u2014/]+", name) if w and re.search(r"\w", w)]


def _phrase(name: str) -> str:
    """A regular expression of ``name`` as a phrase (see :func:`names_method`); "" for a name without words."""
    words = [re.escape(w) for w in _words(name)]
    between = r"(?:\s*\([^()]{1,12}\))?[\s\-\u2010-\u2014]+"
    return rf"(?<!\w){between.join(words)}(?:e?s)?(?!\w)" if words else ""


def methods_from_titles(titles: Sequence[str], limit: int) -> list[Target]:
    """Up to ``limit`` methods named by paper titles, in the titles' order. The offline
    heuristic: a title "Name: what it does" names the method "Name" (at most four words before the colon);
    when fewer than ``limit`` titles do, short titles (at most eight words) fill up the list as names of their
    own. The query is the whole title, so that the paper that named the method is found again (its evidence is
    then narrowed to the papers that name it, as for any method)."""
    from reviewer.chains.compare import Target, clean_name

    named: list[tuple[str, str]] = []
    short: list[tuple[str, str]] = []
    for title in titles:
        title = " ".join(title.split())
        head, colon, rest = title.partition(":")
        name = clean_name(head)
        if colon and rest.strip() and name and len(name.split()) <= 4:
            named.append((name, title))
        elif len(title.split()) <= 8:
            short.append((clean_name(title), title))
    found: list[Target] = []
    for name, query in named + short:
        if len(found) < limit and name and len(name) <= _NAME_CHARS and \
                name.casefold() not in {t.name.casefold() for t in found}:
            found.append(Target(name, query))
    return found


def extractive_cells(embedder, methods: list[str], aspects: list[str], evidence: dict[str, list[Evidence]],
                     warnings: list[str] | None = None) -> dict[str, dict[str, tuple[str, list[str]]]]:
    """(sentence, [key]) per method and aspect, quoted from that method's evidence (see :func:`aspect_scores`):
    the best (sentence, aspect) pairs are taken first, and a pair scoring under EXTRACTIVE_MIN_SCORE is never
    taken (the cell is left empty). Of a paper that only mentions the method, only the sentences that name it
    are quoted (see :func:`_quotable`). A sentence fills one cell of the whole table at most, and a paper in the
    evidence of several methods is quoted for one of them only (see :func:`_quoted_papers`), so two rows never
    repeat each other."""
    papers = _quoted_papers(methods, evidence)
    cells: dict[str, dict[str, tuple[str, list[str]]]] = {m: {} for m in methods}
    used: set[tuple[str, int]] = set()  # (key, position in its abstract) of the sentences quoted so far
    for method in sorted(methods, key=lambda m: not papers[m]):  # rows with papers of their own choose first
        quoted = papers[method] or evidence[method]
        mentions = [e.key for e in quoted if not is_about(e, method) and names_method(e.abstract, method)]
        if mentions and warnings is not None:
            verb, their = ("mentions", "its") if len(mentions) == 1 else ("mention", "their")
            if len(mentions) == len(quoted):
                warnings.append(f"{method}: none of its papers is about it ({', '.join(mentions)} only {verb} it), so "
                                "only the sentences that name it are quoted")
            else:
                warnings.append(f"{method}: {', '.join(mentions)} only {verb} it, so only {their} sentences that name "
                                "it are quoted")
        pool = [(s, e.key, i) for e in quoted
                for i, s in enumerate(extractive.sentences(e.abstract))
                if (e.key, i) not in used and _quotable(s, e, method)]
        if not pool:
            continue
        scores = aspect_scores([(s, i) for s, _, i in pool], aspects, embedder)
        pairs = sorted(((float(scores[s, a]), s, a) for s in range(len(pool)) for a in range(len(aspects))),
                       key=lambda p: (-p[0], p[1], p[2]))
        for score, s, a in pairs:
            sentence, key, position = pool[s]
            if score < EXTRACTIVE_MIN_SCORE:
                break
            if (key, position) in used or aspects[a] in cells[method]:
                continue
            used.add((key, position))
            cells[method][aspects[a]] = (sentence.replace("[", "(").replace("]", ")"), [key])
    return cells


def _quotable(sentence: str, paper: Evidence, method: str) -> bool:
    """Whether ``sentence`` of ``paper`` may fill a cell of ``method``: any sentence of a paper about the method
    (:func:`is_about`), but of a paper that only mentions it (it uses the method, or compares with it), only
    the sentences that name it: its other sentences are about its own work."""
    if is_about(paper, method) or not names_method(paper.abstract, method):
        return True  # (a paper that does not name the method at all is evidence only when none does)
    return names_method(sentence, method)


def _quoted_papers(methods: list[str], evidence: dict[str, list[Evidence]]) -> dict[str, list[Evidence]]:
    """The papers each method's cells may quote: its evidence, less the papers that another method's evidence
    also holds and that go to that method: a shared paper goes to the first method it is about (:func:`is_about`),
    else to the one it is most similar to (a method left with none of its own may still quote the others'
    leftovers: the sentences they did not quote)."""
    holders: dict[str, list[tuple[str, Evidence]]] = {}
    for method in methods:
        for item in evidence[method]:
            holders.setdefault(item.key, []).append((method, item))
    owner = {key: max(held, key=lambda h: (is_about(h[1], h[0]), h[1].score))[0] for key, held in holders.items()}
    return {m: [e for e in evidence[m] if owner[e.key] == m] for m in methods}


def aspect_scores(sentences: list[tuple[str, int]], aspects: list[str], embedder):
    """How well each (sentence, position in its abstract) fits each aspect: the cosine similarity of the sentence
    to the aspect's query (_EXTRACTIVE_QUERIES, else its description), plus _CUE_BONUS when it has one of the
    aspect's cue words (_CUES) and _OPENING_BONUS for "task" when it opens its abstract. A sentences x aspects
    array."""
    from reviewer.chains.compare import describe

    queries = [_EXTRACTIVE_QUERIES.get(a, describe(a)) for a in aspects]
    vectors = embedder.embed_array(queries + [s for s, _ in sentences])
    scores = vectors[len(queries):] @ vectors[:len(queries)].T
    for row, (sentence, position) in enumerate(sentences):
        for column, aspect in enumerate(aspects):
            if aspect in _CUES and _CUES[aspect].search(sentence):
                scores[row, column] += _CUE_BONUS
            if aspect == "task" and position == 0:
                scores[row, column] += _OPENING_BONUS
    return scores
