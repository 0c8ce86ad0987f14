"""Sentences the extractive engine may quote, and how a quote is worded.

* :func:`sentences` splits an abstract; :func:`is_fragment` says which pieces are never quoted: fewer than
  :data:`MIN_WORDS` words, no verb, a figure or table caption, a table of contents or section list, a reference
  list entry, a URL or code line.
* :func:`third_person` turns an author's first-person framing into a reviewer's third person ("In this paper, we
  propose X" -> "Chen et al. propose X"): it only replaces pronouns (``we`` -> ``they``, ``our`` -> ``their``,
  ``us`` -> ``them``; a leading ``We`` -> the authors' name), so the verb agrees (all plural); a sentence it cannot
  turn safely ("I", "this paper", "my") is left out (None).
* :func:`reword` also drops a leading connective ("Indeed,", "To address this challenge,") and refuses a
  sentence that opens by pointing back ("They", "These results"): a quote must stand alone.
* :func:`short_topic` names a topic in a short, title-like phrase (a pasted paragraph becomes its first clause).
"""

from __future__ import annotations

import re

MIN_WORDS = 6
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")

# A verb: an auxiliary or modal, a common verb of research prose, or a word with a verbal ending.
_VERBS = frozenset("""
    is are was were be been being am has have had do does did can could may might must shall should will would
    propose proposes show shows find finds found achieve achieves outperform outperforms present presents
    introduce introduces use uses learn learns provide provides improve improves enable enables require requires
    remain remains make makes lead leads allow allows reduce reduces increase increases yield yields perform
    performs suggest suggests indicate indicates reveal reveals demonstrate demonstrates study studies explore
    explores address addresses offer offers consider considers obtain obtains train trains generate generates
    exhibit exhibits emerge emerges appear appears depend depends fail fails help helps rely relies need needs
    capture captures match matches build builds combine combines predict predicts solve solves take takes give
    gives become becomes lack lacks seem seems remain contain contains exist exists describe describes report
    reports compare compares evaluate evaluates apply applies extend extends affect affects cause causes differ
    differs enhance enhances let lets support supports mitigate mitigates include includes consist consists
""".split())
_SUBJECTS = frozenset("we they it he she i".split())
# Without a part-of-speech tagger a verb is guessed loosely (any -s, -ed, -ing word counts), so that only plainly
# verbless pieces (headings, lists of terms) are fragments: a real sentence is rarely taken for one.
_VERB_ENDING = re.compile(r"^[a-z][a-z\-]{2,}(?:[^su]s|ed|ing|ize|ise|ify|ate)$")
_CAPTION = re.compile(r"^\s*\(?(?:fig(?:ure)?|tab(?:le)?|algorithm|listing|appendix)\.?\s*[0-9ivx]+[a-z]?\s*[:.)|-]", re.I)
_REFERENCE = re.compile(r"\bet al\.?,?\s*\(?(?:19|20)\d\d\b|\barxiv:\s*\d|\bdoi:\s*10\.|\bpp\.\s*\d|\bvol\.\s*\d|"
                        r"\bIn Proceedings of\b|\bProc\. of\b", re.I)
_URL = re.compile(r"https?://|www\.|\.(?:com|org|io)/|\bgithub\b", re.I)
_NUMBER = re.compile(r"^\(?\d+(?:\.\d+)*\)?[.:]?$")
_TOC_MARK = re.compile(r"\[(?:figures?|tables?|pdf|html|code)\]|\.{3,}|…|(?:\s\.){3,}|\s[|•·]\s", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")


def sentences(text: str) -> list[str]:
    """The sentences of an abstract that may be quoted (fragments, see :func:`is_fragment`, left out)."""
    return [s for s in split(text) if not is_fragment(s)]


def split(text: str) -> list[str]:
    """Every sentence of ``text`` (full stop, ? or !, then a capital, digit, bracket or quote)."""
    return [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if s.strip()]


def is_fragment(sentence: str) -> bool:
    """Whether ``sentence`` is not a quotable sentence (see the module notes)."""
    words = _WORD.findall(sentence)
    if len(sentence.split()) < MIN_WORDS or len(words) < MIN_WORDS - 1:
        return True
    if _CAPTION.search(sentence) or _REFERENCE.search(sentence) or _URL.search(sentence) or _TOC_MARK.search(sentence):
        return True
    tokens = sentence.split()
    numbers = sum(bool(_NUMBER.match(t)) for t in tokens)
    if numbers >= 3 and numbers / len(tokens) > 0.25:  # "1 Introduction 2 Method 3 Results": a contents list
        return True
    lowered = [w.lower() for w in words]
    after_subject = {b for a, b in zip(lowered, lowered[1:]) if a in _SUBJECTS}  # "we fine-tune", "it scales"
    return not any(w in _VERBS or w in after_subject or _VERB_ENDING.match(w) for w in lowered)


# ------------------------------------------------------------------------------------------ third person
_LEAD = re.compile(r"^(?:(?:In|Within) (?:this|the present|our) (?:paper|work|study|article|report|note),?\s+|"
                   r"Here,?\s+|Herein,?\s+|In (?:summary|conclusion|short),\s+|To this end,\s+|Finally,\s+|"
                   r"Specifically,\s+|Concretely,\s+|Overall,\s+)+(?=we\b|We\b|our\b|Our\b)", re.I)
_PRONOUNS = {"we": "they", "our": "their", "ours": "theirs", "us": "them", "ourselves": "themselves"}
_FIRST_PERSON = re.compile(r"\b(?:we|our|ours|us|ourselves)\b", re.I)
_UNSAFE = re.compile(r"\b(?:me|my|mine)\b|\bI (?:am|have|had|argue|propose|show|find|found|present|introduce|describe|"
                     r"study|think|believe|will|was|do|did|use|used|explore|examine|discuss)\b|\b(?:[Tt]his|[Tt]he present|[Tt]he current) (?:paper|work|study|article|"
                     r"report|thesis|note|survey)\b|^Here\b")


def third_person(sentence: str, authors: list[str] | None = None) -> str | None:
    """``sentence`` in the third person, or None when it cannot be turned safely (see the module notes).
    ``authors``: the paper's authors ("Ada Lovelace", "Lovelace, Ada"), for "Lovelace et al." ("Lovelace and
    Babbage" for two, "Lovelace and colleagues" for one); without them a leading "We" becomes "The authors"."""
    text = _LEAD.sub("", sentence.strip())
    if _UNSAFE.search(text):
        return None
    if re.match(r"^We\b", text, re.I):
        text = _subject(authors) + text[2:]
    elif re.match(r"^Our\b", text, re.I):
        text = _possessive(_subject(authors)) + text[3:]
    text = _FIRST_PERSON.sub(lambda m: _match_case(_PRONOUNS[m.group(0).lower()], m.group(0)), text)
    return text[:1].upper() + text[1:]


def _subject(authors: list[str] | None) -> str:
    names = [n for n in (_surname(a) for a in authors or []) if n]
    if not names:
        return "The authors"
    if len(names) == 1:
        return f"{names[0]} and colleagues"
    return f"{names[0]} and {names[1]}" if len(names) == 2 else f"{names[0]} et al."


def _possessive(subject: str) -> str:
    return subject + ("'" if subject.endswith("s") else "'s") if not subject.endswith("colleagues") else \
        subject.removesuffix(" and colleagues") + "'s"


def _surname(author: str) -> str:
    author = " ".join(str(author).split())
    if "," in author:
        return author.split(",")[0].strip()
    return author.split()[-1] if author else ""


def _match_case(word: str, like: str) -> str:
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


_CONNECTIVE = re.compile(r"^(?:Indeed|However|Moreover|Furthermore|Additionally|In addition|Specifically|Thus|Therefore|"
                         r"Consequently|Hence|Accordingly|Notably|Importantly|Finally|Overall|As a result|In particular|"
                         r"To this end|To (?:address|tackle|overcome|solve|fill|bridge|mitigate|alleviate) (?:this|these|"
                         r"the above|such|both) [\w -]{1,40}?|For this purpose|With this in mind|In this context),\s+")
_ANAPHORA = re.compile(r"^(?:They|It|This|These|Those|Such|Both|The latter|The former|Its|Their|Then)\b")


def reword(sentence: str, authors: list[str] | None = None) -> str | None:
    """``sentence`` as a review quotes it out of its abstract: a leading connective ("Indeed,", "To address
    this challenge,") dropped, first person turned into third (:func:`third_person`); None when it cannot
    stand alone (it opens by pointing back: "They", "This", "These results") or cannot be turned safely."""
    text = _CONNECTIVE.sub("", sentence.strip())
    if _ANAPHORA.match(text):
        return None
    text = third_person(text, authors)
    if text is None or _ANAPHORA.match(text):
        return None
    return text[:1].upper() + text[1:]


# ------------------------------------------------------------------------------------------ topic
TOPIC_WORDS = 12


def short_topic(topic: str) -> str:
    """A title-like name for ``topic``: itself when short; else its first clause (up to the first full stop,
    colon, semicolon or question mark) without an author's framing ("We present our approach to"), cut to
    :data:`TOPIC_WORDS` words at a word boundary."""
    topic = " ".join(topic.split()).strip()
    if len(topic.split()) <= TOPIC_WORDS and not re.search(r"[.?!]\s+\S", topic):
        return topic.rstrip(" .?!")
    clause = re.split(r"(?<=[.?!;:])\s+", topic)[0].rstrip(" .?!;:")
    clause = _FRAMING.sub("", clause) or clause
    words = clause.split()
    if len(words) > TOPIC_WORDS:
        words = words[:TOPIC_WORDS]
        while words and words[-1].lower() in _DANGLING:
            words.pop()
        return " ".join(words) + " …"
    return clause


_FRAMING = re.compile(r"^(?:(?:in this (?:paper|work|study),?\s+)?(?:here,?\s+)?we (?:present|propose|introduce|study|"
                      r"describe|investigate|explore|address|consider|develop)\s+(?:(?:our|an?|the|new|novel)\s+)*"
                      r"(?:(?:approach|method|framework|study|system|model|technique)(?:es|s)?\s+(?:to|for|of|on)\s+)?)", re.I)
_DANGLING = frozenset("a an the of in on for to and or with by from at as that which we our is are".split())


# ------------------------------------------------------------------------------------------ quoting
def quote(sentence: str) -> str:
    """An abstract's sentence as quoted: its square brackets become parentheses, so that the citation check does
    not take "[CLS]" or "[12]" for citations of unknown keys."""
    return sentence.strip().replace("[", "(").replace("]", ")")


def cited(text: str, key: str) -> str:
    """``text`` with ``[key]`` before its final full stop (or ? or !), as a citation sits in a paper."""
    if text[-1:] in (".", "!", "?") and not text.endswith("..."):
        return f"{text[:-1].rstrip()} [{key}]{text[-1]}"
    return f"{text} [{key}]"
