"""The chat loop of `reviewer chat`: prompt_toolkit reads, a :class:`~reviewer.session.ChatSession` does the
work, Rich prints.

Interactive (stdin is a terminal): persistent input history (up-arrow, and grey suggestions from it),
Tab completes slash commands, paper keys after ``/show``, file names after ``/export`` and folders after
``/review TOPIC --out``; a reply streams into a provisional region, replaced by the checked answer (see
:mod:`reviewer.grounding`), then the sources it cites. Ctrl-C while an answer is
on its way stops it, prints "(interrupted)" and returns to the prompt (the unfinished answer is not kept, see
:mod:`reviewer.session`); Ctrl-C at the prompt clears the line; Ctrl-D (or ``/quit``) leaves.

Piped (stdin is not a terminal): one question or slash command per line (empty lines and lines starting
with ``#`` are skipped), each echoed as ``> line`` and answered in plain text without streaming;
notes (the extractive engine's, for answers and for ``/compare`` tables), warnings and errors go to stderr. The
exit status is 1 when any line failed, else 3 when a reply was rejected, 4 when an uncited one was shown.

An error never ends the session: a :class:`~reviewer.errors.ReviewerError` is printed as ``error: ...``; any
other exception is a bug, printed as ``error: unexpected TYPE: ... (at file:line)``, and the chat goes on (so
the transcript can still be exported).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from prompt_toolkit.completion import Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from reviewer.chains.compare import NO_LLM_NOTE as COMPARE_NOTE
from reviewer.cli.output import Provisional, print_checked_answer
from reviewer.errors import InputError, ReviewerError
from reviewer.extractive import NO_LLM_NOTE
from reviewer.session import ChatSession, body
from reviewer.text import excerpt

# name: (argument, what it does)
COMMANDS: dict[str, tuple[str, str]] = {
    "/help": ("", "this list"),
    "/search": ("QUERY", "the papers most relevant to QUERY"),
    "/show": ("KEY", "one paper: metadata, provenance and abstract (Tab completes keys)"),
    "/compare": ("A | B", "compare two or more methods side by side, every cell cited"),
    "/review": ("TOPIC [--out DIR]", "write a related-work draft on TOPIC to out/<topic>/, or to DIR"),
    "/sources": ("", "the evidence of the last answer"),
    "/export": ("FILE", "the transcript as Markdown, with the cited papers' .bib beside it (x.bib: x.md + x.bib)"),
    "/model": ("", "the engine, model and endpoint answering"),
    "/cost": ("", "tokens and cost of this session"),
    "/clear": ("", "start a new topic: follow-ups no longer refer to earlier questions"),
    "/quit": ("", "leave (Ctrl-D also)"),
}
ALIASES = {"/exit": "/quit", "/q": "/quit", "/?": "/help"}
INTERRUPTED = "(interrupted)"
PROMPT = "> "


class Repl:
    """The chat front end over ``session``.

    ``console``: where answers go (injectable for tests); ``err_console``: notes, warnings and errors (default:
    ``console``); ``plain``: the piped mode (no streaming, no spinner, each input echoed); ``out_dir``: where
    ``/review`` writes drafts (one folder per topic); ``log``: record each answer, comparison and review in the
    answer log (:mod:`reviewer.logs`, unless the ``log`` setting is off).
    """

    def __init__(self, session: ChatSession, *, console: Console | None = None, err_console: Console | None = None,
                 plain: bool = False, out_dir: str | Path = "out", log: bool = False):
        self.session = session
        self.console = console or Console()
        self.err = err_console or self.console
        self.plain = plain
        self.out_dir = Path(out_dir)
        self.failures = 0
        self.exit_codes: set[int] = set()  # of the answers given (see reviewer.grounding)
        self._compare_noted = False
        self.log = log

    def _record(self, command: str, prompt: str, result, started, text: str | None = None) -> None:
        from reviewer import logs

        logs.record(self.session.library, logs.entry_for(command, prompt, result, self.session.library, text=text,
                                                         seconds=started.seconds, llm=self.session.llm),
                    enabled=self.log)

    # -- the two loops -------------------------------------------------------------------------------
    def interactive(self, *, history=None, input=None, output=None) -> None:
        """Read lines with prompt_toolkit until Ctrl-D or /quit. ``history``: a prompt_toolkit History (default:
        in memory); ``input``/``output``: prompt_toolkit's (default: the terminal; tests pass a pipe)."""
        from prompt_toolkit import PromptSession
        from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
        from prompt_toolkit.history import InMemoryHistory

        prompt = PromptSession(
            history=history if history is not None else InMemoryHistory(),
            completer=ChatCompleter(self.session), complete_while_typing=True,
            auto_suggest=AutoSuggestFromHistory(), input=input, output=output,
        )
        self.banner()
        while True:
            try:
                line = prompt.prompt(PROMPT)
            except KeyboardInterrupt:  # Ctrl-C at the prompt: a fresh line, as in a shell
                continue
            except EOFError:  # Ctrl-D
                break
            if not self.handle(line):
                break

    def pipe(self, lines: Iterable[str]) -> int:
        """Answer one line at a time (questions and slash commands). The exit status: 1 when any line failed,
        else 3 when a model's reply was rejected (not grounded), else 4 when an uncited reply was shown
        (``--allow-uncited``), else 0."""
        self.banner()
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            self.console.print(f"> {line}", markup=False, highlight=False, soft_wrap=True)
            if not self.handle(line):
                break
            self.console.print()
        if self.failures:
            return 1
        return min(self.exit_codes - {0}, default=0)

    def banner(self) -> None:
        session = self.session
        where = f"library {session.library.settings.db} · {len(session.library)} papers"
        if self.plain:
            if session.llm is None:
                self.err.print(NO_LLM_NOTE, markup=False, highlight=False, soft_wrap=True)
            return
        engine = session.llm.model_name if session.llm is not None else "extractive engine"
        self.console.print(f"[bold]reviewer chat[/] · {escape(where)} · {escape(engine)}", highlight=False)
        if session.llm is None:
            self.console.print(f"[yellow]{escape(NO_LLM_NOTE)}[/]", highlight=False)
        self.console.print("[dim]Ask a question, or type /help. Tab completes commands and keys; up-arrow recalls "
                           "earlier lines; Ctrl-C stops an answer; Ctrl-D quits.[/]", highlight=False)

    # -- one line ------------------------------------------------------------------------------------
    def handle(self, line: str) -> bool:
        """Run one line (a question or a slash command); False when the session should end."""
        line = line.strip()
        if not line:
            return True
        try:
            if line.startswith("/"):
                return self.command(line)
            self.answer(line)
        except KeyboardInterrupt:
            if self.plain:
                raise
            self.console.print(f"[yellow]{INTERRUPTED}[/]", highlight=False)
        except ReviewerError as exc:
            self.failures += 1
            self.err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=self.plain)
        except Exception as exc:  # a bug: say so and where, but never lose the conversation over it
            self.failures += 1
            self.err.print(f"[bold red]error:[/] unexpected {escape(_describe(exc))} — a bug in reviewer; "
                           "the session goes on (/export keeps the transcript)", highlight=False,
                           soft_wrap=self.plain)
        return True

    def command(self, line: str) -> bool:
        name, _, argument = line.partition(" ")
        name = ALIASES.get(name.lower(), name.lower())
        argument = argument.strip()
        if name == "/quit":
            return False
        if name not in COMMANDS:
            raise InputError(f"unknown command {name}: /help lists the commands")
        needs = COMMANDS[name][0]
        if needs and not argument:
            raise InputError(f"{name} needs {needs}, e.g. {_EXAMPLES[name]}")
        getattr(self, "do_" + name[1:])(argument)
        return True

    # -- answers -------------------------------------------------------------------------------------
    def answer(self, question: str) -> None:
        """Ask ``question`` (made standalone first when it is a follow-up) and print the checked answer, then its
        sources (or, when it cannot be answered, the best evidence) and its warnings. On a terminal the reply
        streams into a provisional region that the checked answer replaces; unchecked text is never left on
        the screen, and piped output holds only checked answers."""
        status = None if self.plain else self.console.status("[dim]searching the library…[/]", spinner="dots")
        provisional = None

        def on_rewrite(standalone: str) -> None:
            self._stop(status)
            self.console.print(f"[dim]↳ searching for: {escape(standalone)}[/]", highlight=False, soft_wrap=True)
            if status is not None:
                status.start()

        def on_token(piece: str) -> None:
            nonlocal provisional
            self._stop(status)
            if provisional is None:
                provisional = Provisional(self.console).__enter__()
            provisional.write(piece)

        stream = self.session.engine == "llm" and not self.plain and self.console.is_terminal
        from reviewer.logs import Timer

        started = Timer()
        if status is not None:
            status.start()
        try:
            answer = self.session.ask(question, on_token=on_token if stream else None, on_rewrite=on_rewrite)
        finally:
            self._stop(status)
            if provisional is not None:
                provisional.__exit__(None, None, None)
        self.exit_codes.add(answer.exit_code)
        self._record("chat", question, answer, started)
        print_checked_answer(self.console, answer, body(answer), plain=self.plain)
        self._warnings(answer.warnings)
        if self.plain and answer.engine == "llm" and (answer.usage.calls or answer.usage.cached_calls):
            self.err.print(answer.usage.summary(), markup=False, highlight=False, soft_wrap=True)  # as `ask` does

    @staticmethod
    def _stop(status) -> None:
        if status is not None:
            status.stop()

    def _sources(self, papers) -> None:
        if not papers:
            return
        if self.plain:
            self.console.print("\nSources:")
            for paper in papers:
                self.console.print(f"  [{paper.key}]  {' '.join(paper.title.split())}", markup=False, highlight=False)
            return
        self.console.print("\n[bold]Sources[/]")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column()
        for paper in papers:  # Text, not markup: "[key]" would be read as a Rich tag
            grid.add_row(Text(f"  [{paper.key}]", style="cyan"), Text(" ".join(paper.title.split())))
        self.console.print(grid, highlight=False)

    def _warnings(self, warnings) -> None:
        for warning in warnings:
            self.err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=self.plain)

    # -- slash commands ------------------------------------------------------------------------------
    def do_help(self, _: str) -> None:
        table = Table(show_header=False, box=None, padding=(0, 2))
        for name, (argument, what) in COMMANDS.items():
            table.add_row(f"[cyan]{name}[/] {argument}".rstrip(), escape(what))
        self.console.print(table)
        self.console.print("[dim]Anything else is a question. Follow-ups (\"what about …?\", \"does it …?\") are "
                           "made standalone before the search. Ctrl-C stops an answer; Ctrl-D quits.[/]",
                           highlight=False)

    def do_search(self, query: str) -> None:
        hits = self.session.search(query, k=10)
        table = Table(title=f"Top {len(hits)} for: {escape(query)}")
        table.add_column("#", justify="right")
        table.add_column("key", style="cyan", no_wrap=True)
        table.add_column("year", justify="right")
        table.add_column("title")
        table.add_column("relevance", justify="right")
        for rank, hit in enumerate(hits, 1):
            table.add_row(str(rank), hit.key, str(hit.paper.year or ""), escape(hit.title), f"{hit.relevance:.2f}")
        self.console.print(table)

    def do_show(self, key: str) -> None:
        paper = self.session.show(key)
        out = self.console
        out.print(f"[bold cyan]{paper.key}[/]  [bold]{escape(paper.title)}[/]", highlight=False, soft_wrap=self.plain)
        for label, value in (
            ("authors", ", ".join(paper.authors)), ("year", paper.year), ("venue", paper.venue),
            ("doi", paper.doi), ("arXiv", paper.arxiv_id), ("url", paper.url), ("from", ", ".join(paper.provenance)),
        ):
            if value:
                out.print(f"[dim]{label:>8}:[/] {escape(str(value))}", highlight=False, soft_wrap=self.plain)
        out.print()
        out.print(escape(paper.abstract), highlight=False, soft_wrap=self.plain)

    def do_sources(self, _: str) -> None:
        last = self.session.last
        if last is None:
            self.console.print("No answer yet: ask a question first.")
            return
        if not last.evidence:
            self.console.print("The last answer had no evidence: no paper was similar enough to the question.")
            return
        cited_keys = {p.key for p in last.citations}
        table = Table(title=f"Evidence for: {escape(last.question)}")
        table.add_column("#", justify="right")
        table.add_column("key", style="cyan", no_wrap=True)
        table.add_column("title")
        table.add_column("similarity", justify="right")
        table.add_column("cited", justify="center")
        for rank, item in enumerate(last.evidence, 1):
            table.add_row(str(rank), item.key, escape(item.title), f"{item.score:.2f}",
                          "yes" if item.key in cited_keys else "")
        self.console.print(table)

    def do_compare(self, argument: str) -> None:
        from reviewer.logs import Timer

        methods = [m.strip() for m in argument.split("|") if m.strip()]
        started = Timer()
        with self._busy(f"comparing {len(methods)} methods…"):
            comparison = self.session.compare(methods)
        self._record("chat compare", " | ".join(methods), comparison, started, text=comparison.to_markdown())
        if comparison.engine == "extractive" and not self._compare_noted:  # once, with the other notes
            self._compare_noted = True
            self.err.print(COMPARE_NOTE if self.plain else f"[yellow]{escape(COMPARE_NOTE)}[/]", markup=not self.plain,
                           highlight=False, soft_wrap=self.plain)
        if self.plain:  # the Markdown table ends with its own sources list
            self.console.print(comparison.to_markdown(note=False), markup=False, highlight=False, soft_wrap=True)
        else:
            from reviewer.cli.output import comparison_table

            self.console.print(comparison_table(comparison))
            self._sources(comparison.citations())
        self._warnings(comparison.warnings)

    def do_review(self, argument: str) -> None:
        from reviewer.draft import free_directory

        topic, directory = review_argument(argument)
        directory = free_directory(directory if directory is not None else self.out_dir / slug(topic))
        from reviewer.logs import Timer

        started = Timer()
        with self._busy("writing a related-work draft…"):
            self.session.review(topic, directory=directory)
        turn = self.session.turns[-1]
        draft = turn.result
        self._record("chat review", topic, draft, started, text=turn.text)
        self.console.print(f"A draft on {topic!r}: {len(draft.sections)} section(s), {len(turn.papers)} paper(s) "
                           f"cited, {len(draft.flagged)} sentence(s) flagged as unsupported.", markup=False,
                           highlight=False)
        for number, section in enumerate(draft.sections, 1):
            self.console.print(f"  {number}. {escape(section.heading)}", highlight=False)
        for path in turn.files:
            self.console.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)
        self._warnings(draft.warnings)

    def do_export(self, path: str) -> None:
        md, bib = self.session.export(path)
        self.console.print(f"wrote {md} ({len(self.session.turns)} turn(s)) and {bib} "
                           f"({len(self.session.cited_papers())} reference(s))", markup=False, highlight=False,
                           soft_wrap=True)

    def do_model(self, _: str) -> None:
        for label, value in self.session.describe_model().items():
            self.console.print(f"[dim]{label:>17}:[/] {escape(value)}", highlight=False, soft_wrap=True)

    def do_cost(self, _: str) -> None:
        usage = self.session.usage
        note = " (the extractive engine calls no model)" if self.session.llm is None else ""
        self.console.print(f"this session: {usage.summary()}{note}", markup=False, highlight=False)

    def do_clear(self, _: str) -> None:
        self.session.clear()
        self.console.print("New topic: the conversation is forgotten (the input history and the transcript for "
                           "/export are kept).", highlight=False)

    def _busy(self, message: str):
        from contextlib import nullcontext

        return nullcontext() if self.plain else self.console.status(f"[dim]{escape(message)}[/]", spinner="dots")


_EXAMPLES = {
    "/search": "/search chain-of-thought prompting",
    "/show": "/show vaswani2017attention (Tab completes keys)",
    "/compare": "/compare chain-of-thought | self-consistency",
    "/review": "/review in-context learning",
    "/export": "/export chat.md",
}


def slug(text: str) -> str:
    """A folder name for ``text``: lower case, dashes, at most 60 characters."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].rstrip("-") or "review"


_OUT = re.compile(r"(?:^|\s)--out(?:=|\s+|$)(.*)$", re.S)


def review_argument(argument: str) -> tuple[str, Path | None]:
    """(topic, folder) of ``/review TOPIC [--out DIR]``: the folder is None without ``--out``."""
    match = _OUT.search(argument)
    if match is None:
        return argument.strip(), None
    topic, folder = argument[:match.start()].strip(), match.group(1).strip().strip("\"'")
    if not folder:
        raise InputError("--out needs a folder, e.g. `/review in-context learning --out drafts/icl`")
    if not topic:
        raise InputError(f"/review needs TOPIC before --out, e.g. `/review in-context learning --out {folder}`")
    return topic, Path(folder).expanduser()


def _describe(exc: BaseException) -> str:
    """``exc``'s type, message and where it was raised (file:line), for an unexpected error."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


class ChatCompleter(Completer):
    """Completes slash commands, paper keys after ``/show`` (keys starting with the word first, then keys and
    titles containing it), file names after ``/export`` and folder names after ``/review TOPIC --out``."""

    def __init__(self, session: ChatSession):
        self.session = session
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document, complete_event):
        text = document.text_before_cursor
        if not text.startswith("/"):
            return
        if " " not in text:
            for name, (argument, what) in COMMANDS.items():
                if name.startswith(text.lower()):
                    yield Completion(name + (" " if argument else ""), start_position=-len(text),
                                     display=name, display_meta=what)
            return
        command, _, rest = text.partition(" ")
        command, rest = command.lower(), rest.lstrip()
        if command == "/show" and " " not in rest:
            yield from self._keys(rest)
        elif command == "/export":
            yield from self.paths.get_completions(Document(rest, len(rest)), complete_event)
        elif command == "/review" and (match := _OUT.search(rest)) and " " in match.group(0).lstrip():
            folder = match.group(1)
            yield from self.paths.get_completions(Document(folder, len(folder)), complete_event)

    def _keys(self, word: str):
        needle = word.lower()
        titles = self.session.titles()
        first = [k for k in titles if k.startswith(needle)]
        also = [k for k in titles
                if needle and not k.startswith(needle) and (needle in k or needle in titles[k].lower())]
        for key in first + also:
            yield Completion(key, start_position=-len(word), display_meta=excerpt(titles[key], 60))


def history_file(library, path: str | Path | None = None):
    """A prompt_toolkit FileHistory at ``path`` (default: ``chat-history`` in the library's data directory, else
    in the user data directory); an in-memory history when neither can be written."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    candidates = [Path(path)] if path else [Path(library.settings.db) / "chat-history", _user_history()]
    for candidate in candidates:
        try:
            candidate.parent.mkdir(parents=True, exist_ok=True)
            candidate.touch(exist_ok=True)
            with candidate.open("a", encoding="utf-8"):
                pass
            return FileHistory(str(candidate))
        except OSError:
            continue
    return InMemoryHistory()


def _user_history() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("reviewer")) / "chat-history"
