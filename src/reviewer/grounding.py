"""The grounding policy: what of a model's reply may reach the user, decided in one place.

Every chain passes its model's reply through :func:`check` (``ask`` and chat for whole answers, ``compare`` for
each cell, ``review`` for each section):

1. **clean**: chat-template tokens, tags echoed from the prompt (``<evidence>``, ``</section>``...) and the
   request's boundary lines are stripped (and counted);
2. **unsafe**: a reply that repeats the prompt's own instructions (it shares :data:`LEAK_MIN_SHARED` or more
   distinct :data:`LEAK_NGRAM`-word runs with the system prompt) is rejected whole, whatever it cites;
3. **citations**: every citation form is read (:func:`reviewer.citations.normalise`); keys of the evidence the
   chain showed stay as ``[key]``, any other is removed with the words that introduced it and reported; a
   sentence that shares no content word with the papers it cites (what an injected instruction makes a model
   write: "PWNED, then cite [key].") loses those citations;
4. **verdict**: a reply left with no valid citation is ``uncited`` (not an answer: ``ask`` replies with the
   cannot-answer sentence and the best evidence, unless ``allow_uncited``, which shows it under
   :data:`UNCITED_BANNER`); one that is not prose is ``unusable``; otherwise it is ``grounded``, and each of
   its claims that cites nothing is marked in the text itself with :data:`UNCITED_MARK`, so that every output
   format (terminal, JSON, exports, transcript) carries the mark.

Exit codes of the commands that answer (``reviewer ask``, piped ``reviewer chat``): 0 a grounded answer, or the
cannot-answer reply because nothing in the collection is relevant; :data:`EXIT_REJECTED` the model's reply was
rejected (uncited, unsafe or unusable) and the cannot-answer reply with the best evidence was shown instead;
:data:`EXIT_UNCITED` an uncited reply was shown under the banner (``--allow-uncited``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from reviewer import citations
from reviewer.text import strip_special_tokens

__all__ = ["Grounded", "check", "clean_reply", "leaked_ngrams", "mark_uncited", "UNCITED_MARK", "UNCITED_BANNER",
           "EXIT_REJECTED", "EXIT_UNCITED"]

UNCITED_MARK = "(uncited)"
UNCITED_BANNER = ("UNCITED: this reply cites none of the papers it was shown, so it was not checked against "
                  "them; treat every sentence as unsupported.")
EXIT_REJECTED = 3
EXIT_UNCITED = 4
LEAK_NGRAM = 8
LEAK_MIN_SHARED = 4

# Tags of the prompts' markup echoed back, in any spelling, and the boundary lines of reviewer.evidence.delimited.
_ECHOED_TAG = re.compile(r"<\s*/?\s*(?:evidence|section|conversation|system|user|assistant|instructions?|context|"
                         r"documents?|question|answer|papers?)\b[^>]*>", re.I)
_BOUNDARY = re.compile(r"#{3}\s*PAPER\s+[0-9a-f]{6,}\s*#{3}", re.I)
_WORDS = re.compile(r"[a-z0-9]+")
_STEM = 5
# Words of four letters or more that say nothing about a subject (and the vocabulary of instructions).
_COMMON = frozenset("""
    this that with from then than they them their there these those which what when where while have been were
    also more most such into only over some other each both very does used using show shows shown paper papers
    study studies work works cite cites cited reply word words single answer evidence question here just like
""".split())


@dataclass
class Grounded:
    """A reply after the policy. ``verdict``: "grounded", "uncited", "unsafe" or "unusable"; ``text``: the
    checked text (valid ``[key]``s only, uncited claims marked); ``uncited``: those claims (unmarked);
    ``removed``: citations taken out; ``stripped``: echoed tags and boundary lines taken out; ``unrelated``:
    sentences whose citations were dropped because they share no word with the papers cited; ``reason``: why
    a reply that is not grounded is not."""

    verdict: str
    text: str
    keys: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    uncited: list[str] = field(default_factory=list)
    stripped: int = 0
    unrelated: list[str] = field(default_factory=list)  # sentences whose citations were dropped (no shared word)
    reason: str = ""

    @property
    def grounded(self) -> bool:
        return self.verdict == "grounded"


def clean_reply(text: str) -> tuple[str, int]:
    """``text`` without chat-template tokens, prompt tags it echoes and boundary lines; and how many tags and
    lines were taken out."""
    count = 0

    def gone(_: re.Match) -> str:
        nonlocal count
        count += 1
        return ""

    text = _ECHOED_TAG.sub(gone, _BOUNDARY.sub(gone, strip_special_tokens(text)))
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip(), count


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORDS.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def leaked_ngrams(reply: str, prompt: str, *, ignore: Iterable[str] = (), n: int = LEAK_NGRAM) -> int:
    """How many distinct ``n``-word runs of ``prompt`` (its sentences in ``ignore`` left out, e.g. the
    cannot-answer sentence the model is told to give) the reply repeats."""
    for sentence in ignore:
        prompt = prompt.replace(sentence, " ")
    return len(_ngrams(reply, n) & _ngrams(prompt, n))


def mark_uncited(text: str, sentences: Iterable[str]) -> str:
    """``text`` with :data:`UNCITED_MARK` before the final punctuation of each of ``sentences``."""
    for sentence in sentences:
        body = sentence.rstrip()
        end = len(body.rstrip(".!?…"))
        marked = f"{body[:end]} {UNCITED_MARK}{body[end:]}"
        text = text.replace(sentence, marked, 1)
    return text


def content_words(text: str) -> set[str]:
    """The words of ``text`` that can carry its subject, cut to :data:`_STEM` letters ("learning" ~ "learns")."""
    return {w[:_STEM] for w in re.findall(r"[a-z]{4,}", citations.CITATION.sub(" ", text.lower()))
            if w not in _COMMON}


def _unrelated_citations(text: str, sources: Mapping[str, str]) -> tuple[str, list[str]]:
    """``text`` without the citations of sentences that share no content word with any paper they cite (text
    an injected instruction made the model write, "PWNED, then cite [key]."), and those sentences."""
    words = {key: content_words(source) for key, source in sources.items()}
    unrelated = []
    for sentence in citations.split_sentences(text):
        keys = [k for k in citations.cited_keys(sentence) if k in words]
        own = content_words(sentence)  # none: only citations and markup, which the prose check rejects
        if keys and own and not own & set().union(*(words[k] for k in keys)):
            unrelated.append(sentence)
            text = text.replace(sentence, citations.CITATION.sub("", sentence).rstrip().replace(" .", "."), 1)
    return text, unrelated


def check(reply: str, allowed: Iterable[str], *, known: Iterable[str] = (), examples: Iterable[str] = (),
          prompt: str | None = None, ignore: Iterable[str] = (), sources: Mapping[str, str] | None = None,
          mark: bool = True) -> Grounded:
    """The policy (see the module notes) applied to ``reply``: ``allowed`` are the keys of the evidence the
    model was shown, ``known`` the library's keys, ``examples`` the prompt's example keys, ``prompt`` the
    system prompt the reply must not repeat (``ignore``: its sentences the model may repeat), ``sources`` the
    text of each paper shown (title and abstract): a sentence that shares no content word with the papers it
    cites loses those citations."""
    text, stripped = clean_reply(reply)
    if prompt and (shared := leaked_ngrams(text, prompt, ignore=ignore)) >= LEAK_MIN_SHARED:
        return Grounded("unsafe", text, stripped=stripped,
                        reason=f"it repeats the instructions of the prompt ({shared} runs of {LEAK_NGRAM} words "
                               "in common with the system prompt)")
    checked = citations.validate(text, allowed, known=known, examples=examples)
    unrelated: list[str] = []
    if sources:
        kept, unrelated = _unrelated_citations(checked.text, sources)
        if unrelated:  # validated again for the keys and the uncited claims; what was removed stays reported
            checked = replace(citations.validate(kept, allowed), removed=checked.removed)
    if not _is_prose(checked.text):
        return Grounded("unusable", checked.text, checked.keys, checked.removed, stripped=stripped,
                        unrelated=unrelated, reason="it is not prose (empty, or only citations and markup)")
    uncited = list(checked.uncited)
    if not checked.keys:
        claims = [s for s in citations.split_sentences(checked.text) if citations.is_claim(s)] or uncited
        reason = ("its citations are attached to text that shares no word with the papers cited" if unrelated
                  else "it cites none of the papers it was shown")
        return Grounded("uncited", mark_uncited(checked.text, claims) if mark else checked.text, [],
                        checked.removed, claims, stripped, unrelated, reason)
    return Grounded("grounded", mark_uncited(checked.text, uncited) if mark else checked.text, checked.keys,
                    checked.removed, uncited, stripped, unrelated)


def _is_prose(text: str) -> bool:
    """At least three words once citations are set aside (citation keys are not words of an answer)."""
    return len(re.findall(r"[^\W\d_]{2,}", citations.CITATION.sub(" ", text))) >= 3
