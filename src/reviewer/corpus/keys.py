"""Citation keys: short, readable, BibTeX-safe (``[a-z0-9]`` only), unique, never changed once assigned.

* With a first author and a year: ``{lastname}{year}{word}``, e.g. ``chen2024synapse``, where ``word``
  is the first significant word of the title (hyphens dropped: "Zero-Shot" -> "zeroshot").
* Otherwise from the title: the name before a colon when that part is short (at most 3 words:
  "Inst-IT: Boosting ..." -> ``instit``, "BDoG: ..." -> ``bdog``), else the first significant word.
  Title keys are at most 24 characters, author keys about 30.

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


def title_key(title: str) -> str:
    """Key from a title alone: the short name before a colon, else the first significant word."""
    head, colon, _ = title.partition(":")
    words = head.split()
    if colon and 1 <= len(words) <= 3:
        while len(words) > 1 and ascii_key(words[0]) in STOPWORDS | GENERIC_LEAD_WORDS:
            words = words[1:]  # "Towards Generalist Robots" -> "generalistrobots"
        key = _join_within(words, MAX_TITLE_KEY)
        if key:
            return key
    return first_significant_word(title)[:MAX_TITLE_KEY]


def _join_within(words: list[str], limit: int) -> str:
    """Words joined in key form, dropping trailing words that would pass ``limit`` (the first is cut)."""
    key = ""
    for word in (ascii_key(w) for w in words):
        if key and len(key) + len(word) > limit:
            break
        key += word
    return key[:limit]


def make_base_key(paper: Paper) -> str:
    """The key a paper gets when nothing else has it (before any collision suffix)."""
    last = last_name(paper.authors[0]) if paper.authors else ""
    if last and paper.year:
        prefix = f"{last[:15]}{paper.year}"
        return prefix + first_significant_word(paper.title)[: max(6, MAX_AUTHOR_KEY - len(prefix))]
    return title_key(paper.title) or hash_key(paper)


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


def key_candidates(paper: Paper) -> Iterator[str]:
    """The keys a paper may get, most preferred first."""
    base = make_base_key(paper)
    yield base
    if not (paper.authors and paper.year):
        for word in significant_words(paper.title):
            if word not in base and len(base) + len(word) <= MAX_TITLE_KEY:
                yield base + word
                break
    yield from candidates(base)


def assign_keys(papers: list[Paper], taken: set[str]) -> None:
    """Give every paper without a key a unique one, in list order; keys already set never change.

    ``taken`` holds keys in use elsewhere (e.g. the stored collection); the papers' existing keys and
    every new key are added to it.
    """
    taken.update(p.key for p in papers if p.key)
    for paper in papers:
        if not paper.key:
            paper.key = next(c for c in key_candidates(paper) if c not in taken)
            taken.add(paper.key)
