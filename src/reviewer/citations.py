"""Citation keys in generated text: parse, validate against the evidence, flag uncited claims, export.

A citation is one or more keys in square brackets: ``[key]``, ``[key1; key2]`` or ``[key1, key2]``.
Keys are BibTeX-safe (``[a-z0-9]``, plus ``_:-.`` from users' own .bib files).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_KEY = r"[A-Za-z0-9][A-Za-z0-9_:.\-]*"
# Not a Markdown link's text: "[see here](https://...)".
CITATION = re.compile(rf"\[\s*(@?{_KEY}(?:\s*[;,]\s*@?{_KEY})*)\s*\](?!\()")
_MIN_CLAIM_WORDS = 6
# Brackets the key syntax does not read (not a Markdown link, not a pandoc footnote "^[...]"): they may still
# cite, in another style ("[Brown et al., 2020]") or mixed with keys ("[smith2020lora; p. 3]").
BRACKET = re.compile(r"(?<!\^)\[([^\[\]]+)\](?!\()")
AUTHOR_YEAR = re.compile(r"\bet al\b|(?<!\d)(?:19|20)\d\d[a-z]?\b")


def cited_keys(text: str) -> list[str]:
    """Every key cited in ``text``, in order of first appearance."""
    keys: list[str] = []
    for match in CITATION.finditer(text):
        for key in re.split(r"\s*[;,]\s*", match.group(1)):
            key = key.lstrip("@")
            if key not in keys:
                keys.append(key)
    return keys


def split_sentences(text: str) -> list[str]:
    """Sentences (and bullet items) of a reply; a citation after the full stop stays with its sentence."""
    out: list[str] = []
    for block in re.split(r"\n+", text):
        block = block.strip()
        if not block:
            continue
        pos = 0
        # (not after an ellipsis: "A ... (B)" is one sentence)
        for match in re.finditer(r"(?<!\.\.)[.!?](?:\s*\[[^\]]*\])*(?=\s+[A-Z0-9\"'(]|\s*$)", block):
            out.append(block[pos:match.end()].strip())
            pos = match.end()
        if block[pos:].strip():
            out.append(block[pos:].strip())
    return [s for s in out if s]


@dataclass
class CheckedText:
    """A reply after validation: unknown keys removed, uncited claims listed."""

    text: str
    keys: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    uncited: list[str] = field(default_factory=list)


def validate(text: str, allowed: list[str] | set[str]) -> CheckedText:
    """Remove citations of keys not in ``allowed`` (the evidence the model was shown) and citations in other
    styles (author-year: they name no key), report both in ``removed``, and flag claims (sentences of some
    length) that are left without any citation."""
    allowed = set(allowed)
    removed: list[str] = []

    def keep_known(match: re.Match) -> str:
        keys = [k.lstrip("@") for k in re.split(r"\s*[;,]\s*", match.group(1))]
        known = [k for k in keys if k in allowed]
        removed.extend(k for k in keys if k not in allowed and k not in removed)
        return f"[{'; '.join(known)}]" if known else ""

    cleaned = CITATION.sub(keep_known, text)

    def other_bracket(match: re.Match) -> str:
        content = match.group(1)
        tokens = [t.lstrip("@") for t in re.split(r"[\s;,]+", content) if t]
        known = [t for t in dict.fromkeys(tokens) if t in allowed]
        if known:  # "[smith2020lora; fake2023x, p. 3]": the known keys stay, the rest is reported
            rest = " ".join(t for t in tokens if t not in allowed)
            if rest:
                removed.append(rest)
            return f"[{'; '.join(known)}]"
        if AUTHOR_YEAR.search(content):  # "[Brown et al., 2020]": a citation, but of no key
            removed.append(" ".join(content.split()))
            return ""
        return match.group(0)  # "[CLS]", "[the docs]": not a citation

    cleaned = BRACKET.sub(other_bracket, cleaned)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    uncited = [s for s in split_sentences(cleaned) if is_claim(s) and not CITATION.search(s)]
    return CheckedText(cleaned, cited_keys(cleaned), removed, uncited)


def is_claim(sentence: str) -> bool:
    """A sentence that asserts something (not a heading, a question or a short connective)."""
    plain = sentence.strip().lstrip("-*• ").strip()
    if plain.endswith("?") or plain.endswith(":") or plain.startswith("#"):
        return False
    return len(plain.split()) >= _MIN_CLAIM_WORDS


# ------------------------------------------------------------------------------------------------ export
def pandoc(text: str) -> str:
    """``text`` with ``[k1; k2]`` citations in pandoc's form ``[@k1; @k2]`` (Markdown for pandoc/Quarto)."""
    return CITATION.sub(lambda m: "[" + "; ".join("@" + k for k in _keys_of(m)) + "]", text)


def latex(text: str) -> str:
    """``text`` escaped for LaTeX, with ``[k1; k2]`` citations as ``\\cite{k1,k2}``."""
    out, pos = [], 0
    for match in CITATION.finditer(text):
        out.append(latex_escape(text[pos:match.start()]))
        out.append("\\cite{" + ",".join(_keys_of(match)) + "}")
        pos = match.end()
    out.append(latex_escape(text[pos:]))
    return "".join(out)


def latex_escape(text: str) -> str:
    """Plain text as LaTeX: special characters (``& % $ # _ { } ~ ^ \\``) and non-ASCII letters escaped."""
    from pylatexenc.latexencode import unicode_to_latex

    return unicode_to_latex(text, non_ascii_only=False, unknown_char_policy="keep")


def bibtex(papers) -> str:
    """BibTeX entries for ``papers`` (in the given order), keys exactly as stored: ``@article`` when the
    paper has a venue, ``@misc`` otherwise. Field values are LaTeX-escaped; titles keep their capitals."""
    import bibtexparser
    from bibtexparser import model

    library = bibtexparser.Library()
    for paper in papers:
        fields = [("title", "{" + latex_escape(" ".join(paper.title.split())) + "}")]
        if paper.authors:
            fields.append(("author", " and ".join(latex_escape(a) for a in paper.authors)))
        if paper.year:
            fields.append(("year", str(paper.year)))
        if paper.venue:
            fields.append(("journal", latex_escape(paper.venue)))
        if paper.doi:
            fields.append(("doi", paper.doi))
        if paper.arxiv_id:
            fields += [("eprint", paper.arxiv_id), ("archiveprefix", "arXiv")]
        if paper.url:
            fields.append(("url", paper.url))
        entry_type = "article" if paper.venue else "misc"
        library.add(model.Entry(entry_type, paper.key, [model.Field(k, v) for k, v in fields]))
    return bibtexparser.write_string(library)


def _keys_of(match: re.Match) -> list[str]:
    return [k.lstrip("@") for k in re.split(r"\s*[;,]\s*", match.group(1))]
