"""The sections of an updated draft (:mod:`reviewer.living`, step 3): each kept as it was unless its inputs
changed, then rewritten by the draft's own engine; a hand-edited one keeps the author's text and its rewrite
becomes a proposal."""

from __future__ import annotations

from reviewer import provenance, support
from reviewer.draft import Draft, Section


def rewrite(old: Draft, draft: Draft, changes, library, centroids, order, relevance, llm, use_cache: bool,
            report) -> None:
    """Fill ``draft.sections``, ``draft.introduction`` and the provenance of the sections; record in ``changes``
    the headings rewritten and the proposals."""
    old_sections = {s.theme.id: s for s in old.sections}
    recorded = {e["theme"]: e for e in old.provenance["sections"]}
    offline = draft.engine != "llm"
    written = _extractive(draft, library, centroids, order) if offline else None
    rel = {**library.similarity(draft.topic, list(draft.papers)), **relevance}
    records: list[dict] = []
    rewritten: list[Section] = []
    report("sections", 0, len(draft.themes))
    for i, theme in enumerate(draft.themes):
        inputs = [s.keys[0] for s in written[theme.id]] if offline else list(theme.keys)
        evidence = provenance.evidence_hash(draft.topic, theme, inputs, draft.papers)
        before, entry = old_sections.get(theme.id), recorded.get(theme.id)
        if before is not None and entry is not None and entry["evidence"] == evidence:
            draft.sections.append(_without_removed(before, theme, draft))
            records.append(entry)
        elif offline and not written[theme.id]:
            if before is not None:
                changes.rewritten.append(f"{before.heading} (no longer quoted: section removed)")
        else:
            section = Section(theme, theme.name, [written[theme.id]]) if offline else \
                _with_llm(draft, theme, rel, library, llm, use_cache)
            if before is not None and theme.id in draft.kept:
                changes.kept[before.heading] = _rendered(draft, section)
                draft.sections.append(_without_removed(before, theme, draft))
            else:
                draft.kept.pop(theme.id, None)
                draft.sections.append(section)
                rewritten.append(section)
                changes.rewritten.append(section.heading)
            records.append(provenance.section_record(draft, section, inputs))
        report("sections", i + 1, len(draft.themes))
    if offline:
        from reviewer.extractive import draft as engine

        quoted = len({k for s in draft.sections for sentence in s.sentences() for k in sentence.keys})
        draft.introduction = engine.introduction(draft.topic, len(draft.papers), quoted, draft.themes)
    elif rewritten or len(draft.sections) != len(old.sections):
        _introduction(draft, records, rewritten, llm, use_cache)
    else:
        draft.introduction = list(old.introduction)
    draft.provenance["sections"] = records
    changes.usage = draft.usage
    if not offline:
        from reviewer.living import fresh_prompt_tokens

        changes.fresh_tokens = fresh_prompt_tokens(draft, library)


def _extractive(draft: Draft, library, centroids, order) -> dict:
    """{theme id: its quotes}: the draft's quote budget allocated again, quotes checked offline."""
    from reviewer.extractive import draft as engine

    topic_vector = library.embedder.embed_array([draft.topic])[0]
    known: dict = {}
    quotes = int(draft.settings.get("quotes") or engine.budget(int(draft.settings.get("max_papers", 30))))
    allocation = engine.allocate(draft.papers, draft.themes, centroids, order, quotes, library.embedder,
                                 topic_vector, known)
    for sentences in allocation.values():
        support.check_offline(sentences, draft.papers, library.embedder, known=known)
    return allocation


def _with_llm(draft: Draft, theme, relevance, library, llm, use_cache: bool) -> Section:
    from reviewer.chains import review as chain

    section = chain._section(draft, theme, relevance, library.settings.llm.evidence_tokens, llm, use_cache)

    def warn(message: str) -> None:
        draft.warnings.append(f"section {section.heading!r}: {message}")

    draft.usage.add(support.check_with_llm(section.sentences(), draft.papers, llm, allowed=theme.keys,
                                           use_cache=use_cache, warn=warn))
    return section


def _introduction(draft: Draft, records: list[dict], rewritten: list[Section], llm, use_cache: bool) -> None:
    """The introduction written again, from every section's summary (their old transitions left out), with
    transitions into the rewritten sections only (the others keep theirs)."""
    from reviewer.chains import review as chain

    summarised = []
    for section, entry in zip(draft.sections, records):
        skip = 0 if any(section is r for r in rewritten) else int(entry.get("transitions", 0))
        paragraphs = [p[:] for p in section.paragraphs]
        if skip and paragraphs:
            paragraphs[0] = paragraphs[0][skip:]
        summarised.append(Section(section.theme, section.heading, paragraphs))
    only = {i for i, s in enumerate(draft.sections, 1) if any(s is r for r in rewritten)}
    placed = chain._introduction(draft, llm, use_cache, summarised=summarised, only=only)
    for entry in records:
        if entry["theme"] in placed:
            entry["transitions"] = placed[entry["theme"]]


def _rendered(draft: Draft, section: Section) -> str:
    kept = draft.kept.pop(section.theme.id, None)
    try:
        return draft.section_markdown(section)
    finally:
        if kept is not None:
            draft.kept[section.theme.id] = kept


def _without_removed(section: Section, theme, draft: Draft) -> Section:
    """The section (of ``theme`` as updated) without the sentences citing papers no longer in the draft."""
    paragraphs = [[s for s in p if all(k in draft.papers for k in s.keys)] for p in section.paragraphs]
    return Section(theme, section.heading, [p for p in paragraphs if p])
