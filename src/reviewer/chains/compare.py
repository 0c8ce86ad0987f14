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

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, create_model

from reviewer import citations, gate, prompts
from reviewer.comparison import NO_LLM_NOTE, NOT_REPORTED, Cell, Comparison  # noqa: F401  (the chain's API)
from reviewer.extractive.table import (aspect_scores, extractive_cells, is_about, methods_from_titles,  # noqa: F401
                                       names_method)
from reviewer.errors import InputError, NotFoundError
from reviewer.evidence import Evidence, pack
from reviewer.llm import LLM, Usage
from reviewer.grounding import clean_reply
from reviewer.text import excerpt

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
_NAME_CHARS = 80
_ASPECT = re.compile(r"^[A-Za-z][A-Za-z0-9 _\-]{0,39}$")
_NOT_REPORTED_WORDS = {"", "not reported", "not mentioned", "not stated", "not available", "not specified",
                       "unknown", "none", "n/a", "na", "-", "—", "–", "?"}



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
