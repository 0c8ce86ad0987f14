"""A related-work draft (what `review` produces) and its files: Markdown, BibTeX, LaTeX, JSON and a theme map.

The data model is plain dataclasses so that the chain that builds a draft and the writers that render it stay
apart. Rendering is deterministic: the same draft gives byte-identical files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from reviewer import citations as cite
from reviewer.corpus.model import Paper
from reviewer.llm import Usage

# Shown under the title of every file an extractive (no-LLM) draft writes. An introduction sentence with
# exactly this text is that note, not part of the introduction (it is rendered once, under the title).
EXTRACTIVE_NOTE = (
    "No LLM is configured, so this draft is extractive: each section quotes one sentence from each of its "
    "theme's papers most relevant to the topic, and themes are named by their most distinctive terms. Set "
    "REVIEWER_LLM__BASE_URL (e.g. a local Ollama or llama.cpp server) or OPENAI_API_KEY for a written review."
)
FILES = ("review.md", "references.bib", "references.md", "review.tex", "review.json", "themes.png")


def free_directory(directory: str | Path, force: bool = False) -> Path:
    """``directory`` if it holds none of a draft's files (or ``force``), else the first of ``directory-2``,
    ``directory-3``, ... that holds none: a draft never replaces an earlier one unless asked to."""
    directory = Path(directory)
    if force:
        return directory
    candidate, number = directory, 1
    while any((candidate / name).exists() for name in FILES) or candidate.is_file():
        number += 1
        candidate = directory.with_name(f"{directory.name}-{number}")
    return candidate

SUPPORTED = "supported"
REWRITTEN = "rewritten"  # unsupported as first written, supported after one rewrite
UNSUPPORTED = "unsupported"  # still unsupported after the rewrite (or no rewrite possible): flagged
UNCHECKED = "unchecked"  # cites nothing (e.g. a transition): nothing to check


@dataclass
class Sentence:
    """One sentence of the draft with the keys it cites and the support check's verdict."""

    text: str  # with its ``[key]`` citations, as the model (or the extractive engine) wrote it
    keys: list[str] = field(default_factory=list)
    support: str = UNCHECKED
    score: float | None = None  # the support check's score (offline: similarity), when it has one
    reason: str = ""  # why it was judged unsupported (or rewritten)
    original: str | None = None  # the first version, when the sentence was rewritten
    quote: str | None = None  # extractive engine: the abstract's sentence this one quotes, verbatim

    @property
    def flagged(self) -> bool:
        return self.support == UNSUPPORTED


@dataclass
class Theme:
    """A cluster of the reviewed papers."""

    id: int
    name: str
    terms: list[str]  # distinctive terms (c-TF-IDF), most distinctive first
    keys: list[str]  # its papers, most central first
    summary: str = ""  # one line from the outline: what the section will cover


@dataclass
class Section:
    theme: Theme
    heading: str
    paragraphs: list[list[Sentence]] = field(default_factory=list)

    def sentences(self) -> list[Sentence]:
        return [s for p in self.paragraphs for s in p]


@dataclass
class Draft:
    """A thematic related-work draft, grounded in the library.

    ``papers``: every paper reviewed (retrieved and clustered), by key. ``points``: 2-D coordinates of each
    reviewed paper for the theme map. ``engine``: "llm" or "extractive".
    """

    topic: str
    engine: str
    themes: list[Theme] = field(default_factory=list)
    introduction: list[Sentence] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    papers: dict[str, Paper] = field(default_factory=dict)
    points: dict[str, tuple[float, float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    settings: dict = field(default_factory=dict)  # what produced it (max_papers, themes, model, ...), for review.json
    created: str = field(default_factory=lambda: date.today().isoformat())  # review.md's date
    # How it was made (reviewer.provenance): what `review --update` compares; written to review.json.
    provenance: dict = field(default_factory=dict)
    kept: dict[int, str] = field(default_factory=dict)  # theme id -> the author's hand-edited block of review.md

    @property
    def notice(self) -> str | None:
        """The extractive engine's notice (no LLM configured); None with a model."""
        return EXTRACTIVE_NOTE if self.engine == "extractive" else None

    def all_sentences(self) -> list[Sentence]:
        return self.introduction + [s for section in self.sections for s in section.sentences()]

    @property
    def flagged(self) -> list[Sentence]:
        return [s for s in self.all_sentences() if s.flagged]

    def cited_keys(self) -> list[str]:
        """Every cited key, in order of first citation."""
        keys: list[str] = []
        for sentence in self.all_sentences():
            keys.extend(k for k in sentence.keys if k not in keys)
        return keys

    def citations(self) -> list[Paper]:
        return [self.papers[k] for k in self.cited_keys()]

    # -- files -----------------------------------------------------------------------------------------
    def to_markdown(self, citeproc: bool = True) -> str:
        """review.md: pandoc Markdown citing ``[@key]``, which ``pandoc review.md --citeproc`` renders unchanged.

        A YAML block starts it (title, date, ``bibliography: references.bib``, ``link-citations: true``); a
        flagged sentence keeps its place and gets an inline footnote saying why; the theme map is shown with an
        alt text; it ends with a References heading over an empty ``::: {#refs}`` div, where citeproc puts the
        bibliography. ``citeproc=False``: no bibliography in the YAML, and the references are listed by hand
        instead (in order of first citation, as in references.md)."""
        lines = ["---", f"title: {json.dumps('Related work: ' + _md_escape(self.topic), ensure_ascii=False)}",
                 f"date: {self.created}"]
        if citeproc:
            lines += ["bibliography: references.bib", "link-citations: true"]
        lines += ["---", ""]
        if self.engine == "extractive":
            lines += [f"> **Note:** {EXTRACTIVE_NOTE}", ""]
        from reviewer.themes_map import alt_text, skip_reason

        if skip_reason(self) is None:
            lines += [f"![{_md_escape(alt_text(self))}](themes.png)", ""]
        if self._introduction_body():
            lines += [_md_paragraph(self._introduction_body()), ""]
        for section in self.sections:
            lines += [self.section_markdown(section), ""]
        lines += ["## References", ""]
        if citeproc:
            lines += ["::: {#refs}", ":::"]
        else:
            lines += self._reference_list()
        return "\n".join(lines).rstrip("\n") + "\n"

    def section_markdown(self, section: Section) -> str:
        """A section's block of review.md, from its heading to its last paragraph: the author's hand-edited
        block when the section is kept (``kept``), else the rendering of its sentences."""
        if section.theme.id in self.kept:
            return self.kept[section.theme.id]
        return "\n\n".join([f"## {_md_escape(section.heading)}"]
                            + [_md_paragraph(paragraph) for paragraph in section.paragraphs if paragraph])

    def update(self, library, *, llm=None, use_cache: bool = True, progress=None):
        """(this draft brought up to date with ``library``, what changed): see :mod:`reviewer.living`."""
        from reviewer.living import update_draft

        return update_draft(self, library, llm=llm, use_cache=use_cache, progress=progress)

    def references_markdown(self) -> str:
        """references.md: the cited papers as a plain Markdown list, in order of first citation (for readers
        without citeproc; review.md's bibliography is citeproc's, from references.bib)."""
        lines = [f"# References: {_md_escape(self.topic)}", ""] + self._reference_list()
        return "\n".join(lines) + "\n"

    def _reference_list(self) -> list[str]:
        return [f"- {_md_reference(paper)}" for paper in self.citations()] or ["No paper is cited."]

    def to_latex(self) -> str:
        """review.tex: a fragment to ``\\input`` (``\\section*`` and ``\\subsection*``s) citing ``\\cite{key}``;
        the keys are those of references.bib."""
        lines = [
            f"% Related work on: {_one_line(self.topic)} (written by reviewer; engine: {self.engine}).",
            "% A fragment: \\input{review} where the section goes, and add \\bibliography{references}",
            "% (references.bib, written next to this file) with a \\bibliographystyle of your choice.",
            f"\\section*{{Related work: {_latex_plain(self.topic)}}}",
            "",
        ]
        if self.engine == "extractive":
            lines += [f"\\textit{{Note: {_latex_plain(EXTRACTIVE_NOTE)}}}", ""]
        if self._introduction_body():
            lines += [_latex_paragraph(self._introduction_body()), ""]
        for section in self.sections:
            lines += [f"\\subsection*{{{_latex_plain(section.heading)}}}", ""]
            lines += [line for paragraph in section.paragraphs if paragraph
                      for line in (_latex_paragraph(paragraph), "")]
        return "\n".join(lines).rstrip("\n") + "\n"

    def to_bibtex(self) -> str:
        """references.bib: one entry per cited paper, keys as stored, in order of first citation."""
        return cite.bibtex(self.citations())

    def to_dict(self) -> dict:
        """What review.json holds: the draft's structure, every sentence with its keys and support verdict,
        the flagged sentences, warnings and references. Floats are rounded (4 decimals) so the file is stable.

        Token usage is left out on purpose: a rerun served from the cache costs nothing, and the files of the
        same topic, corpus and settings must be byte-identical (``Draft.usage`` has it)."""
        return {
            "topic": self.topic,
            "engine": self.engine,
            "notice": self.notice,
            "settings": _jsonable(self.settings),
            "themes": [{"id": t.id, "name": t.name, "terms": list(t.terms), "keys": list(t.keys),
                        "summary": t.summary} for t in self.themes],
            "outline": [section.heading for section in self.sections],
            "introduction": [_sentence_dict(s) for s in self.introduction],
            "sections": [{"heading": section.heading, "theme": section.theme.id,
                          "paragraphs": [[_sentence_dict(s) for s in p] for p in section.paragraphs]}
                         for section in self.sections],
            "flagged": [{"section": heading, "text": s.text, "keys": list(s.keys), "reason": s.reason}
                        for heading, s in self._placed_sentences() if s.flagged],
            "warnings": list(self.warnings),
            "references": [_reference_dict(p) for p in self.citations()],
            "points": {key: [_round(x), _round(y)] for key, (x, y) in sorted(self.points.items())},
            **_provenance(self),
        }

    def to_json(self) -> str:
        """review.json's text: ``to_dict()`` indented, UTF-8 as is, with a trailing newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def write(self, directory: str | Path, *, citeproc: bool = True) -> list[Path]:
        """Write review.md, references.bib, references.md, review.tex, review.json and themes.png into
        ``directory`` (created if needed); returns the paths written. themes.png needs at least two mapped
        papers: without them it is not written (and an older one there is removed, so it cannot be taken for
        this draft's). ``citeproc=False``: review.md lists its references by hand (see :meth:`to_markdown`)."""
        from reviewer.errors import ReviewerError
        from reviewer.themes_map import render_png

        self.check_citations()
        directory = Path(directory)
        texts = {"review.md": self.to_markdown(citeproc=citeproc), "references.bib": self.to_bibtex(),
                 "references.md": self.references_markdown(), "review.tex": self.to_latex(),
                 "review.json": self.to_json()}
        picture = render_png(self)
        written: list[Path] = []
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for name, text in texts.items():
                path = directory / name
                path.write_bytes(text.encode("utf-8"))
                written.append(path)
            path = directory / "themes.png"
            if picture is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(picture)
                written.append(path)
        except OSError as exc:
            raise ReviewerError(f"cannot write the review into {directory}: {exc.strerror or exc}; "
                                "choose another output folder (--out)") from exc
        return written

    def check_citations(self) -> None:
        """Raise ValueError if a sentence cites a key that is not among the draft's papers, or if the keys
        of its text are not its ``keys`` (either is a bug of the chain that built the draft: every citation
        of every file must resolve, and references.bib must hold exactly the cited keys)."""
        unknown = sorted({k for s in self.all_sentences() for k in [*s.keys, *cite.cited_keys(s.text)]
                          if k not in self.papers})
        if unknown:
            raise ValueError(f"the draft cites keys that are not among its papers: {', '.join(unknown)}")
        for sentence in self.all_sentences():
            if set(cite.cited_keys(sentence.text)) != set(sentence.keys):
                raise ValueError(f"a sentence's keys {sentence.keys} are not the keys its text cites: "
                                 f"{sentence.text!r}")

    def _introduction_body(self) -> list[Sentence]:
        """The introduction without the extractive note (which the files show under the title)."""
        return [s for s in self.introduction if s.text.strip() != EXTRACTIVE_NOTE]

    def _placed_sentences(self) -> list[tuple[str | None, Sentence]]:
        """Every sentence with the heading of its section (None: the introduction)."""
        placed: list[tuple[str | None, Sentence]] = [(None, s) for s in self.introduction]
        return placed + [(section.heading, s) for section in self.sections for s in section.sentences()]


# -- rendering helpers ------------------------------------------------------------------------------------
_NOT_SUPPORTED = "Not supported by the cited abstract(s)"
_NOT_CITED = "Not supported: it cites no paper"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _unbracket(text: str) -> str:
    """Square brackets as parentheses, so text in a footnote can never be read as a citation."""
    return text.replace("[", "(").replace("]", ")")


def _flag_note(sentence: Sentence) -> str:
    """'Not supported by the cited abstract(s): <reason>.', or 'Not supported: it cites no paper.' (one line,
    no square brackets)."""
    if not sentence.keys:
        return f"{_NOT_CITED}."
    reason = _unbracket(_one_line(sentence.reason)).rstrip(" .")
    return f"{_NOT_SUPPORTED}: {reason}." if reason else f"{_NOT_SUPPORTED}."


def _md_sentence(sentence: Sentence) -> str:
    text = cite.pandoc(_one_line(sentence.text))
    return f"{text}^[{_flag_note(sentence)}]" if sentence.flagged else text


_MD_BLOCK_START = re.compile(r"^(#|>|[-+*]\s|\d+[.)]\s)")


def _md_paragraph(sentences: list[Sentence]) -> str:
    text = " ".join(_md_sentence(s) for s in sentences)
    return "\\" + text if _MD_BLOCK_START.match(text) else text  # a paragraph, not a heading, quote or list


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#])", r"\\\1", _one_line(text))


def _authors(names: list[str]) -> str:
    if len(names) > 3:
        return f"{names[0]} et al."
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def _url(paper: Paper) -> str | None:
    if paper.url:
        return paper.url
    if paper.doi:
        return f"https://doi.org/{paper.doi}"
    return f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else None


def _md_reference(paper: Paper) -> str:
    """'**key** — Authors (year). Title. *Venue*. <url>' (parts that are unknown are left out)."""
    who = _md_escape(_authors(paper.authors))
    when = f"({paper.year})" if paper.year else ""
    head = " ".join(part for part in (who, when) if part)
    parts = [f"{head}." if head else "", f"{_md_escape(paper.title).rstrip('.')}."]
    if paper.venue:
        parts.append(f"*{_md_escape(paper.venue).rstrip('.')}*.")
    url = _url(paper)
    if url:
        parts.append(f"<{url}>")
    return f"**{_md_escape(paper.key)}** — " + " ".join(part for part in parts if part)


def _latex_plain(text: str) -> str:
    """LaTeX-escaped text (on one line) that cites nothing."""
    return cite.latex_escape(_one_line(text))


def _latex_sentence(sentence: Sentence) -> str:
    text = cite.latex(_one_line(sentence.text))
    return f"{text}\\footnote{{{_latex_plain(_flag_note(sentence))}}}" if sentence.flagged else text


def _latex_paragraph(sentences: list[Sentence]) -> str:
    return " ".join(_latex_sentence(s) for s in sentences)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _sentence_dict(sentence: Sentence) -> dict:
    return {"text": sentence.text, "keys": list(sentence.keys), "support": sentence.support,
            "score": _round(sentence.score), "reason": sentence.reason, "original": sentence.original,
            "quote": sentence.quote}


def _reference_dict(paper: Paper) -> dict:
    return {"key": paper.key, "title": paper.title, "authors": list(paper.authors), "year": paper.year,
            "venue": paper.venue, "doi": paper.doi, "arxiv_id": paper.arxiv_id, "url": paper.url}


def _provenance(draft: Draft) -> dict:
    """review.json's "format" and "provenance" (with each section's output hash), when the chain recorded them."""
    if not draft.provenance:
        return {}
    from reviewer import provenance

    return provenance.to_json_fields(draft)


def _jsonable(value):
    """Settings as JSON values: dicts sorted by key, floats rounded, paths and other objects as strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda item: str(item[0]))}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return _round(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)
