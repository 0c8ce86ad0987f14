"""Citation keys in generated text: parse, validate against the evidence, flag uncited claims, export.

The canonical citation is one or more keys in square brackets: ``[key]``, ``[key1; key2]`` or ``[key1, key2]``.
Keys are BibTeX-safe (``[a-z0-9]``, plus ``_:-.`` from users' own .bib files).

Models cite in other forms too; :func:`validate` first brings them to the canonical one (:func:`normalise`):
``[@key]``, ``\\cite{a,b}`` (and ``\\citep``/``\\citet``), ``[key](url)``, ``(key)`` and ``(a; b)`` when each
token is exactly a key with letters and digits, footnotes (``claim[^1]`` with ``[^1]: key``, or ``^[key]``), and
bare tokens with letters and digits that are keys of the library or of the prompt's examples, matched
case-insensitively, or that have the shape of an author-year key (``Smith2023rag:``, ``chen2024b``). Keys of the
evidence stay as ``[key]``; any other is removed *with the connective that introduced it* ("as shown by [x]." ->
".").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


# ------------------------------------------------------------------------------------------ other forms
_KEYS = rf"@?{_KEY}(?:\s*[;,]\s*@?{_KEY})*"
_LATEX_CITE = re.compile(r"\\(?:cite|citep|citet|parencite|textcite|autocite)\*?(?:\[[^\]]*\])*\{([^{}]*)\}")
_LINKED = re.compile(rf"\[\s*({_KEYS})\s*\]\([^()\s]*\)")
_PAREN = re.compile(rf"\(\s*({_KEYS})\s*\)")
_INLINE_FOOTNOTE = re.compile(rf"\s*\^\[\s*({_KEYS})\s*\]")
_FOOTNOTE_DEF = re.compile(r"^[ \t]*\[\^([^\]\s]+)\]:[ \t]*(.*)$\n?", re.M)
_BARE = re.compile(rf"(?<![\w@/\-\[.])@?({_KEY})")
# A bare token is read as a key only when it has the shape of an author-year key (letters and digits): a title
# word that happens to be a key ("attention") is not a citation when it stands alone.
_KEY_SHAPED = re.compile(r"(?=.*[A-Za-z])(?=.*\d).{5,}")
# A bare token in the shape of a generated author-year key ("Smith2023rag", "chen2024b") is a citation even when it
# names no paper of the library: an invented key, removed like any other.
_AUTHOR_YEAR_KEY = re.compile(r"[A-Z]?[a-z]+(?:19|20)\d\d[a-z]*")


def normalise(text: str, keys: Iterable[str]) -> str:
    """``text`` with every citation form it recognises written as ``[key]`` (``[a; b]``), keys as given in
    ``keys`` (bare and parenthesised tokens are read as keys only when they are one of ``keys``, compared
    case-insensitively). Whether a key may stay is :func:`validate`'s business."""
    by_lower = {k.lower(): k for k in keys}

    def canonical(token: str) -> str | None:
        return by_lower.get(token.lstrip("@").rstrip(".:-").lower())

    def tokens(group: str) -> list[str]:
        return [t.strip().lstrip("@") for t in re.split(r"\s*[;,]\s*", group) if t.strip()]

    text = _LATEX_CITE.sub(lambda m: "[" + "; ".join(tokens(m.group(1))) + "]", text)
    text = _LINKED.sub(lambda m: f"[{m.group(1)}]" if all(canonical(t) or _KEY_SHAPED.fullmatch(t)
                                                            for t in tokens(m.group(1))) else m.group(0), text)
    text = _INLINE_FOOTNOTE.sub(lambda m: f" [{m.group(1)}]", text)
    text = _footnotes(text, canonical)

    def paren(match: re.Match) -> str:  # only exact keys in the shape of one: "(MLPs)" is an acronym, not "mlps"
        found = [t for t in tokens(match.group(1)) if t in by_lower.values() and _KEY_SHAPED.fullmatch(t)]
        return "[" + "; ".join(found) + "]" if len(found) == len(tokens(match.group(1))) else match.group(0)

    text = _PAREN.sub(paren, text)
    parts = re.split(r"(\[[^\[\]]*\](?:\([^()\s]*\))?|https?://\S+)", text)  # leave brackets and links alone

    def bare(match: re.Match) -> str:
        token = match.group(1)
        key = canonical(token)
        if key is None and _AUTHOR_YEAR_KEY.fullmatch(token.rstrip(".:-")):
            key = token.rstrip(".:-")
        if key is None or not _KEY_SHAPED.fullmatch(key):
            return match.group(0)
        return f"[{key}]" + token[len(token.rstrip('.:-')):]

    return "".join(part if i % 2 else _BARE.sub(bare, part) for i, part in enumerate(parts))


def _footnotes(text: str, canonical) -> str:
    """Markdown footnotes whose definitions name keys (``claim[^1]`` ... ``[^1]: key``) as ``[key]``."""
    definitions = {}
    for match in _FOOTNOTE_DEF.finditer(text):
        keys = [canonical(t) or t.rstrip(".:-") for t in re.findall(_KEY, match.group(2))
                if canonical(t) or _KEY_SHAPED.fullmatch(t.rstrip(".:-"))]
        if keys:
            definitions[match.group(1)] = list(dict.fromkeys(keys))
    if not definitions:
        return text
    text = _FOOTNOTE_DEF.sub(lambda m: "" if m.group(1) in definitions else m.group(0), text)
    return re.sub(r"\s*\[\^([^\]\s]+)\]", lambda m: " [" + "; ".join(definitions[m.group(1)]) + "]"
                  if m.group(1) in definitions else m.group(0), text).rstrip()


# Where a removed citation was, until _tidy has mended the sentence around it.
_GONE = "\x00"
# Words that, right before a removed citation, only introduced it ("as shown by [x]", "then cite [x]")...
_ENDERS = frozenset("by in of from see cf cf. per via following to cite cites cited citing and or & e.g. e.g., "
                    "i.e. i.e., also as like with et al al. dr dr. refer".split())
# ... and the words that may come before such a word and go with it ("proposed by the team of Dr. [x]").
_FILLERS = frozenset("the a team group work works paper papers study studies authors author then according "
                     "et al. reference references see also".split())
# "[x] shows that ..." at the start of a sentence: with [x] gone, its verb goes too.
_CITING_VERB = re.compile(r"^[ \t]*[,;:]?[ \t]*(?:(?:shows?|showed|finds?|found|reports?|reported|notes?|noted|"
                          r"argues?|argued|suggests?|suggested|demonstrates?|demonstrated)\b,?[ \t]*(?:that\b)?"
                          r"[ \t]*,?)?[ \t]*")
_AS_DONE = re.compile(r",?\s*\b(?:as|like)\s+(?:\w+\s+)?(?:\w+ed|shown|seen|written|done|given|known)\s*$", re.I)


def _drop_dangling(before: str) -> str:
    """``before`` without the words at its end that only introduced a citation that was removed."""
    words = before.rstrip().split(" ")
    if not words or words[-1].lower().lstrip("(") not in _ENDERS:
        return before.rstrip()
    while words and words[-1].lower().lstrip("(") in _ENDERS | _FILLERS:
        if words.pop().startswith("("):  # "(see [x])": the bracket stays, to be closed by what follows
            words.append("(")
            break
    return _AS_DONE.sub("", " ".join(words)).rstrip()


def _tidy(text: str) -> str:
    """Mend the sentences citations were removed from: a removed citation takes the connective that
    introduced it along ("as first shown by [x]." -> "."), the punctuation left doubled is merged, and a
    sentence that now starts with a comma or a small letter is fixed."""
    text = re.sub(rf"\(\s*{_GONE}\s*\)|,\s*{_GONE}\s*,", _GONE, text)  # "(x)", ", x," go whole
    text = re.sub(rf"{_GONE}(?:\s*(?:[,;&]|\band\b|\bor\b)?\s*{_GONE})+", _GONE, text)  # a list of removed ones
    while (at := text.find(_GONE)) >= 0:
        before, after = _drop_dangling(text[:at]), text[at + 1:]
        after = re.sub(r"^\s*(?:[,;&]|and\b|or\b)\s*(?=\[)", " ", after)  # "[x] and [kept]": the "and" goes too
        if not before or before.endswith(("\n", ".", "!", "?")) or re.search(r"(?:^|\n)\s*[-*•]$", before):
            after = _CITING_VERB.sub(" " if before else "", after)
            after = re.sub(r"^(\s*)([a-z])", lambda m: m.group(1) + m.group(2).upper(), after)
        elif after[:1].isalnum():
            before += " "
        text = before + after
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    text = re.sub(r"[,;:]+([.!?])", r"\1", text)
    text = re.sub(r",\s+(\[[^\[\]]+\])(?=[.!?]|$)", r" \1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


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


def validate(text: str, allowed: list[str] | set[str], *, known: Iterable[str] = (),
             examples: Iterable[str] = ()) -> CheckedText:
    """Remove citations of keys not in ``allowed`` (the evidence the model was shown) and citations in other
    styles (author-year: they name no key), report both in ``removed``, and flag claims (sentences of some
    length) that are left without any citation. Citation forms other than ``[key]`` are first normalised
    (:func:`normalise`); ``known``: every key of the library, ``examples``: the prompt's example keys (bare
    tokens equal to one of these, or to an allowed key, are read as citations)."""
    allowed = set(allowed)
    removed: list[str] = []
    text = normalise(text, allowed | set(known) | set(examples))

    def keep_known(match: re.Match) -> str:
        keys = [k.lstrip("@") for k in re.split(r"\s*[;,]\s*", match.group(1))]
        known = [k for k in keys if k in allowed]
        removed.extend(k for k in keys if k not in allowed and k not in removed)
        return f"[{'; '.join(known)}]" if known else _GONE

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
            return _GONE
        return match.group(0)  # "[CLS]", "[the docs]": not a citation

    cleaned = _tidy(BRACKET.sub(other_bracket, cleaned))
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
    """``text`` escaped for LaTeX, with ``[k1; k2]`` citations as ``~\\cite{k1,k2}`` (a tie: never alone at the
    start of a line)."""
    out, pos = [], 0
    for match in CITATION.finditer(text):
        before = latex_escape(text[pos:match.start()])
        tie = before.rstrip() != before or not before
        out.append(before.rstrip() + ("~" if tie and before.strip() else ""))
        out.append("\\cite{" + ",".join(_keys_of(match)) + "}")
        pos = match.end()
    out.append(latex_escape(text[pos:]))
    return "".join(out)


_QUOTES = re.compile(r"[\"“”‘’]")
_OPENS_AFTER = " \t\n([{-–—/"


def latex_escape(text: str) -> str:
    """Plain text as LaTeX: special characters (``& % $ # _ { } ~ ^ \\``) and non-ASCII letters escaped, and
    quotation marks as LaTeX writes them: two backquotes open, two apostrophes close (a straight double quote
    opens after a space or a bracket, else closes); a single opening quote is one backquote."""
    out, pos = [], 0
    for match in _QUOTES.finditer(text):
        out.append(_latex_chars(text[pos:match.start()]))
        mark, at = match.group(), match.start()
        if mark == '"':
            mark = "“" if at == 0 or text[at - 1] in _OPENS_AFTER else "”"
        out.append({"“": "``", "”": "''", "‘": "`", "’": "'"}[mark])
        pos = match.end()
    out.append(_latex_chars(text[pos:]))
    return "".join(out)


def _latex_chars(text: str) -> str:
    from pylatexenc.latexencode import unicode_to_latex

    return unicode_to_latex(text, non_ascii_only=False, unknown_char_policy="keep") if text else ""


# A venue that names a conference or workshop makes an @inproceedings (booktitle); one that names a journal, or
# any other venue, an @article (journal); arXiv alone, or no venue, a @misc.
_PROCEEDINGS = re.compile(
    r"\b(proc(eedings)?|conference|conf|workshops?|symposium|meeting|neurips|nips|icml|iclr|acl|emnlp|naacl|eacl|"
    r"aacl|coling|lrec|cvpr|iccv|eccv|wacv|bmvc|aaai|ijcai|kdd|sigir|sigmod|vldb|www|wsdm|cikm|recsys|interspeech|"
    r"icassp|colm|uai|aistats|corl|rss|icra|iros|miccai|chi|uist|fse|icse|osdi|sosp|nsdi|eurosys|isca|micro)\b",
    re.I)
_PREPRINT = re.compile(r"^\s*(arxiv|biorxiv|medrxiv|ssrn|preprint|corr)\b", re.I)


def entry_type(venue: str | None) -> tuple[str, str | None]:
    """(BibTeX entry type, the field the venue goes in) for a paper's venue."""
    if not venue or _PREPRINT.match(venue):
        return "misc", "howpublished" if venue else None
    if _PROCEEDINGS.search(venue):
        return "inproceedings", "booktitle"
    return "article", "journal"


def bibtex(papers) -> str:
    """BibTeX entries for ``papers`` (in the given order), keys exactly as stored, with every field known:
    title, author, year, the venue (``booktitle`` of an ``@inproceedings`` when it names a conference or
    workshop, ``journal`` of an ``@article`` otherwise; a paper with no venue, or only arXiv, is a ``@misc``),
    doi, eprint (arXiv), url, abstract, a ``key`` to sort by when there is no author (so BibTeX does not warn
    "need author or key"), and a ``note`` naming where reviewer read it. Field values are LaTeX-escaped; titles
    keep their capitals."""
    import bibtexparser
    from bibtexparser import model

    library = bibtexparser.Library()
    for paper in papers:
        kind, venue_field = entry_type(paper.venue)
        fields = [("title", "{" + latex_escape(" ".join(paper.title.split())) + "}")]
        if paper.authors:
            fields.append(("author", " and ".join(latex_escape(a) for a in paper.authors)))
        else:
            fields.append(("key", paper.key))
        if paper.year:
            fields.append(("year", str(paper.year)))
        if venue_field:
            fields.append((venue_field, latex_escape(" ".join(paper.venue.split()))))
        if paper.doi:
            fields.append(("doi", paper.doi))
        if paper.arxiv_id:
            fields += [("eprint", paper.arxiv_id), ("archiveprefix", "arXiv")]
        if paper.url:
            fields.append(("url", paper.url))
        if paper.abstract.strip():
            fields.append(("abstract", latex_escape(" ".join(paper.abstract.split()))))
        if paper.provenance:
            fields.append(("note", latex_escape("Source: " + "; ".join(_source(p) for p in paper.provenance))))
        library.add(model.Entry(kind, paper.key, [model.Field(k, v) for k, v in fields]))
    return bibtexparser.write_string(library)


def _source(provenance: str) -> str:
    """``file:line`` with the file's name only (the folders are the user's business)."""
    import os

    where, _, line = provenance.rpartition(":")
    return f"{os.path.basename(where)}:{line}" if where and line.isdigit() else os.path.basename(provenance)


def _keys_of(match: re.Match) -> list[str]:
    return [k.lstrip("@") for k in re.split(r"\s*[;,]\s*", match.group(1))]
