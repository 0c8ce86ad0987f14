"""Citation keys: short, readable, BibTeX-safe (``[a-z0-9]`` only), unique, never changed once assigned.

* With a first author and a year: ``{lastname}{year}{word}``, e.g. ``chen2024synapse``, where ``word``
  is the first significant word of the title (hyphens dropped: "Zero-Shot" -> "zeroshot").
* Otherwise from the title (key style ``title-words``, the default): the name before a colon when that part is
  short (at most 3 words: "Inst-IT: Boosting ..." -> ``instit``, "BDoG: ..." -> ``bdog``), else the first two
  significant words ("Task Vectors Are Cross-Modal" -> ``taskvectors``). A key is never a bare common word
  (:data:`BARE_WORDS`: "Power: ..." is not ``power``), which would collide with keys of the user's own .bib.
  Key style ``first-word`` is the former rule: the first significant word alone (``task``).
  Title keys are at most 24 characters, author keys about 30. Stored keys never change: a style applies to
  papers ingested after it is chosen.

Accents are transliterated ("Müller" -> ``muller``, "Łukasz" -> ``lukasz``), and so are other scripts
(anyascii: "Глубокое обучение" -> ``glubokoe``, "知识图谱" -> ``zhishitupu``); a title with nothing to
transliterate gets ``t`` and a short hash of its normalised form, never a shared fallback. Significant means not
a stopword (a, an, the, on, of, ...), a generic lead word (towards, rethinking, revisiting, ...) or a
word common to many titles (large, language, models, learning, survey, ...), so "Large Language Models
are Zero-Shot Reasoners" gives ``zeroshot``, not ``large``; a title made only of such words falls back
to its first non-stopword. Leading stopwords and lead words are also dropped from a short name before
a colon ("The Tensor Brain: ..." -> ``tensorbrain``).
A title key already taken first tries the next significant title word ("In-Context Interference in
Chat-based LLMs" -> ``incontextinterference`` when ``incontext`` is taken), so keys stay readable.
Otherwise a taken key gets a suffix: ``b``, ``c``, ... ``z``, then ``27``, ``28``, ... in list order.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator

from anyascii import anyascii

from reviewer.corpus.model import Paper

MAX_TITLE_KEY = 24
MAX_WORD = 20
MAX_AUTHOR_KEY = 30
STOPWORDS = frozenset(
    "a an the on of in into onto to for from with without within and or but nor by at as via vs versus "
    "is are be being can could do does did should would will how what why when where which who whom whose "
    "not no yes its it this that these those we our you your their there here all any some more most less "
    "than then so if about over under upon through toward towards beyond between among".split()
)
GENERIC_LEAD_WORDS = frozenset(
    "rethinking revisiting exploring investigating examining analyzing analysing demystifying understanding "
    "unveiling unlocking unleashing leveraging harnessing introducing improving enhancing boosting lets".split()
)
# Words too common in paper titles to tell papers apart; passed over when looking for the title word.
COMMON_TITLE_WORDS = frozenset(
    "large language languages model models learning deep neural network networks llm llms "
    "survey study analysis benchmark benchmarking evaluating evaluation efficient effective "
    "novel new simple general unified scalable robust comprehensive systematic empirical automatic automated "
    "training".split()
)
# A key made of one of these alone says nothing (and is likely taken in a user's .bib): a title key has two words
# then. The stopwords, lead words and common title words, and everyday words seen as bare keys.
BARE_WORDS = STOPWORDS | GENERIC_LEAD_WORDS | COMMON_TITLE_WORDS | frozenset(
    "task tasks image images open power role data time world text video vision agent agents code graph graphs "
    "attention reasoning memory knowledge learning transformer transformers generation retrieval scaling "
    "alignment prompt prompts planning search tool tools multi one two first next beyond towards less more "
    "better good best fast small big long short self dataset datasets method methods framework approach system "
    "systems paper papers"
    .split()
)
KEY_STYLES = ("title-words", "first-word")
_SPECIAL_LETTERS = str.maketrans({
    "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
    "đ": "d", "Đ": "D", "ð": "d", "þ": "th", "Þ": "TH", "ı": "i",
})  # letters NFKD does not split into a base letter and an accent
_NOT_KEY_CHARS = re.compile(r"[^a-z0-9]+")
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd"})
_ET_AL = re.compile(r"\s+(et\.?\s*al\.?|and others)\s*$", re.I)


def ascii_key(text: str) -> str:
    """Lower-case ASCII letters and digits only, accents transliterated: 'Inst-IT' -> 'instit'."""
    text = unicodedata.normalize("NFKD", text.translate(_SPECIAL_LETTERS))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    if not text.isascii():
        text = anyascii(text)
    return _NOT_KEY_CHARS.sub("", text.lower())


def last_name(author: str) -> str:
    """Key form of an author's last name ('Jacob Devlin' -> 'devlin'; 'Devlin, Jacob' -> 'devlin')."""
    author = _ET_AL.sub("", author.strip())
    if "," in author:
        return ascii_key(author.split(",", 1)[0])
    words = [w for w in author.split() if ascii_key(w) not in _NAME_SUFFIXES]
    return ascii_key(words[-1]) if words else ""


def first_significant_word(title: str) -> str:
    """Key form of the first title word that says what the paper is about ('' for an empty title).

    Stopwords and generic lead words are passed over, then words common to many titles
    ("large", "language", "models", "learning", ...) unless nothing else is left.
    """
    words = [w for w in (ascii_key(w) for w in title.split()) if w]
    filler = STOPWORDS | GENERIC_LEAD_WORDS
    for skip in (filler | COMMON_TITLE_WORDS, filler, frozenset()):
        for word in words:
            if word not in skip:
                return word[:MAX_WORD]
    return ""


def significant_words(title: str) -> list[str]:
    """Key forms of every title word that is not a stopword, lead word or common title word, in order."""
    skip = STOPWORDS | GENERIC_LEAD_WORDS | COMMON_TITLE_WORDS
    return [w for w in (ascii_key(w) for w in title.split()) if w and w not in skip]


def title_key(title: str, style: str = "title-words") -> str:
    """Key from a title alone: the short name before a colon, else (``title-words``) the first two significant
    words, or (``first-word``, the former rule) the first significant word. '' when the title gives none that
    is not a bare common word (the caller then uses :func:`hash_key`)."""
    head, colon, _ = title.partition(":")
    words = head.split()
    if colon and 1 <= len(words) <= 3:
        while len(words) > 1 and ascii_key(words[0]) in STOPWORDS | GENERIC_LEAD_WORDS:
            words = words[1:]  # "Towards Generalist Robots" -> "generalistrobots"
        key = _join_within(words, MAX_TITLE_KEY)
        if key and (style == "first-word" or key not in BARE_WORDS):
            return key
    if style == "first-word":
        return first_significant_word(title)[:MAX_TITLE_KEY]
    return two_words(title)


def two_words(title: str) -> str:
    """The first two significant title words joined (``taskvectors``), at most 24 characters; with fewer
    significant words, the first two words that are not stopwords or lead words; one word alone only when it
    is not in :data:`BARE_WORDS`; else ''."""
    words = [w for w in (ascii_key(w) for w in title.split()) if w]
    significant = significant_words(title)
    plain = [w for w in words if w not in STOPWORDS | GENERIC_LEAD_WORDS]
    for pool in (significant, plain):
        if len(pool) >= 2:
            joined = pool[0] + pool[1]
            if len(joined) > MAX_TITLE_KEY and pool[0] not in BARE_WORDS:
                return pool[0][:MAX_TITLE_KEY]  # a long first word says enough: not a word and a half
            return joined[:MAX_TITLE_KEY]
    single = (significant or plain or [""])[0][:MAX_TITLE_KEY]
    return single if single not in BARE_WORDS else ""


def _join_within(words: list[str], limit: int) -> str:
    """Words joined in key form, dropping trailing words that would pass ``limit`` (the first is cut)."""
    key = ""
    for word in (ascii_key(w) for w in words):
        if key and len(key) + len(word) > limit:
            break
        key += word
    return key[:limit]


def make_base_key(paper: Paper, style: str = "title-words") -> str:
    """The key a paper gets when nothing else has it (before any collision suffix)."""
    last = last_name(paper.authors[0]) if paper.authors else ""
    if last and paper.year:
        prefix = f"{last[:15]}{paper.year}"
        return prefix + first_significant_word(paper.title)[: max(6, MAX_AUTHOR_KEY - len(prefix))]
    return title_key(paper.title, style) or hash_key(paper)


def hash_key(paper: Paper) -> str:
    """``t`` + 8 hex digits of the normalised title: stable, and distinct for distinct titles."""
    return "t" + hashlib.sha1(paper.norm_title.encode("utf-8")).hexdigest()[:8]


def candidates(base: str) -> Iterator[str]:
    """base, base+'b', ... base+'z', then base+'27', base+'28', ..."""
    yield base
    for code in range(ord("b"), ord("z") + 1):
        yield base + chr(code)
    n = 27
    while True:
        yield f"{base}{n}"
        n += 1


def key_candidates(paper: Paper, style: str = "title-words") -> Iterator[str]:
    """The keys a paper may get, most preferred first."""
    base = make_base_key(paper, style)
    yield base
    if not (paper.authors and paper.year):
        for word in significant_words(paper.title):
            if word not in base and len(base) + len(word) <= MAX_TITLE_KEY:
                yield base + word
                break
    yield from candidates(base)


_KEY_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_:.\-]*")  # the key syntax of reviewer.citations


def pasted_keys(text: str) -> list[str]:
    """The key in ``text`` as pasted from an answer or a .bib (``[key]``, ``[key; other]`` (the first), ``[@key]``,
    ``@key``, ``**[key]**``, ``key.``): its first key without trailing punctuation, then as typed when that
    differs; [] when there is none."""
    match = _KEY_TOKEN.search(text)
    if not match:
        return []
    token = match.group(0)
    cleaned = token.rstrip(".:-")
    return [cleaned] if cleaned == token else [cleaned, token]


def lookup(text: str, keys) -> str | None:
    """The stored key ``text`` names (see :func:`pasted_keys`), compared exactly, then in any case; None if none."""
    keys = keys if isinstance(keys, (set, frozenset, dict)) else set(keys)
    candidates = pasted_keys(text)
    for candidate in candidates:
        if candidate in keys:
            return candidate
    lowered = {}
    for key in keys:
        lowered.setdefault(key.lower(), key)
    for candidate in candidates:
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
    return None


def closest(text: str, keys, n: int = 3) -> list[str]:
    """Up to ``n`` stored keys closest to ``text`` (for "did you mean ...")."""
    import difflib

    wanted = (pasted_keys(text) or [text.strip()])[0].lower()
    by_lower = {k.lower(): k for k in keys}
    return [by_lower[k] for k in difflib.get_close_matches(wanted, list(by_lower), n=n, cutoff=0.6)]


def assign_keys(papers: list[Paper], taken: set[str], style: str = "title-words") -> None:
    """Give every paper without a key a unique one, in list order; keys already set never change.

    ``taken`` holds keys in use elsewhere (e.g. the stored collection); the papers' existing keys and
    every new key are added to it. ``style``: see :data:`KEY_STYLES` (title keys only).
    """
    if style not in KEY_STYLES:
        from reviewer.errors import ConfigError

        raise ConfigError(f"unknown key style {style!r}: use {' or '.join(KEY_STYLES)}")
    taken.update(p.key for p in papers if p.key)
    for paper in papers:
        if not paper.key:
            paper.key = next(c for c in key_candidates(paper, style) if c not in taken)
            taken.add(paper.key)
