"""A conversation with a library: what `reviewer chat` runs on, and the same from Python.

    from reviewer import ChatSession, Library

    chat = ChatSession(Library.open(db=".reviewer"))
    print(chat.ask("How does pretraining data shape in-context learning?").text)
    print(chat.ask("What about label noise?").text)  # a follow-up: made standalone before retrieval
    md, bib = chat.export("chat.md")                 # the transcript and the .bib of what it cites

**Follow-ups.** Retrieval sees one question at a time, so a follow-up ("does it hold for small models?") is
rewritten into a standalone question before it is retrieved and answered (``Answer.question`` is that
standalone question; :attr:`Turn.standalone` keeps it beside what was typed):

* with a model: the ``condense`` prompt shows the model the recent conversation (the last
  :data:`CONTEXT_TURNS` exchanges, answers shortened) and asks for the question rewritten to stand alone
  (unchanged when it already does). A reply that is not one usable line, or that is no longer a question
  (it does not end with "?" though the follow-up did: the model answered instead), falls back to the offline
  rule.
* offline (the extractive engine): a question that *looks like a follow-up* gets the previous (standalone)
  question's topic terms appended after a dash: "What about label noise?" after "How does pretraining data
  shape in-context learning?" is retrieved as "What about label noise? — in-context learning".
  A question looks like a follow-up when it refers back (it, they, them, this, these, those, such, same,
  former, latter, ...), opens like a continuation (and, but, also, so, what about, how about, what else, tell
  me more, ...), or has fewer than three content words; one with its own topic and no reference back is left
  alone. The candidate terms are the previous question's content words (three letters or more, neither
  function words nor question or filler words such as "what", "papers", "explain"), without those the
  follow-up already has. The topic rather than the detail is carried: candidates are ranked by how many
  papers of the previous answer's evidence contain them (then by position), and only as many are kept as the
  follow-up has content words of its own (at least two), so its own words keep their weight; a follow-up
  with none ("why?", "tell me more") carries them all, up to :data:`CARRIED_TERMS`. Kept terms stay in
  their original order.

**Interrupts.** A ``KeyboardInterrupt`` (Ctrl-C) while an answer is retrieved or streamed is recorded in the
transcript as an interrupted turn (the question, no text) and raised again. The unfinished answer is never
the :attr:`ChatSession.last` answer, never context for a follow-up, and its tokens are not counted (the
server reports usage only at the end of a reply).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reviewer.chains.ask import Answer
from reviewer.corpus.model import Paper
from reviewer.errors import InputError
from reviewer.evidence import Evidence
from reviewer.grounding import UNCITED_BANNER
from reviewer.llm import Usage, command_deadline
from reviewer.text import excerpt, strip_special_tokens

__all__ = ["ChatSession", "Turn", "looks_like_follow_up", "carry_terms", "CONTEXT_TURNS", "CARRIED_TERMS"]

CONTEXT_TURNS = 4  # exchanges shown to the model when it condenses a follow-up
CARRIED_TERMS = 8  # most terms the offline rule carries into a follow-up
_ANSWER_CHARS = 600  # each earlier answer is shortened to this for the condense prompt
_MAX_STANDALONE_CHARS = 500  # a longer "question" from the condense step is not a question

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_ANAPHORS = frozenset("""
    it its it's itself they them their theirs themselves this these those such same former latter above
    aforementioned ones he she his her him
""".split())
_OPENERS = ("and ", "but ", "also", "so ", "then ", "or ", "what about", "how about", "what else", "anything else",
            "tell me more", "more on", "more about", "go on", "why so", "how so", "in that case", "compared",
            "versus", "vs")
_FUNCTION_WORDS = frozenset("""
    a an the and or but nor so yet if then than that this these those there here of in on at by for from to into
    onto with within without about above below over under between among through during before after as is are
    was were be been being am do does did done doing have has had having can could will would shall should may
    might must not no yes it its they them their we our us you your i me my he she his her him who whom whose
    which what when where why how whether all any both each every few more most other some such only own same
    very too just also again further once out up down off there's what's it's don't doesn't isn't aren't
""".split())
_FILLER_WORDS = frozenset("""
    paper papers work works study studies research article articles collection literature library author authors
    question questions answer explain describe tell show shows give list find summarize summarise compare
    discuss know known mean means say says said use used using way ways thing things kind kinds example
    examples please thanks ones one two something anything else different difference differences main
    key important role roles effect effects impact approach approaches method methods
""".split())


@dataclass
class Turn:
    """One exchange of the transcript.

    ``kind``: "ask", "compare" or "review"; ``prompt``: what was typed (the question, the methods, the topic);
    ``text``: the Markdown kept for it (an answer without the engine's note, a comparison table, where a draft
    was written); ``papers``: the papers it cites; ``standalone``: the question as retrieved, when a follow-up
    was rewritten, and ``rewrite`` how ("model" or "terms"); ``files``: what it wrote.
    """

    kind: str
    prompt: str
    text: str = ""
    papers: list[Paper] = field(default_factory=list)
    answer: Answer | None = None
    standalone: str | None = None
    rewrite: str | None = None
    interrupted: bool = False
    result: object = None  # the Comparison or Draft of a compare / review turn
    files: list[Path] = field(default_factory=list)

    @property
    def question(self) -> str:
        """What was retrieved: the standalone question, else what was typed."""
        return self.standalone or self.prompt


class ChatSession:
    """A multi-turn conversation bound to one library (the same behaviour as `reviewer chat`).

    ``llm``: the model (default: ``library.llm()``; None there means the extractive engine answers);
    ``k``: papers retrieved per answer; ``use_cache``: reuse identical earlier model replies;
    ``allow_uncited``: show replies that cite nothing, marked (see :mod:`reviewer.grounding`).

    Attributes: ``turns`` (the transcript, oldest first), ``last`` (the last complete :class:`Answer`, None after
    :meth:`clear`), ``usage`` (tokens and cost of every model call of the session, including the condensing of
    follow-ups, comparisons and reviews).
    """

    def __init__(self, library, *, llm=None, k: int = 8, use_cache: bool = True, allow_uncited: bool = False):
        self.library = library
        self.llm = llm if llm is not None else library.llm()
        self.k = k
        self.use_cache = use_cache
        self.allow_uncited = allow_uncited
        self.turns: list[Turn] = []
        self.last: Answer | None = None
        self.usage = Usage()
        self._context: list[Turn] = []  # answered turns since the last clear(): what follow-ups refer to
        self._titles: dict[str, str] | None = None

    @property
    def engine(self) -> str:
        """"llm" when a model answers, "extractive" when none is configured."""
        return "llm" if self.llm is not None else "extractive"

    # -- asking --------------------------------------------------------------------------------------
    def ask(self, question: str, *, on_token: Callable[[str], None] | None = None,
            on_rewrite: Callable[[str], None] | None = None) -> Answer:
        """A grounded answer to ``question``, a follow-up being first made standalone (see the module notes).

        ``on_token`` receives the reply as it streams (the extractive engine's, whole, at once); ``on_rewrite``
        receives the standalone question, before retrieval, when it differs from ``question``.
        """
        question = " ".join(question.split())
        if not question:
            raise InputError("the question is empty")
        turn = Turn("ask", question)
        try:
            with command_deadline(self.llm):  # the condense step and the answer share one deadline
                standalone, how = self.standalone(question)
                if how:
                    turn.standalone, turn.rewrite = standalone, how
                    if on_rewrite:
                        on_rewrite(standalone)
                answer = self.library.ask(standalone, k=self.k, llm=self.llm, on_token=on_token,
                                          use_cache=self.use_cache, focus=question if how == "terms" else None,
                                          allow_uncited=self.allow_uncited)
        except KeyboardInterrupt:
            turn.interrupted = True
            self.turns.append(turn)
            raise
        self.usage.add(answer.usage)
        turn.answer, turn.text, turn.papers = answer, body(answer), list(answer.citations)
        self.turns.append(turn)
        self._context.append(turn)
        self.last = answer
        return answer

    def standalone(self, question: str) -> tuple[str, str | None]:
        """(the question to retrieve, how it was rewritten: "model", "terms" or None when it is unchanged)."""
        if not self._context:
            return question, None
        if self.llm is not None:
            rewritten = self._condense(question)
            if rewritten is not None:
                return (question, None) if rewritten == question else (rewritten, "model")
        previous = self._context[-1]
        evidence = [f"{e.title} {e.abstract}" for e in previous.answer.evidence] if previous.answer else []
        carried = carry_terms(question, previous.question, evidence)
        return (carried, "terms") if carried != question else (question, None)

    def _condense(self, question: str) -> str | None:
        """The model's standalone version of ``question``, or None when its reply is not a usable question: not
        one line of words, or (when ``question`` ends with "?") not ending with "?" (a model that answers
        instead of rewriting)."""
        from reviewer import prompts

        messages = prompts.load("condense").render(conversation=self._conversation(), question=question)
        completion = self.llm.complete(messages, use_cache=self.use_cache,
                                       max_tokens=self.llm.settings.condense_max_tokens)
        self.usage.add(completion.usage)
        rewritten = _one_question(completion.text)
        if rewritten is not None and question.endswith("?") and not rewritten.endswith("?"):
            return None
        return rewritten

    def _conversation(self) -> str:
        lines = []
        for turn in self._context[-CONTEXT_TURNS:]:
            lines.append(f"User: {turn.question}")
            lines.append(f"Assistant: {excerpt(turn.text, _ANSWER_CHARS)}")
        return "\n".join(lines)

    def sources(self) -> list[Evidence]:
        """The evidence of the last answer, most relevant first (empty before the first answer)."""
        return list(self.last.evidence) if self.last else []

    def clear(self) -> None:
        """Start a new topic: follow-ups no longer refer to earlier questions and there is no last answer.
        The transcript (for :meth:`export`) and the usage are kept."""
        self._context.clear()
        self.last = None

    # -- the rest of the library ---------------------------------------------------------------------
    def search(self, query: str, k: int = 10):
        """The ``k`` papers most relevant to ``query`` (see :meth:`reviewer.Library.search`)."""
        return self.library.search(query, k=k)

    def show(self, key: str) -> Paper:
        """One paper by key (raises NotFoundError naming how to find keys). The key may be pasted as an answer
        shows it: ``[key]``, ``[key; other]`` (the first), ``[@key]``, ``**[key]**``, ``key.``."""
        if not paper_keys(key):
            raise InputError(f"{key.strip()!r} is not a paper key: `/search WORDS` lists keys")
        return self.library.get(key)

    def compare(self, methods: Sequence[str], **options):
        """A comparison of ``methods`` (see :meth:`reviewer.Library.compare`), added to the transcript."""
        methods = [m.strip() for m in methods if m and m.strip()]
        if len(methods) < 2:
            raise InputError("name at least two methods to compare, "
                             "e.g. `/compare chain-of-thought | self-consistency`")
        comparison = self.library.compare(methods, llm=self.llm, use_cache=self.use_cache, **options)
        self.usage.add(comparison.usage)
        self.turns.append(Turn("compare", " | ".join(methods), comparison.to_markdown(), list(comparison.citations()),
                               result=comparison))
        return comparison

    def review(self, topic: str, *, directory: str | Path | None = None, **options):
        """A related-work draft on ``topic`` (see :meth:`reviewer.Library.review`), added to the transcript;
        with ``directory``, its files are written there too (``Turn.files`` lists them)."""
        draft = self.library.review(topic, llm=self.llm, use_cache=self.use_cache, **options)
        self.usage.add(draft.usage)
        files = [Path(p) for p in draft.write(directory)] if directory is not None else []
        cited = draft.citations()
        where = f"; files in `{directory}`" if directory is not None else ""
        summary = (f"A related-work draft of {len(draft.sections)} section(s) citing {len(cited)} paper(s), "
                   f"{len(draft.flagged)} sentence(s) flagged as unsupported{where}.")
        self.turns.append(Turn("review", topic.strip(), summary, list(cited), result=draft, files=files))
        return draft

    def titles(self) -> dict[str, str]:
        """Every paper's title by key (read once per session: for completing keys)."""
        if self._titles is None:
            self._titles = {key: record.paper.title for key, record in sorted(self.library.records().items())}
        return self._titles

    def describe_model(self) -> dict[str, str]:
        """What answers: engine, model, endpoint and the settings that matter (never a key)."""
        if self.llm is None:
            return {"engine": "extractive (no LLM configured: set REVIEWER_LLM__BASE_URL or OPENAI_API_KEY)",
                    "papers per answer": str(self.k)}
        from reviewer.llm import endpoint_name

        settings = self.llm.settings
        return {"engine": "llm", "model": self.llm.model_name, "endpoint": endpoint_name(settings),
                "temperature": f"{settings.temperature:g}", "max tokens": str(settings.max_tokens),
                "evidence budget": f"{settings.evidence_tokens} tokens", "papers per answer": str(self.k),
                "response cache": "on" if self.use_cache and self.llm.cache is not None else "off"}

    # -- export --------------------------------------------------------------------------------------
    def cited_papers(self) -> list[Paper]:
        """Every paper the transcript cites, in order of first citation."""
        seen: dict[str, Paper] = {}
        for turn in self.turns:
            for paper in turn.papers:
                seen.setdefault(paper.key, paper)
        return list(seen.values())

    def to_markdown(self) -> str:
        """The transcript as Markdown: one section per turn, then a references list of every cited key."""
        engine = "extractive (no LLM configured: answers quote the papers)" if self.llm is None \
            else f"{self.llm.model_name}"
        lines = [f"# Chat with the library `{self.library.settings.db}`", "",
                 f"*{datetime.now():%Y-%m-%d %H:%M} · engine: {engine} · {len(self.library)} papers*", ""]
        for turn in self.turns:
            heading = {"ask": "", "compare": "Comparison: ", "review": "Review: "}[turn.kind]
            lines += [f"## {heading}{turn.prompt}", ""]
            if turn.standalone:
                lines += [f"*Searched as: {turn.standalone}*", ""]
            if turn.interrupted:
                lines += ["*(interrupted)*", ""]
                continue
            if turn.answer is not None and turn.answer.status == "uncited":
                lines += [f"> **{UNCITED_BANNER}**", ""]
            lines += [turn.text.strip(), ""]
            if turn.answer is not None and turn.answer.rejected:
                lines += [f"*{turn.answer.rejected[0].upper()}{turn.answer.rejected[1:]}*", ""]
            if turn.papers:
                lines += ["Sources: " + ", ".join(f"[{p.key}]" for p in turn.papers), ""]
        papers = self.cited_papers()
        if papers:
            lines += ["## References", ""] + [f"- **[{p.key}]** {reference(p)}" for p in papers] + [""]
        return "\n".join(lines)

    def export(self, path: str | Path, *, force: bool = False) -> tuple[Path, Path]:
        """Write the transcript to ``path`` (Markdown; ``.md`` is added when it has no suffix) and the BibTeX of
        every cited paper beside it (same name, ``.bib``). A ``.bib`` path names the BibTeX: the transcript goes
        beside it, as ``.md`` (``chat.bib`` -> ``chat.md`` and ``chat.bib``). An existing file is never replaced
        unless ``force``: ``chat-2.md`` and ``chat-2.bib`` (then ``-3``, ...) are written instead. Returns the
        (Markdown path, BibTeX path) written; raises InputError when ``path`` is a folder or cannot be written."""
        from reviewer.citations import bibtex

        md = Path(path).expanduser()
        if not md.name or md.is_dir():
            raise InputError(f"{path} is a folder: give a file name, e.g. `/export {Path(path) / 'chat.md'}`")
        if not md.suffix or md.suffix.lower() == ".bib":
            md = md.with_suffix(".md")
        stem, number = md.stem, 1
        while not force and (md.exists() or md.with_suffix(".bib").exists()):
            number += 1
            md = md.with_name(f"{stem}-{number}{md.suffix}")
        bib = md.with_suffix(".bib")
        try:
            md.parent.mkdir(parents=True, exist_ok=True)
            md.write_text(self.to_markdown(), encoding="utf-8")
            bib.write_text(bibtex(self.cited_papers()), encoding="utf-8")
        except OSError as exc:
            where = exc.filename or md
            raise InputError(f"cannot write {where}: {exc.strerror or exc}; export to a folder you can write to, "
                             f"e.g. `/export {Path.cwd() / md.name}`") from exc
        return md, bib


# -- follow-ups without a model ----------------------------------------------------------------------
def _words(text: str) -> list[str]:
    return [w.lower().strip("'-") for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry its topic: three letters or more, not function, question or filler
    words; in order, without repeats."""
    out: list[str] = []
    for word in _words(text):
        if len(word) >= 3 and word not in _FUNCTION_WORDS and word not in _FILLER_WORDS and word not in out:
            out.append(word)
    return out


def looks_like_follow_up(question: str) -> bool:
    """True when ``question`` refers back (a pronoun such as "it" or "these"), opens like a continuation
    ("and", "what about", ...) or has fewer than three content words of its own."""
    lowered = " ".join(question.lower().split())
    if any(word in _ANAPHORS for word in _words(lowered)):
        return True
    if lowered.startswith(_OPENERS):
        return True
    return len(content_words(question)) < 3


def carry_terms(question: str, previous: str, evidence: Sequence[str] = (), limit: int = CARRIED_TERMS) -> str:
    """``question`` with the topic terms of ``previous`` appended after " — " when it looks like a follow-up
    (see :func:`looks_like_follow_up`), else ``question`` unchanged. ``evidence``: the texts of the papers
    ``previous`` was answered from; terms more of them contain are the topic and are carried first."""
    if not looks_like_follow_up(question):
        return question
    own = set(_words(question))
    candidates = [t for t in content_words(previous) if t not in own]
    texts = [t.lower() for t in evidence]
    shared = {t: sum(t in text for text in texts) for t in candidates}
    own_count = len(content_words(question))
    keep = limit if own_count == 0 else min(limit, max(2, own_count))
    chosen = set(sorted(candidates, key=lambda t: (-shared[t], candidates.index(t)))[:keep])
    terms = [t for t in candidates if t in chosen]
    return f"{question} — {' '.join(terms)}" if terms else question


# -- helpers -----------------------------------------------------------------------------------------
def body(answer: Answer) -> str:
    """The answer's text (the extractive engine's notice is :attr:`Answer.notice`, never part of it)."""
    return answer.text


def paper_keys(text: str) -> list[str]:
    """The key in ``text`` as pasted (see :func:`reviewer.corpus.keys.pasted_keys`)."""
    from reviewer.corpus.keys import pasted_keys

    return pasted_keys(text)


def reference(paper: Paper) -> str:
    """One line of a references list: authors (year). Title. Venue. DOI or arXiv id or URL."""
    authors = paper.authors[:3]
    names = ", ".join(authors) + (" et al." if len(paper.authors) > 3 else "")
    head = f"{names} ({paper.year})" if names and paper.year else (names or (f"({paper.year})" if paper.year else ""))
    parts = [head, f"*{' '.join(paper.title.split())}*", paper.venue or ""]
    if paper.doi:
        parts.append(f"doi:{paper.doi}")
    elif paper.arxiv_id:
        parts.append(f"arXiv:{paper.arxiv_id}")
    elif paper.url:
        parts.append(paper.url)
    return ". ".join(p.rstrip(".") for p in parts if p) + "."


_PREAMBLE = re.compile(r"^(standalone question|rewritten question|question)\s*:\s*", re.I)


def _one_question(reply: str) -> str | None:
    """The first line of a condense reply, without a preamble or quotes; None when it is not a question-sized
    line of words."""
    text = strip_special_tokens(reply)
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = _PREAMBLE.sub("", line).strip().strip("\"'`“”").strip()
    if len(line) > _MAX_STANDALONE_CHARS or len(re.findall(r"[^\W\d_]{2,}", line)) < 2:
        return None
    return line
