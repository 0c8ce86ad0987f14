"""`compare`: methods -> evidence per method -> a table of aspects, every cell backed by ``[key]``s.

Steps: take the methods (or, with a topic, find its main methods: with the model, a small structured call over
the topic's evidence; without one, the names that head the titles of the topic's papers); retrieve evidence for
each method separately, keeping only papers the evidence gate admits and, of these, the ones that name the method
when any does (a method the collection does not cover gets "not reported" cells and a warning; when no method
is covered there is nothing to compare: NotFoundError); with the model, pack each method's evidence into its
share of the token budget; fill the table (with the model: one structured call whose schema has one required
field per method and aspect, so an incomplete table is invalid and gets the one repair retry; without one: the
extractive engine quotes the best sentence per cell, never the same sentence in two cells); check every cell:
keys that were not in *that method's* evidence are removed and reported, and a cell left without a valid key
says exactly NOT_REPORTED (its text is reported in a warning: the table never shows a claim without a citation).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, create_model

from reviewer import citations, extractive, gate, prompts
from reviewer.corpus.model import Paper
from reviewer.errors import InputError, NotFoundError
from reviewer.evidence import Evidence, pack
from reviewer.llm import LLM, Usage
from reviewer.grounding import clean_reply
from reviewer.text import excerpt

NOT_REPORTED = "not reported"
# The default aspects, each with the one-line description the prompt and the extractive engine use.
ASPECTS: dict[str, str] = {
    "task": "the problem or task the method addresses",
    "approach": "how the method works: its key idea and design",
    "data": "the datasets, benchmarks or training data it is evaluated on",
    "results": "its main results and findings, with numbers where reported",
    "limitations": "its limitations, costs and failure cases",
}
MAX_METHODS = 4  # methods a --topic comparison finds, by default
METHODS_LIMIT = 8  # most methods one table holds (named or found)
TOPIC_K = 12  # papers retrieved for a topic to find its methods in
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
_NAME_CHARS = 80
_ASPECT = re.compile(r"^[A-Za-z][A-Za-z0-9 _\-]{0,39}$")
_NOT_REPORTED_WORDS = {"", "not reported", "not mentioned", "not stated", "not available", "not specified",
                       "unknown", "none", "n/a", "na", "-", "—", "–", "?"}

NO_LLM_NOTE = (
    "No LLM is configured, so this table is extractive: each cell quotes the sentence of that method's papers "
    "most similar to the aspect. Set REVIEWER_LLM__BASE_URL (e.g. a local Ollama or llama.cpp server) or "
    "OPENAI_API_KEY for written cells."
)


@dataclass
class Cell:
    """One cell: a short text and the keys of the papers that back it (none when it is NOT_REPORTED)."""

    text: str = NOT_REPORTED
    keys: list[str] = field(default_factory=list)

    @property
    def reported(self) -> bool:
        return self.text != NOT_REPORTED


@dataclass
class Comparison:
    """A table of ``methods`` x ``aspects``; ``cells[method][aspect]`` is a :class:`Cell` whose keys are all in
    ``evidence[method]`` (the papers shown for that method). ``engine``: "llm" or "extractive"."""

    methods: list[str]
    aspects: list[str]
    cells: dict[str, dict[str, Cell]]
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    engine: str = "llm"
    topic: str | None = None
    papers: dict[str, Paper] = field(default_factory=dict, repr=False)  # every cited paper, by key

    @property
    def notice(self) -> str | None:
        """The extractive engine's one-line notice (no LLM configured), never part of the table; None with a model."""
        return NO_LLM_NOTE if self.engine == "extractive" else None

    def cell(self, method: str, aspect: str) -> Cell:
        return self.cells[method][aspect]

    def cited_keys(self) -> list[str]:
        """Every cited key, row by row, in order of first appearance."""
        keys: list[str] = []
        for method in self.methods:
            for aspect in self.aspects:
                keys += [k for k in self.cells[method][aspect].keys if k not in keys]
        return keys

    def citations(self) -> list[Paper]:
        """The cited papers, in order of first appearance (every cited key is a paper of the library)."""
        return [self.papers[k] for k in self.cited_keys()]

    def to_dict(self) -> dict:
        """The comparison as JSON-able data."""
        return {
            "topic": self.topic, "engine": self.engine,
            "notice": self.notice,
            "methods": self.methods, "aspects": self.aspects,
            "rows": [{"method": m, "cells": {a: {"text": c.text, "keys": c.keys} for a, c in self.cells[m].items()}}
                     for m in self.methods],
            "citations": [{"key": p.key, "title": p.title} for p in self.citations()],
            "evidence": {m: [{"key": e.key, "title": e.title, "score": round(e.score, 4)} for e in items]
                         for m, items in self.evidence.items()},
            "warnings": self.warnings, "usage": self.usage.to_dict(),
        }

    def to_markdown(self, note: bool = False) -> str:
        """A Markdown pipe table (each cell: text then ``[key; key]``), then the cited papers. The extractive
        engine's notice is :attr:`notice`, apart; ``note=True`` puts it above the table as a quote."""
        lines = [f"> {NO_LLM_NOTE}", ""] if note and self.engine == "extractive" else []
        lines.append("| " + " | ".join(["Method", *(_md(a.capitalize()) for a in self.aspects)]) + " |")
        lines.append("|" + " --- |" * (len(self.aspects) + 1))
        for method in self.methods:
            cells = [_md(method)]
            for aspect in self.aspects:
                cell = self.cells[method][aspect]
                cells.append(_md(cell.text + (f" [{'; '.join(cell.keys)}]" if cell.keys else "")))
            lines.append("| " + " | ".join(cells) + " |")
        cited = self.citations()
        if cited:
            lines += ["", "Sources:", ""] + [f"- [{p.key}] {' '.join(p.title.split())}" for p in cited]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """CSV, one row per method: ``method``, then per aspect its text and ``<aspect>_keys`` ("k1; k2")."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["method", *(c for a in self.aspects for c in (a, f"{a}_keys"))])
        for method in self.methods:
            row = [method]
            for aspect in self.aspects:
                cell = self.cells[method][aspect]
                row += [cell.text, "; ".join(cell.keys)]
            writer.writerow(row)
        return out.getvalue()


def _md(text: str) -> str:
    """``text`` safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


@dataclass(frozen=True)
class Target:
    """A method to compare: its ``name`` (row label) and the ``query`` its evidence is retrieved with (the name
    itself, or for a method found in a topic's titles, the title that names it)."""

    name: str
    query: str


# ----------------------------------------------------------------------------------------------- the chain
def compare(library, methods: Sequence[str] | None = None, *, topic: str | None = None,
            aspects: Sequence[str] | None = None, k: int = 4, llm: LLM | None = None, use_cache: bool = True,
            max_methods: int = MAX_METHODS) -> Comparison:
    """Compare ``methods`` (or the main methods of ``topic``, at most ``max_methods``) on ``aspects`` (default:
    ASPECTS) from ``library``, ``k`` papers per method. ``llm`` None: the extractive engine fills the table."""
    aspects = parse_aspects(aspects)
    if k < 1:
        raise InputError(f"k must be at least 1 (papers per method); got {k}")
    warnings: list[str] = []
    usage = Usage()
    if topic is not None:
        if methods:
            raise InputError("give either methods to compare or a topic to find them in, not both")
        if not 1 <= max_methods <= METHODS_LIMIT:
            raise InputError(f"max_methods must be between 1 and {METHODS_LIMIT}; got {max_methods}")
        topic = " ".join(topic.split())
        if not topic:
            raise InputError("the topic is empty")
        found = find_methods(library, topic, max_methods=max_methods, llm=llm, use_cache=use_cache,
                             warnings=warnings, usage=usage)
    else:
        found = [Target(m, m) for m in parse_methods(methods)]

    names = [t.name for t in found]
    retrieved = retrieve(library, found, k, warnings)
    covered = [m for m in names if retrieved[m]]
    if llm is None:  # no prompt, so no token budget: the extractive engine reads every retrieved paper whole
        evidence = retrieved
        drafts = extractive_cells(library.embedder, covered, aspects, evidence, warnings)
        engine = "extractive"
    else:
        share = library.settings.llm.evidence_tokens // len(covered)
        evidence = {m: _packed(retrieved[m], share, llm.model_name, m, warnings) for m in names}
        drafts = llm_cells(llm, covered, aspects, evidence, use_cache=use_cache, warnings=warnings, usage=usage)
        engine = "llm"
    cells = check_cells(names, aspects, drafts, evidence, warnings)
    comparison = Comparison(names, aspects, cells, evidence, warnings, usage, engine, topic)
    comparison.papers = library.store.get(comparison.cited_keys())
    missing = [key for key in comparison.cited_keys() if key not in comparison.papers]
    if missing:  # cannot happen unless the collection changed under us: never show a key that does not resolve
        raise NotFoundError(f"cited paper(s) {', '.join(missing)} are no longer in the library: "
                            "run the comparison again")
    return comparison


def parse_aspects(aspects: Sequence[str] | str | None) -> list[str]:
    """The aspects to compare on (default: every ASPECTS name), stripped, lower-cased, without duplicates.
    Any short name is allowed; names outside ASPECTS get a generic description."""
    if aspects is None:
        return list(ASPECTS)
    if isinstance(aspects, str):
        aspects = aspects.split(",")
    out: list[str] = []
    for aspect in aspects:
        aspect = " ".join(aspect.split()).lower()
        if not aspect:
            continue
        if not _ASPECT.match(aspect):
            raise InputError(f"aspect {aspect!r} is not a short name (letters, digits, spaces, - and _, at most 40 "
                             f"characters); the defaults are {', '.join(ASPECTS)}")
        if aspect not in out:
            out.append(aspect)
    if not out:
        raise InputError(f"no aspect given; the defaults are {', '.join(ASPECTS)}")
    return out


def describe(aspect: str) -> str:
    """The one-line description of ``aspect`` shown to the model and used as the extractive query."""
    return ASPECTS.get(aspect, f"what its papers report about its {aspect}")


def parse_methods(methods: Sequence[str] | str | None) -> list[str]:
    """The method names, cleaned (one line each), without duplicates (any case); at least one, at most
    METHODS_LIMIT."""
    if isinstance(methods, str):
        methods = [methods]
    names: list[str] = []
    for method in methods or []:
        name = clean_name(method)
        if len(name) > _NAME_CHARS:
            raise InputError(f"method name {excerpt(name, 40)!r} is too long: name a method in at most "
                             f"{_NAME_CHARS} characters")
        if name and name.casefold() not in {n.casefold() for n in names}:
            names.append(name)
    if not names:
        raise InputError("name at least one method to compare (or give a topic to find them in)")
    if len(names) > METHODS_LIMIT:
        raise InputError(f"{len(names)} methods do not fit one table: compare at most {METHODS_LIMIT} at a time")
    return names


def clean_name(name: str) -> str:
    """A method name on one line, without surrounding quotes or punctuation, nor angle brackets (a name is
    shown inside the evidence fence)."""
    name = " ".join(str(name).replace("<", " ").replace(">", " ").split())
    return name.strip(" \"'`*.,;:!?()[]{}")


def retrieve(library, targets: list[Target], k: int, warnings: list[str]) -> dict[str, list[Evidence]]:
    """Each target's evidence (see :func:`method_evidence`), by name. A method with none, or none that names
    it, gets a warning; when no method has any evidence there is nothing to compare: NotFoundError."""
    evidence: dict[str, list[Evidence]] = {}
    reasons: dict[str, str] = {}
    notes: list[str] = []
    for target in targets:
        items, reasons[target.name], named = method_evidence(library, target, k)
        evidence[target.name] = items
        if not items:
            notes.append(f"no paper of this collection is about {target.name!r} ({reasons[target.name]}): its cells "
                         f"say {NOT_REPORTED!r}")
        elif not named:
            notes.append(f"no paper retrieved for {target.name!r} names it (nor its acronym): its cells come from "
                         f"the papers most similar to the name ({', '.join(e.key for e in items)}); check how the "
                         "papers call it")
    if not any(evidence.values()):
        if len(library) == 0:
            raise NotFoundError("the library is empty, so there is nothing to compare: add papers with "
                                "`reviewer ingest FILE...` first")
        listed = "; ".join(f"{name!r}: {reason}" for name, reason in reasons.items())
        raise NotFoundError(f"no paper of this collection is about any of the methods ({listed}): nothing to "
                            "compare; name the methods as the papers do (e.g. spelled out rather than an acronym), "
                            "or ingest papers about them")
    warnings.extend(notes)
    return evidence


def method_evidence(library, target: Target, k: int) -> tuple[list[Evidence], str, bool]:
    """(the evidence for ``target``, why there is none when there is none, whether that evidence names it).
    Of the ``k`` papers retrieved for ``target.query``, those the evidence gate (:mod:`reviewer.gate`) admits,
    best first; of these, only the ones that name the method (see :func:`names_method`) when any does, so that
    two methods whose queries find the same papers do not get the same evidence."""
    hits = library.search(target.query, k=k)
    decision = gate.decide(library, target.query, hits)
    kept = [Evidence.of(j.hit.paper, j.paper_similarity) for j in decision.kept]
    named = [e for e in kept if names_method(e.title, target.name) or names_method(e.abstract, target.name)]
    return named or kept, decision.reason(), bool(named)


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


def _packed(items: list[Evidence], budget: int, model: str | None, method: str, warnings: list[str]) -> list[Evidence]:
    """``items`` that fit ``budget`` tokens of the model's prompt (what did not fit, or was cut, is reported)."""
    if not items:
        return []
    packed = pack(items, budget, model)
    if packed.truncated:
        warnings.append(f"{method}: the abstract of {', '.join(packed.truncated)} was cut to fit its share "
                        f"({budget} tokens) of the evidence budget (REVIEWER_LLM__EVIDENCE_TOKENS)")
    if packed.dropped:
        warnings.append(f"{method}: {len(packed.dropped)} paper(s) did not fit its share ({budget} tokens) of the "
                        "evidence budget (REVIEWER_LLM__EVIDENCE_TOKENS) and were not used: "
                        + ", ".join(e.key for e in packed.dropped))
    return packed.included


# ------------------------------------------------------------------------------------ finding the methods
def find_methods(library, topic: str, *, max_methods: int, llm: LLM | None, use_cache: bool,
                 warnings: list[str], usage: Usage) -> list[Target]:
    """The main methods of ``topic``'s papers, at most ``max_methods``.

    With a model: the names it lists from the topic's evidence (only names that occur in that evidence are
    kept). Without one: see :func:`methods_from_titles`. Raises NotFoundError when no paper is about ``topic``.
    """
    hits = library.search(topic, k=TOPIC_K)
    decision = gate.decide(library, topic, hits)
    kept = [j.hit for j in decision.kept]
    relevance = {j.key: j.paper_similarity for j in decision.kept}
    if not kept:
        raise NotFoundError(f"no paper of this collection is about the topic {topic!r} ({decision.reason()}): nothing "
                            "to compare; name the methods instead, or ingest papers on the topic")
    if llm is None:
        found = methods_from_titles([h.title for h in kept], max_methods)
    else:
        evidence = [Evidence.of(h.paper, relevance[h.key]) for h in kept]
        names = _methods_from_model(llm, topic, evidence, max_methods, use_cache,
                                    library.settings.llm.evidence_tokens, warnings, usage)
        found = [Target(name, name) for name in names]
    if not found:
        raise NotFoundError(f"no method name was found in the titles of the papers on {topic!r} (titles of the form "
                            "\"Name: what it does\", or short ones): name the methods to compare instead")
    if len(found) < 2:
        warnings.append(f"only one method was found for the topic {topic!r}: name the methods to compare instead")
    return found


def methods_from_titles(titles: Sequence[str], limit: int) -> list[Target]:
    """Up to ``limit`` methods named by paper titles, in the titles' order. The offline
    heuristic: a title "Name: what it does" names the method "Name" (at most four words before the colon);
    when fewer than ``limit`` titles do, short titles (at most eight words) fill up the list as names of their
    own. The query is the whole title, so that the paper that named the method is found again (its evidence is
    then narrowed to the papers that name it, as for any method)."""
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


def _methods_from_model(llm: LLM, topic: str, evidence: list[Evidence], limit: int, use_cache: bool, budget: int,
                        warnings: list[str], usage: Usage) -> list[str]:
    """The method names the model lists from ``evidence`` (kept: those that occur in a title or abstract of it,
    up to ``limit``)."""
    packed = pack(evidence, budget, llm.model_name)
    text = "\n".join(f"{e.title}\n{e.abstract}" for e in packed.included).casefold()

    def usable(value) -> list[str]:
        names: list[str] = []
        for name in value.methods:
            name = clean_name(name)
            if _is_name(name) and re.search(rf"(?<!\w){re.escape(name.casefold())}(?!\w)", text) and \
                    name.casefold() not in {n.casefold() for n in names}:
                names.append(name)
        return names

    def check(value) -> list[str]:
        if usable(value):
            return []
        return ["it names no method that occurs in the evidence: list the names of methods as the papers write them"]

    messages = prompts.load("compare_methods").render(topic=topic, evidence=packed.text(), max_methods=str(limit))
    result = llm.structured(messages, MethodList, use_cache=use_cache, check=check)
    usage.add(result.usage)
    names = usable(result.value)
    kept = {n.casefold() for n in names}
    others = [n for n in (clean_name(m) for m in result.value.methods) if n and n.casefold() not in kept]
    if others:
        warnings.append("the model also named method(s) that do not occur in the topic's papers (left out): "
                        + ", ".join(excerpt(n, 40) for n in others))
    if len(names) > limit:
        warnings.append(f"the model named {len(names)} methods: the first {limit} are compared "
                        f"({', '.join(names[limit:])} left out)")
    return names[:limit]


def _is_name(name: str) -> bool:
    """A plausible method name: at most _NAME_CHARS characters, at least two, one of them a letter."""
    return 2 <= len(name) <= _NAME_CHARS and bool(re.search(r"[^\W\d_]", name))


# ------------------------------------------------------------------------------------ filling the table
def llm_cells(llm: LLM, methods: list[str], aspects: list[str], evidence: dict[str, list[Evidence]], *,
              use_cache: bool, warnings: list[str], usage: Usage) -> dict[str, dict[str, tuple[str, list[str]]]]:
    """(text, keys) per method and aspect as the model wrote them (one structured call; none when no method
    has evidence). The schema has one required field per method and aspect: a table that lacks one is
    invalid, and gets the repair retry."""
    if not methods:
        return {}
    schema = table_schema(methods, aspects)
    messages = prompts.load("compare").render(
        methods="\n".join(f"- {m}" for m in methods),
        aspects="\n".join(f"- {a}: {describe(a)}" for a in aspects),
        evidence=render_evidence(methods, evidence),
        not_reported=NOT_REPORTED,
    )
    result = llm.structured(messages, schema, use_cache=use_cache)
    usage.add(result.usage)
    if result.repaired:
        warnings.append("the model's first table was not valid; it was asked once to repair it, and the repaired "
                        "table is shown")
    drafts: dict[str, dict[str, tuple[str, list[str]]]] = {}
    for i, method in enumerate(methods):
        row = getattr(result.value, f"m{i}")
        cells = [getattr(row, f"a{j}") for j in range(len(aspects))]
        drafts[method] = {a: (cell.text, list(cell.keys)) for a, cell in zip(aspects, cells)}
    return drafts


def render_evidence(methods: list[str], evidence: dict[str, list[Evidence]]) -> str:
    """The evidence grouped by method: a "Method: NAME" line, then its papers as ``[key] title — abstract``."""
    return "\n\n".join(f"Method: {m}\n\n" + "\n\n".join(e.render() for e in evidence[m]) for m in methods)


class MethodList(BaseModel):
    """The main methods the papers propose or study."""

    methods: list[str] = Field(description="Method names exactly as the papers write them, most important first.")


class TableCell(BaseModel):
    """One cell of the table."""

    text: str = Field(description=f"One short sentence from this method's papers, or {NOT_REPORTED!r}.")
    keys: list[str] = Field(description="Keys of this method's papers that support the text.")


def table_schema(methods: list[str], aspects: list[str]) -> type[BaseModel]:
    """A pydantic model of the table: one required field per method (named as the method), each with one
    required TableCell per aspect. Field names are m0, m1... and a0, a1... (method names need not be
    identifiers); the JSON the model writes uses the names themselves (aliases)."""
    config = ConfigDict(validate_by_name=False, validate_by_alias=True, serialize_by_alias=True)  # cached as written
    row = create_model("MethodRow", __config__=config, __doc__="One method's cells, one per aspect.",
                       **{f"a{j}": (TableCell, Field(alias=a, description=describe(a))) for j, a in enumerate(aspects)})
    return create_model("ComparisonTable", __config__=config,
                        __doc__="A comparison table: one row per method, one cell per aspect.",
                        **{f"m{i}": (row, Field(alias=m, description=f"The cells of {m}, from its papers only."))
                           for i, m in enumerate(methods)})


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


# ------------------------------------------------------------------------------------ checking the cells
def check_cells(methods: list[str], aspects: list[str], drafts: dict[str, dict[str, tuple[str, list[str]]]],
                evidence: dict[str, list[Evidence]], warnings: list[str]) -> dict[str, dict[str, Cell]]:
    """The final cells: keys (listed or cited as ``[key]`` in the text) that are not in that method's evidence
    are removed and reported; a cell with no text, a "not reported"-like text, or no valid key left says
    exactly NOT_REPORTED (a text dropped for want of a valid key is reported)."""
    cells: dict[str, dict[str, Cell]] = {}
    removed: list[str] = []
    unsupported: list[str] = []
    for method in methods:
        allowed = {e.key for e in evidence.get(method, [])}
        cells[method] = {}
        for aspect in aspects:
            text, keys = drafts.get(method, {}).get(aspect, ("", []))
            cell, unknown = _checked(text, keys, allowed)
            if unknown:
                removed.append(f"{method} / {aspect}: {', '.join(unknown)}")
            if not cell.reported and not _says_not_reported(_plain(text)):
                unsupported.append(f"{method} / {aspect}: {excerpt(_plain(text), 60)!r}")
            cells[method][aspect] = cell
    if removed:
        warnings.append("removed citation(s) of keys that were not in that method's evidence: " + "; ".join(removed))
    if unsupported:
        warnings.append(f"{len(unsupported)} cell(s) cited no paper of that method's evidence and say "
                        f"{NOT_REPORTED!r} instead: " + "; ".join(unsupported))
    return cells


def _checked(text: str, keys: Sequence[str], allowed: set[str]) -> tuple[Cell, list[str]]:
    """(the cell, the unknown keys removed from it)."""
    checked = citations.validate(clean_reply(text)[0], allowed)
    listed = [str(k).strip().strip("[]").lstrip("@").strip() for k in keys]
    valid, unknown = [], list(checked.removed)
    for key in listed + checked.keys:
        if not key:
            continue
        if key in allowed:
            if key not in valid:
                valid.append(key)
        elif key not in unknown:
            unknown.append(key)
    plain = _plain(checked.text)
    if _says_not_reported(plain) or not valid:
        return Cell(), unknown
    return Cell(plain, valid), unknown


def _plain(text: str) -> str:
    """``text`` on one line, without its ``[key]`` citations (a cell lists its keys apart)."""
    text = citations.CITATION.sub("", clean_reply(text)[0])
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", " ".join(text.split()))
    return text.strip()


def _says_not_reported(text: str) -> bool:
    lowered = text.casefold().strip(" .!")
    return lowered in _NOT_REPORTED_WORDS or lowered.startswith("not reported")
