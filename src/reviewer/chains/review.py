"""`review`: topic -> a thematic related-work draft (:class:`reviewer.draft.Draft`), with both engines.

Steps (each reported to ``progress``, see below):

1. **retrieve** — search (``max_papers``, in relevance order; the themes give the draft its breadth); the evidence gate (:mod:`reviewer.gate`)
   decides whether the collection covers the topic at all — if not, :class:`NotFoundError` is raised ("no paper
   in this collection is about ..."): a draft about nothing is not written — and drops the papers it does not
   admit.
2. **cluster** — the papers' embeddings are clustered into themes (:mod:`reviewer.themes`: KMeans, K by
   silhouette within bounds unless ``themes`` is given); each theme's distinctive terms by c-TF-IDF; a 2-D
   projection of the embeddings for the theme map.
3. **outline** — with a model: one structured call names each theme, summarises it in one line and orders
   the sections (given the terms and titles, not the abstracts). Offline: themes are named by their terms.
4. **sections** (map) — each section is written from its own theme's papers only (their abstracts packed
   into ``settings.llm.evidence_tokens``); cited keys outside the theme are removed and reported; claims
   without a citation are flagged. Offline: one quoted sentence from each of the most relevant papers
   (:mod:`reviewer.extractive.draft`: the citation budget goes to themes by relevance, not in fixed quotas).
5. **support check** — every citing sentence against the abstracts it cites (:mod:`reviewer.support`): with
   the model one call per section, unsupported sentences rewritten once, still unsupported ones flagged;
   offline by embedding similarity and term overlap.
6. **introduction** (reduce) — with a model: the introduction and one transition per later section, written
   from the outline and a two-sentence summary of each section, never from all abstracts, so no prompt grows
   with the number of papers beyond one theme's evidence. Offline: the engine's note and one line naming the topic
   (in a short form), the papers and the themes.

Token use is bounded: the largest prompt is one theme's evidence (<= ``evidence_tokens``) plus instructions;
a draft costs 1 + K (sections) + up to 3K (support) + 1 calls. ``Draft.usage`` sums every call.

Progress protocol: ``progress(step, done, total)`` with ``step`` one of :data:`STEPS`. Each step is
announced with ``done=0`` before it starts and reported after each unit of work (``done`` counts up to
``total``: 1 for retrieve, cluster, outline and introduction; the number of sections for sections and
support check). A step always ends with ``done == total``.

Reproducible: ties are broken by key, KMeans is seeded, nothing depends on time; with a model at temperature 0
and the response cache, the same library, topic and settings give the same Draft.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from pydantic import BaseModel, Field

from reviewer import citations, gate, grounding, prompts, provenance, support
from reviewer import themes as theming
from reviewer.draft import EXTRACTIVE_NOTE, UNSUPPORTED, Draft, Section, Sentence, Theme  # noqa: F401
from reviewer.extractive import draft as offline
from reviewer.errors import InputError, NotFoundError
from reviewer.evidence import Evidence, pack_shared
from reviewer.llm import LLM, StructuredOutputError

ProgressFn = Callable[[str, int, int], None]
STEPS = ("retrieve", "cluster", "outline", "sections", "support check", "introduction")

NAME_TERMS = 3  # extractive: terms in a theme's name
SUMMARY_SENTENCES = 2  # the reduce step sees this many sentences of each section
SUMMARY_WORDS = 60
_TRANSITION = re.compile(r"^\s*(?:transition\s*(?:to\s*(?:section\s*)?)?|section\s*)?(\d+)\s*[:.)]\s*(\S.*)$", re.I)


class OutlineTheme(BaseModel):
    id: int = Field(description="The theme's number, as given.")
    name: str = Field(description="A short section heading (at most six words).")
    summary: str = Field(description="One sentence: what the section will cover.")


class Outline(BaseModel):
    """The sections of the review, in reading order."""

    themes: list[OutlineTheme]


def review(library, topic: str, *, max_papers: int = 30, themes: int | None = None, llm: LLM | None = None,
           use_cache: bool = True, progress: ProgressFn | None = None) -> Draft:
    """A related-work draft on ``topic`` from ``library``. ``llm`` None: the extractive engine writes it.

    Raises :class:`NotFoundError` when no paper of the library is about the topic."""
    topic = " ".join(topic.split())
    if not topic:
        raise InputError("the review topic is empty")
    if max_papers < 1:
        raise InputError(f"--max-papers must be at least 1 (got {max_papers})")
    if themes is not None and themes < 1:
        raise InputError(f"--themes must be at least 1 (got {themes})")
    report = progress or (lambda step, done, total: None)
    engine = "llm" if llm is not None else "extractive"
    draft = Draft(topic, engine)

    report("retrieve", 0, 1)
    relevance, left_out = _retrieve(library, topic, max_papers)
    keys = list(relevance)
    stored = library.store.get(keys)
    draft.papers = {k: stored[k] for k in keys}
    if left_out:
        draft.warnings.append(f"{len(left_out)} of the {len(keys) + len(left_out)} papers retrieved were left out: "
                              f"their similarity to the topic is under {library.settings.gate.paper_threshold} "
                              "(REVIEWER_GATE__PAPER_THRESHOLD) and none is in the top "
                              f"{library.settings.gate.top_ranks} of a retriever: " + ", ".join(left_out))
    report("retrieve", 1, 1)

    report("cluster", 0, 1)
    vectors = library.vector_mirror().paper_vectors(keys)
    if themes is not None and themes > len(keys):
        draft.warnings.append(f"{themes} themes were asked for but only {len(keys)} paper(s) are about the topic: "
                              f"{len(keys)} theme(s)")
    clustering = theming.cluster(keys, vectors, themes)
    terms = _terms(draft.papers, clustering)
    draft.points = _points(keys, vectors)
    report("cluster", 1, 1)

    model = llm.model_name if llm is not None else None
    draft.settings = {
        "topic": topic, "engine": engine, "model": model, "max_papers": max_papers, "themes_requested": themes,
        "themes": clustering.k, "silhouettes": {str(k): s for k, s in clustering.silhouettes.items()},
        "retrieved": len(keys) + len(left_out), "reviewed": len(keys), "gate": library.settings.gate.model_dump(),
        "support_check": "llm" if llm is not None else f"offline (threshold {support.OFFLINE_THRESHOLD})",
    }
    if llm is not None:
        draft.settings.update(temperature=llm.settings.temperature, max_tokens=llm.settings.max_tokens,
                              evidence_tokens=library.settings.llm.evidence_tokens)
        inputs, transitions = _write_with_llm(library, draft, clustering, terms, relevance, llm, use_cache, report)
    else:
        inputs, transitions = _write_extractive(library, draft, clustering, terms, keys, max_papers, report), {}
    provenance.record(draft, library, dict(enumerate(clustering.centroids)), keys, left_out, inputs, transitions)
    return draft


# ------------------------------------------------------------------------------------------- steps
def _retrieve(library, topic: str, max_papers: int) -> tuple[dict[str, float], list[str]]:
    """({key: similarity to the topic} of the papers kept, in retrieval order; the keys left out)."""
    if not len(library):
        raise NotFoundError("the library is empty, so there is nothing to review: add papers with "
                            "`reviewer ingest PATH` first")
    hits = library.search(topic, k=max_papers)
    decision = gate.decide(library, topic, hits)
    if not decision.answerable:
        raise NotFoundError(f"no paper in this collection is about {topic!r} ({decision.reason()}): ingest papers "
                            "on it, or review a broader topic")
    kept = {j.key: j.paper_similarity for j in decision.kept}
    return kept, [j.key for j in decision.dropped]


def _terms(papers, clustering) -> list[list[str]]:
    documents = [" ".join(f"{papers[k].title}. {papers[k].abstract}" for k in group) for group in clustering.groups]
    return theming.distinctive_terms(documents)


def _points(keys, vectors) -> dict[str, tuple[float, float]]:
    coordinates = theming.project(vectors)
    return {key: (float(x), float(y)) for key, (x, y) in sorted(zip(keys, coordinates.tolist()))}


def _term_name(terms: list[str], index: int) -> str:
    name = ", ".join(terms[:NAME_TERMS])
    return name[:1].upper() + name[1:] if name else f"Theme {index + 1}"


def _base_themes(clustering, terms) -> list[Theme]:
    return [Theme(i, _term_name(terms[i], i), terms[i], list(group),
                  f"{len(group)} paper{'s' if len(group) != 1 else ''}; distinctive terms: {', '.join(terms[i])}")
            for i, group in enumerate(clustering.groups)]


# ------------------------------------------------------------------------------------------- offline engine
def _write_extractive(library, draft: Draft, clustering, terms, relevance_order, max_papers,
                      report) -> dict[int, list[str]]:
    """Writes the draft offline; returns {theme id: the keys its section quotes}."""
    draft.themes = _base_themes(clustering, terms)
    report("outline", 0, 1)
    report("outline", 1, 1)
    topic_vector = library.embedder.embed_array([draft.topic])[0]
    known: dict[str, np.ndarray] = {}  # sentence vectors, embedded once for both steps
    quotes = offline.budget(max_papers)
    draft.settings["quotes"] = quotes
    report("sections", 0, len(draft.themes))
    allocation = offline.allocate(draft.papers, draft.themes, clustering.centroids, relevance_order, quotes,
                                  library.embedder, topic_vector, known)
    left_out = []
    for i, theme in enumerate(draft.themes):
        sentences = allocation[theme.id]
        if sentences:
            draft.sections.append(Section(theme, theme.name, [sentences]))
        else:
            left_out.append(theme)
        report("sections", i + 1, len(draft.themes))
    if left_out:
        draft.warnings.append(
            f"{len(left_out)} theme(s) hold none of the {quotes} papers most relevant to the topic and have no "
            "section: " + "; ".join(f"{t.name} ({', '.join(t.keys)})" for t in left_out)
            + " (more papers are quoted with a larger --max-papers)")

    report("support check", 0, len(draft.sections))
    for i, section in enumerate(draft.sections):
        support.check_offline(section.sentences(), draft.papers, library.embedder, known=known)
        report("support check", i + 1, len(draft.sections))
    report("introduction", 0, 1)
    quoted = len({k for s in draft.sections for sentence in s.sentences() for k in sentence.keys})
    draft.introduction = offline.introduction(draft.topic, len(draft.papers), quoted, draft.themes, len(left_out))
    report("introduction", 1, 1)
    return {theme_id: [s.keys[0] for s in sentences] for theme_id, sentences in allocation.items()}


# ------------------------------------------------------------------------------------------- LLM engine
def _write_with_llm(library, draft: Draft, clustering, terms, relevance, llm: LLM, use_cache, report):
    """Writes the draft with the model; returns ({theme id: its section's input keys}, {theme id: transitions})."""
    base = _base_themes(clustering, terms)
    report("outline", 0, 1)
    draft.themes = _outline(draft, base, llm, use_cache)
    report("outline", 1, 1)

    budget = library.settings.llm.evidence_tokens
    report("sections", 0, len(draft.themes))
    for i, theme in enumerate(draft.themes):
        draft.sections.append(_section(draft, theme, relevance, budget, llm, use_cache))
        report("sections", i + 1, len(draft.themes))

    report("support check", 0, len(draft.sections))
    for i, section in enumerate(draft.sections):
        warn = (lambda message, s=section: draft.warnings.append(f"section {s.heading!r}: {message}"))
        draft.usage.add(support.check_with_llm(section.sentences(), draft.papers, llm, allowed=section.theme.keys,
                                               use_cache=use_cache, warn=warn))
        report("support check", i + 1, len(draft.sections))

    report("introduction", 0, 1)
    transitions = _introduction(draft, llm, use_cache)
    report("introduction", 1, 1)
    return {t.id: list(t.keys) for t in draft.themes}, transitions


def outline_messages(topic: str, base: list[Theme], papers) -> list[dict]:
    """The outline prompt: each theme's number, distinctive terms and paper titles (no abstracts)."""
    clusters = "\n\n".join(
        f"Theme {t.id + 1} ({len(t.keys)} papers). Distinctive terms: {', '.join(t.terms) or '(none)'}.\n"
        + "\n".join(f"- {' '.join(papers[k].title.split())}" for k in t.keys)
        for t in base)
    return prompts.load("review_outline").render(topic=topic, clusters=clusters)


def section_messages(topic: str, theme: Theme, evidence: str) -> list[dict]:
    """The map prompt of one section: its theme and its papers' abstracts (``evidence``, already packed)."""
    return prompts.load("review_section").render(topic=topic, heading=theme.name,
                                                 summary=theme.summary or "(see the evidence)", evidence=evidence)


def _outline(draft: Draft, base: list[Theme], llm: LLM, use_cache: bool) -> list[Theme]:
    """The themes named, summarised and ordered by the model. Themes it leaves out keep their terms as names
    and follow in cluster order (with a warning); unknown ids are ignored. An outline that names no theme gets
    one repair call; if the model still names none, or twice sends no valid outline, the terms make usable
    names (with a warning), rather than losing the review."""
    known = {t.id + 1 for t in base}

    def names_a_theme(outline) -> list[str]:
        if any(e.id in known and e.name.strip() for e in outline.themes):
            return []
        return [f"name at least one of the themes {sorted(known)}, each with its id, a short name and a summary"]

    try:
        reply = llm.structured(outline_messages(draft.topic, base, draft.papers), Outline, use_cache=use_cache,
                               check=names_a_theme)
    except StructuredOutputError as exc:
        draft.usage.add(exc.usage)
        draft.warnings.append(f"no usable outline from the model ({exc}): the themes are named by their "
                              "distinctive terms")
        return base
    draft.usage.add(reply.usage)
    ordered: list[Theme] = []
    for entry in reply.value.themes:
        name = " ".join(entry.name.split()).strip(" #*.")
        if entry.id not in known or not name or any(t.id == entry.id - 1 for t in ordered):
            continue
        theme = base[entry.id - 1]
        ordered.append(Theme(theme.id, name, theme.terms, theme.keys, " ".join(entry.summary.split())))
    missing = [t for t in base if all(o.id != t.id for o in ordered)]
    if missing:
        draft.warnings.append("the outline left out theme(s) " + ", ".join(str(t.id + 1) for t in missing)
                              + ": named by their distinctive terms")
    return ordered + missing


def _section(draft: Draft, theme: Theme, relevance, budget: int, llm: LLM, use_cache: bool) -> Section:
    """One section, written from the theme's papers only (most central first; when they do not all fit in
    ``budget``, the longer abstracts are shortened to share it, so that every paper is seen)."""
    evidence = [Evidence.of(draft.papers[k], relevance.get(k, 0.0)) for k in theme.keys]
    packed = pack_shared(evidence, budget, llm.model_name)
    where = f"section {theme.name!r}"
    if packed.truncated:
        draft.warnings.append(f"{where}: {len(packed.truncated)} of its {len(evidence)} abstracts were shortened to "
                              f"share the evidence budget of {budget} tokens (REVIEWER_LLM__EVIDENCE_TOKENS)")
    if packed.dropped:
        draft.warnings.append(f"{where}: {len(packed.dropped)} paper(s) did not fit the evidence budget of {budget} "
                              "tokens (REVIEWER_LLM__EVIDENCE_TOKENS) and were not shown to the model: "
                              + ", ".join(e.key for e in packed.dropped))
    messages = section_messages(draft.topic, theme, packed.text())
    completion = llm.complete(messages, use_cache=use_cache)
    draft.usage.add(completion.usage)
    if completion.finish_reason == "length":
        draft.warnings.append(f"{where} was cut at the token limit ({llm.settings.max_tokens} tokens): raise "
                              "REVIEWER_LLM__MAX_TOKENS for complete sections")
    if completion.cut:
        draft.warnings.append(f"{where}: {completion.cut}")
    text = _clean(completion.text)
    if (shared := grounding.leaked_ngrams(text, messages[0]["content"])) >= grounding.LEAK_MIN_SHARED:
        draft.warnings.append(f"{where}: the model's text was rejected as unsafe: it repeats the instructions of "
                              f"the prompt ({shared} runs of {grounding.LEAK_NGRAM} words in common)")
        text = ""
    checked = citations.validate(text, packed.keys(), examples=prompts.load("review_section").example_keys)
    if checked.removed:
        draft.warnings.append(f"{where}: removed citation(s) of keys that were not among its papers: "
                              + ", ".join(checked.removed))
    paragraphs = [p for p in (_sentences(block) for block in re.split(r"\n\s*\n", checked.text)) if p]
    for sentence in (s for p in paragraphs for s in p):
        if not sentence.keys and citations.is_claim(sentence.text):
            sentence.support, sentence.reason = UNSUPPORTED, "cites no paper"
    if not paragraphs:
        draft.warnings.append(f"{where}: the model wrote no usable text for it")
    return Section(theme, theme.name, paragraphs)


def _clean(text: str) -> str:
    """The reply without chat-template tokens, tags echoed from the prompt, headings and list markers."""
    text = grounding.clean_reply(text)[0]
    lines = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line) for line in text.splitlines()
             if not line.lstrip().startswith("#")]
    return "\n".join(lines).strip()


def _sentences(block: str) -> list[Sentence]:
    return [Sentence(s, citations.cited_keys(s)) for s in citations.split_sentences(block)]


def section_summary(section: Section) -> str:
    """The first sentences of a section, citations stripped, at most SUMMARY_WORDS words: what the reduce step sees."""
    text = " ".join(support.strip_citations(s.text) for s in section.sentences()[:SUMMARY_SENTENCES])
    words = text.split()
    return " ".join(words[:SUMMARY_WORDS]) + (" …" if len(words) > SUMMARY_WORDS else "")


def introduction_messages(topic: str, sections: list[Section]) -> list[dict]:
    """The reduce prompt: the outline and each section's summary, never the abstracts."""
    outline = "\n".join(f"{i}. {s.heading}" + (f" — {s.theme.summary}" if s.theme.summary else "")
                        for i, s in enumerate(sections, 1))
    summaries = "\n".join(f"{i}. {section_summary(s) or '(empty)'}" for i, s in enumerate(sections, 1))
    transitions = ("\n" + "\n".join(f"{i}: <one sentence leading into section {i}>" for i in range(2, len(sections) + 1))
                   if len(sections) > 1 else "(there is only one section: write no transition)")
    return prompts.load("review_intro").render(topic=topic, outline=outline, summaries=summaries,
                                               transitions=transitions)


FRAMING_REASON = ("cites no paper: the introduction and transitions are written from the outline, without the "
                  "abstracts; cite a source for this claim or drop it")


def _introduction(draft: Draft, llm: LLM, use_cache: bool, *, summarised: list[Section] | None = None,
                  only: set[int] | None = None) -> dict[int, int]:
    """The introduction, and each later section's transition put before its first sentence (only those of the
    section numbers ``only``, when given); returns {theme id: transition sentences put in}. The prompt
    summarises ``summarised`` (default: the sections). The model was shown no abstract here, so any citation
    it writes is removed (and reported)."""
    completion = llm.complete(introduction_messages(draft.topic, summarised or draft.sections), use_cache=use_cache)
    draft.usage.add(completion.usage)
    intro_lines, transitions = [], {}
    for line in _clean_keep_numbers(completion.text).splitlines():
        match = _TRANSITION.match(line)
        if match and 2 <= int(match.group(1)) <= len(draft.sections) and int(match.group(1)) not in transitions:
            transitions[int(match.group(1))] = match.group(2).strip()
        elif line.strip():  # a numbered line that is no transition: its number is list markup
            intro_lines.append(re.sub(r"^\s*\d+[.)]\s+", "", line).strip())
    removed: list[str] = []

    def uncited(text: str) -> str:
        checked = citations.validate(text, [])
        removed.extend(k for k in checked.removed if k not in removed)
        return checked.text

    draft.introduction = [_framing(s) for s in citations.split_sentences(uncited("\n".join(intro_lines)))]
    placed: dict[int, int] = {}
    for number, text in sorted(transitions.items()):
        if only is not None and number not in only:
            continue
        section = draft.sections[number - 1]
        sentences = [_framing(s) for s in citations.split_sentences(uncited(text))]
        placed[section.theme.id] = len(sentences)
        if sentences:
            if section.paragraphs:
                section.paragraphs[0][:0] = sentences
            else:
                section.paragraphs.append(sentences)
    if removed:
        draft.warnings.append("removed citation(s) from the introduction and transitions, which are written "
                              "without the abstracts: " + ", ".join(removed))
    if not draft.introduction:
        draft.warnings.append("the model wrote no usable introduction")
    return placed


def _framing(text: str) -> Sentence:
    """A sentence of the introduction or a transition. It cites nothing (it was written without abstracts), so
    a claim is flagged — never silently kept — while a short connective or a question is left unchecked."""
    if citations.is_claim(text):
        return Sentence(text, support=UNSUPPORTED, reason=FRAMING_REASON)
    return Sentence(text)


def _clean_keep_numbers(text: str) -> str:
    """The reply without chat-template tokens, echoed tags, headings and bullet markers (numbers stay: they mark
    transitions)."""
    text = grounding.clean_reply(text)[0]
    return "\n".join(re.sub(r"^\s*[-*•]\s+", "", line) for line in text.splitlines()
                     if not line.lstrip().startswith("#"))
