"""Living reviews: bring a draft up to date with the library, rewriting only the sections new papers change.

:func:`update_draft` (``Draft.update(library)``) works in memory; :func:`update_directory` (``reviewer review
--update DIR``) reads DIR/review.json, keeps the author's hand edits, writes the files, CHANGES.md, review.diff
and DIR/proposed/.

1. **Retrieve** the recorded topic again (same ``max_papers``) on the current library, through the evidence gate.
   New papers are those it admits that the draft neither reviewed nor had left out; papers of the draft that are
   no longer in the library are removed (with their citations).
2. **Place** each new paper (cosine to the recorded theme centroids): it joins the nearest theme when its
   similarity to that theme's centroid is at least that of the theme's own weakest member (so a theme accepts what
   looks like what it already holds). Papers that fit no theme form a new theme when at least
   :data:`NEW_THEME_PAPERS` of them are each within :data:`NEW_THEME_COHESION` of their common centroid; any
   others join their nearest theme anyway (the gate found them on topic). A theme left with no paper is dropped.
   Theme names, terms, summaries, centroids and order are kept; a new theme comes last.
3. **Rewrite** only the sections whose inputs changed (the recorded evidence hash differs): offline, the quotes are
   allocated again (:func:`reviewer.extractive.draft.allocate`, new papers ranked first in retrieval order) and a
   section is rewritten when the papers it quotes, or their text, changed; with a model, a section is rewritten
   (map prompt, then the support check) when its theme's papers changed, and the introduction is written again with
   transitions into the rewritten sections only. Unchanged sections are kept as they were, byte for byte.
4. **Keep hand edits**: a section whose block in review.md (from its ``##`` heading to the next) no longer has
   its recorded hash was edited by hand (heading included; blocks are matched by position while review.md has as
   many sections as recorded, else by heading); its block stays as the author left it, and its regenerated text,
   if any, goes to DIR/proposed/SECTION.md. Edits outside the sections (title block, introduction) are not kept.

Nothing new and nothing removed: no file changes, and CHANGES.md gets one dated line saying so.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from reviewer import provenance, support
from reviewer.draft import Draft, Theme
from reviewer.errors import ConfigError
from reviewer.llm import Usage

NEW_THEME_PAPERS = 3  # unplaced new papers needed to make a new theme
NEW_THEME_COHESION = 0.5  # each one's cosine to their common centroid, at least
CHANGES = "CHANGES.md"
DIFF = "review.diff"
PROPOSED = "proposed"


@dataclass
class Changes:
    """What an update did (and the CHANGES.md entry and the summary the CLI prints, from it)."""

    day: str
    revision: str
    added: dict[str, str] = field(default_factory=dict)  # key -> the heading of the theme it joined
    removed: list[str] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)  # headings
    new_themes: list[str] = field(default_factory=list)
    dropped_themes: list[str] = field(default_factory=list)
    citations_added: list[str] = field(default_factory=list)
    citations_removed: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # heading -> its regenerated block (proposed/)
    proposals: dict[str, str] = field(default_factory=dict)  # heading -> path written under DIR, once written
    usage: Usage = field(default_factory=Usage)
    fresh_tokens: int | None = None  # prompt tokens of writing this draft's sections afresh (with a model)

    @property
    def nothing(self) -> bool:
        return not (self.added or self.removed)

    def lines(self) -> list[str]:
        if self.nothing:
            return [f"Nothing changed: no new paper on the topic, none removed (library revision "
                    f"{self.revision[:8]})."]
        out = []
        if self.added:
            out.append("Papers added: " + ", ".join(f"{k} ({t})" for k, t in self.added.items()))
        if self.removed:
            out.append("Papers removed (no longer in the library): " + ", ".join(self.removed))
        if self.new_themes:
            out.append("New theme(s): " + "; ".join(self.new_themes))
        if self.dropped_themes:
            out.append("Theme(s) dropped (no paper left): " + "; ".join(self.dropped_themes))
        out.append("Sections written again: " + ("; ".join(self.rewritten) or "none"))  # headings hold commas
        out.append("Citations added: " + (", ".join(self.citations_added) or "none")
                   + "; removed: " + (", ".join(self.citations_removed) or "none"))
        for heading in self.kept:
            where = self.proposals.get(heading, f"{PROPOSED}/{slug(heading)}.md")
            out.append(f"Kept your edits of {heading!r}: the regenerated text is in {where}")
        if self.usage.calls or self.usage.cached_calls or self.fresh_tokens:
            tokens = self.usage.input_tokens + self.usage.output_tokens
            line = f"Model tokens: {tokens:,} in {self.usage.calls} call(s)"
            if self.fresh_tokens:
                line += (f"; writing every section of this draft afresh would send about {self.fresh_tokens:,} "
                         f"prompt tokens ({tokens / self.fresh_tokens:.0%})")
            out.append(line)
        return out

    def entry(self) -> str:
        """The CHANGES.md entry: one dated line when nothing changed, else a dated heading and a list."""
        if self.nothing:
            return f"- {self.day}: {self.lines()[0]}\n"
        return f"\n## {self.day} (library revision {self.revision[:8]})\n\n" + \
            "".join(f"- {line}\n" for line in self.lines())


def slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")[:60] or "section"


# ------------------------------------------------------------------------------------------- in memory
def update_draft(old: Draft, library, *, llm=None, use_cache: bool = True, progress=None,
                 today: str | None = None) -> tuple[Draft, Changes]:
    """(the draft brought up to date with ``library``, what changed). ``old`` must carry its provenance (a draft
    `review` made, or one loaded from review.json); it is not modified. Sections of ``old.kept`` (hand-edited)
    keep their text; their regenerated text is in ``Changes.kept``."""
    from reviewer.chains import review as chain

    if not old.provenance:
        raise ConfigError("this draft records no provenance (it was not made by `review`), so it cannot be updated")
    report = progress or (lambda step, done, total: None)
    day = today or date.today().isoformat()
    changes = Changes(day, library.store.revision)
    if old.engine == "llm":
        llm = llm if llm is not None else library.llm()
        if llm is None:
            raise ConfigError(f"this review was written with the model {old.settings.get('model')!r}: configure a "
                              "model (REVIEWER_LLM__BASE_URL or OPENAI_API_KEY) to update it, or --rethink to "
                              "write a fresh draft")
    else:
        llm = None  # an extractive draft stays extractive (--rethink writes a fresh one with the model)
    report("retrieve", 0, 1)
    prov = old.provenance
    reviewed = [k for t in old.themes for k in t.keys]
    present = library.store.get(reviewed)
    changes.removed = sorted(k for k in reviewed if k not in present)
    relevance, _ = chain._retrieve(library, old.topic, int(old.settings.get("max_papers", 30)))
    new = [k for k in relevance if k not in reviewed and k not in prov.get("left_out", [])]
    report("retrieve", 1, 1)
    if not new and not changes.removed:
        return old, changes

    report("cluster", 0, 1)
    draft = Draft(old.topic, old.engine, settings=dict(old.settings), warnings=list(old.warnings),
                  provenance=dict(prov), kept=dict(old.kept), created=day)
    draft.papers = {**present, **library.store.get(new)}
    keys = [k for k in reviewed if k in present] + new
    vectors = dict(zip(keys, library.vector_mirror().paper_vectors(keys)))
    centroids = {t["id"]: np.asarray(t["centroid"], dtype=np.float64) for t in prov["themes"]}
    draft.themes, placed, fresh = _place(old, new, vectors, centroids, changes)
    if fresh is not None:
        fresh = _name_new_theme(draft, fresh, llm, use_cache)
        centroids[fresh.id] = _unit(np.mean([vectors[k] for k in fresh.keys], axis=0))
        draft.themes.append(fresh)
        changes.new_themes.append(fresh.name)
    changes.added = {k: next(t.name for t in draft.themes if k in t.keys) for k in new}
    draft.points = chain._points(keys, np.array([vectors[k] for k in keys]))
    draft.settings.update(reviewed=len(keys), themes=len(draft.themes))
    report("cluster", 1, 1)

    order = [k for k in relevance if k in draft.papers] + [k for k in prov["relevance_order"]
                                                            if k in draft.papers and k not in relevance]
    from reviewer.living_sections import rewrite

    rewrite(old, draft, changes, library, centroids, order, relevance, llm, use_cache, report)
    draft.provenance.update(library_revision=library.store.revision, relevance_order=order,
                            themes=[{"id": t.id, "keys": list(t.keys), "centroid": provenance.centroid_list(centroids[t.id])}
                                    for t in draft.themes])
    before, after = old.cited_keys(), draft.cited_keys()
    changes.citations_added = [k for k in after if k not in before]
    changes.citations_removed = [k for k in before if k not in after]
    return draft, changes


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) or 1.0)


def _place(old: Draft, new: list[str], vectors, centroids, changes: Changes):
    """(the themes with removed papers gone and new ones placed, {key: theme id}, a new Theme or None)."""
    members = {t.id: [k for k in t.keys if k in vectors] for t in old.themes}
    weakest = {i: min((float(vectors[k] @ centroids[i]) for k in keys), default=1.0) for i, keys in members.items()}

    candidates = [i for i in members if members[i]] or list(members)  # themes that still hold papers

    def nearest(key: str) -> tuple[int, float]:
        scores = {i: float(vectors[key] @ centroids[i]) for i in candidates}
        best = max(sorted(scores), key=lambda i: scores[i])
        return best, scores[best]

    placed, unplaced = {}, []
    for key in new:
        theme_id, score = nearest(key)
        if score >= weakest[theme_id] - 1e-9:
            placed[key] = theme_id
        else:
            unplaced.append(key)
    fresh = None
    if len(unplaced) >= NEW_THEME_PAPERS:
        centre = _unit(np.mean([vectors[k] for k in unplaced], axis=0))
        close = [k for k in unplaced if float(vectors[k] @ centre) >= NEW_THEME_COHESION]
        if len(close) >= NEW_THEME_PAPERS:
            centre = _unit(np.mean([vectors[k] for k in close], axis=0))
            ranked = sorted(close, key=lambda k: (-round(float(vectors[k] @ centre), 6), k))
            fresh = Theme(max(centroids) + 1, "", [], ranked)
            unplaced = [k for k in unplaced if k not in close]
    placed.update({k: nearest(k)[0] for k in unplaced})
    themes = []
    for theme in old.themes:
        keys = members[theme.id] + [k for k in new if placed.get(k) == theme.id]
        if not keys:
            changes.dropped_themes.append(theme.name)
            continue
        c = centroids[theme.id]
        keys = sorted(keys, key=lambda k: (-round(float(vectors[k] @ c), 6), k))
        themes.append(Theme(theme.id, theme.name, list(theme.terms), keys, theme.summary))
    return themes, placed, fresh


def _name_new_theme(draft: Draft, theme: Theme, llm, use_cache: bool) -> Theme:
    """The new theme named like `review` names themes: by its distinctive terms (among all the themes'), then,
    with a model, by the outline prompt given this theme alone."""
    from reviewer.chains import review as chain
    from reviewer import themes as theming

    groups = [t.keys for t in draft.themes] + [theme.keys]
    documents = [" ".join(f"{draft.papers[k].title}. {draft.papers[k].abstract}" for k in g) for g in groups]
    terms = theming.distinctive_terms(documents)[-1]
    base = chain._base_themes(type("C", (), {"groups": [theme.keys]})(), [terms])[0]
    if llm is not None:
        base = chain._outline(draft, [base], llm, use_cache)[0]
    return Theme(theme.id, base.name, base.terms, theme.keys, base.summary)


# ------------------------------------------------------------------------------------------- on disk
def update_directory(library, directory: str | Path, *, llm=None, use_cache: bool = True,
                     progress: Callable | None = None, today: str | None = None) -> tuple[Draft, Changes]:
    """Update the draft in ``directory`` (see the module's docstring); returns (the draft, what changed)."""
    directory = Path(directory)
    data = provenance.read(directory)
    old, _ = provenance.load(data, library)
    md_path = directory / "review.md"
    before = md_path.read_text(encoding="utf-8") if md_path.is_file() else ""
    blocks = provenance.section_blocks(before)
    entries = data["provenance"]["sections"]
    # Sections are matched by position when review.md still has as many (so a renamed heading is found), else
    # by heading.
    in_order = [block for heading, block in blocks.items() if heading != "## References"]
    for i, entry in enumerate(entries):
        section = next(s for s in old.sections if s.theme.id == entry["theme"])
        heading_line = old.section_markdown(section).split("\n", 1)[0]
        block = in_order[i] if len(in_order) == len(entries) else blocks.get(heading_line)
        if block is not None and (entry.get("edited") or provenance.digest(block) != entry["output"]):
            old.kept[section.theme.id] = block
    draft, changes = update_draft(old, library, llm=llm, use_cache=use_cache, progress=progress, today=today)
    if not changes.nothing:
        draft.write(directory, citeproc=not before or "bibliography: references.bib" in before.split("\n---", 1)[0])
        _write_diff(directory, before)
        for heading, block in changes.kept.items():
            path = directory / PROPOSED / f"{slug(heading)}.md"
            path.parent.mkdir(exist_ok=True)
            path.write_text(block + "\n", encoding="utf-8")
            changes.proposals[heading] = str(path.relative_to(directory))
    _append_changes(directory, old.topic, changes.entry())
    return draft, changes


def _write_diff(directory: Path, before: str) -> None:
    """DIR/review.diff: a unified diff from ``before`` to review.md as now written."""
    after = (directory / "review.md").read_text(encoding="utf-8")
    diff = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                "a/review.md", "b/review.md")
    (directory / DIFF).write_text("".join(diff), encoding="utf-8")


def _append_changes(directory: Path, topic: str, entry: str) -> None:
    """Append ``entry`` to DIR/CHANGES.md (created with a title); earlier entries are never rewritten."""
    log = directory / CHANGES
    head = "" if log.is_file() else f"# Changes: {topic}\n\n"
    with log.open("a", encoding="utf-8") as handle:
        handle.write(head + entry)


def rethink_directory(library, directory: str | Path, *, llm=None, use_cache: bool = True,
                      progress: Callable | None = None, today: str | None = None) -> Draft:
    """A fresh `review` of the topic recorded in ``directory`` (same max_papers and requested themes) written over
    it: themes and sections are chosen anew and hand edits are not kept. CHANGES.md and review.diff say so."""
    directory = Path(directory)
    data = provenance.read(directory, any_format=True)
    settings = data.get("settings") or {}
    md_path = directory / "review.md"
    before = md_path.read_text(encoding="utf-8") if md_path.is_file() else ""
    draft = library.review(data["topic"], max_papers=int(settings.get("max_papers", 30)),
                           themes=settings.get("themes_requested"), llm=llm, use_cache=use_cache, progress=progress)
    draft.write(directory, citeproc="bibliography: references.bib" in before.split("\n---", 1)[0] or not before)
    _write_diff(directory, before)
    _append_changes(directory, draft.topic,
                    f"\n## {today or date.today().isoformat()} (library revision {library.store.revision[:8]})\n\n"
                    f"- Rethought: a fresh draft of {len(draft.sections)} section(s) citing "
                    f"{len(draft.cited_keys())} paper(s); themes chosen anew, hand edits not kept\n")
    return draft


def fresh_prompt_tokens(draft: Draft, library) -> int:
    """Prompt tokens a fresh `review` of this draft's papers and themes would send to the model (outline, every
    section, every support check, the introduction; rewrites not counted), built without a model."""
    from reviewer.chains import review as chain
    from reviewer.evidence import Evidence, pack_shared
    from reviewer.tokens import count_message_tokens

    model = draft.settings.get("model")
    relevance = library.similarity(draft.topic, list(draft.papers))
    total = count_message_tokens(chain.outline_messages(draft.topic, draft.themes, draft.papers), model)
    for theme in draft.themes:
        packed = pack_shared([Evidence.of(draft.papers[k], relevance[k]) for k in theme.keys],
                             library.settings.llm.evidence_tokens, model)
        total += count_message_tokens(chain.section_messages(draft.topic, theme, packed.text()), model)
    for section in draft.sections:
        citing = [s for s in section.sentences() if s.keys]
        if citing:
            total += count_message_tokens(support.check_messages(citing, draft.papers), model)
    return total + count_message_tokens(chain.introduction_messages(draft.topic, draft.sections), model)


__all__ = ["Changes", "update_draft", "update_directory", "rethink_directory", "fresh_prompt_tokens"]
