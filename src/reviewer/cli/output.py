"""Shared console helpers for the CLI."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def console():
    from rich.console import Console

    return Console()


def wide_console(min_width: int):
    """The standard console, or, when it is narrower than ``min_width`` and not a terminal (a file, a pipe: 80
    columns by default), one of ``min_width`` columns, so a wide table is written whole instead of truncated."""
    from rich.console import Console

    standard = console()
    if standard.is_terminal or standard.width >= min_width:
        return standard
    return Console(width=min_width)


@lru_cache(maxsize=1)
def err_console():
    from rich.console import Console

    return Console(stderr=True)


def safe(text: str) -> str:
    """Text from papers or the user made safe to print with Rich: no markup, no terminal escape sequences or
    control characters."""
    from rich.markup import escape

    from reviewer.text import strip_control

    return escape(strip_control(text))


def comparison_table(comparison):
    """A Comparison as a Rich table: one column per method, one row per aspect (a terminal is narrower than a
    page, so the aspects run down), each cell's keys in cyan under its text, "not reported" dimmed."""
    from rich.markup import escape
    from rich.table import Table

    title = f"Methods of {comparison.topic!r}" if comparison.topic else None
    table = Table(title=escape(title) if title else None, show_lines=True, expand=True)
    table.add_column("", style="bold", no_wrap=True)
    for method in comparison.methods:
        table.add_column(escape(method), overflow="fold", ratio=1)
    for aspect in comparison.aspects:
        row = [escape(aspect.capitalize())]
        for method in comparison.methods:
            cell = comparison.cells[method][aspect]
            if not cell.reported:
                row.append(f"[dim]{escape(cell.text)}[/]")
            else:
                row.append(f"{escape(cell.text)}\n[cyan]{escape('[' + '; '.join(cell.keys) + ']')}[/]")
        table.add_row(*row)
    return table


class Provisional:
    """An unchecked reply streamed into a Rich Live region of a terminal, under a line saying it is a draft
    being checked; the region is erased when the block ends, and the caller prints the checked answer in its
    place. Only its last lines are shown, so a long reply cannot scroll past the region."""

    LABEL = "draft, being written: the checked answer replaces it"

    def __init__(self, console):
        self.console = console
        self.text = ""
        self.live = None

    def __enter__(self):
        from rich.live import Live

        self.live = Live(self._render(), console=self.console, transient=True, auto_refresh=False,
                         vertical_overflow="crop")
        self.live.start()
        return self

    def write(self, piece: str) -> None:
        self.text += piece
        self.live.update(self._render(), refresh=True)

    def __exit__(self, *exc) -> None:
        self.live.stop()

    def _render(self):
        from rich.console import Group
        from rich.text import Text

        room = max(1, self.console.height - 3)
        lines = self.text.splitlines()[-room:] if self.text else []
        return Group(Text(self.LABEL, style="dim italic"), Text("\n".join(lines), style="dim"))


def print_checked_answer(out, answer, text: str, *, plain: bool = False) -> None:
    """The checked ``answer`` (its ``text``, citations in cyan): under the UNCITED banner when it is shown only
    because uncited replies were allowed; then its Sources, or for the cannot-answer reply the best evidence
    the collection has (what the model was shown)."""
    from rich.table import Table
    from rich.text import Text

    from reviewer.grounding import UNCITED_BANNER

    if answer.status == "uncited":
        out.print(Text(UNCITED_BANNER, style="bold yellow"), soft_wrap=plain)
    out.print(cited(text), soft_wrap=plain)
    if answer.citations:
        rows, heading = [(f"[{p.key}]", " ".join(p.title.split()), "") for p in answer.citations], "Sources"
    elif not answer.answered and answer.evidence:
        rows = [(f"[{e.key}]", " ".join(e.title.split()), f"{e.score:.2f}") for e in answer.evidence]
        heading = "Best evidence (similarity to the question)"
    else:
        return
    if plain:
        out.print(f"\n{heading}:", markup=False, highlight=False)
        for key, title, score in rows:
            out.print("  " + "  ".join(x for x in (key, title, score) if x), markup=False, highlight=False,
                      soft_wrap=True)
        return
    out.print(f"\n[bold]{heading}[/]")
    grid = Table.grid(padding=(0, 2))
    for _ in range(3 if rows[0][2] else 2):
        grid.add_column()
    for key, title, score in rows:  # Text, not markup: "[key]" would be read as a Rich tag
        grid.add_row(*[Text("  " + key, style="cyan"), Text(title)] + ([Text(score)] if score else []))
    out.print(grid, highlight=False)


def cited(text: str):
    """``text`` with its ``[key]`` citations in cyan and uncited marks in yellow (never read as Rich markup)."""
    import re

    from rich.text import Text

    from reviewer import citations
    from reviewer.grounding import UNCITED_MARK

    out = Text(text)
    out.highlight_regex(citations.CITATION, "cyan")
    out.highlight_regex(re.escape(UNCITED_MARK), "yellow")
    return out


class waiting:
    """A spinner and ``message`` on stderr while a command waits (a model, loading the index), shown only on a
    terminal and only once the wait passes ``delay`` seconds: pipes, files and CI get nothing. ``stop()`` ends it
    early (e.g. when a streamed reply starts); ``update(message)`` changes its text."""

    DELAY = 0.5

    def __init__(self, message: str, delay: float | None = None):
        self.message = message
        self.delay = self.DELAY if delay is None else delay
        self.status = None
        self.timer = None
        self.lock = None

    def __enter__(self) -> "waiting":
        err = err_console()
        if not err.is_terminal or err.is_dumb_terminal:
            return self
        import threading

        self.lock = threading.Lock()
        self.status = err.status(f"[dim]{safe(self.message)}[/]", spinner="dots")
        self.timer = threading.Timer(self.delay, self._start)
        self.timer.daemon = True
        self.timer.start()
        return self

    def _start(self) -> None:
        with self.lock:
            if self.status is not None:
                self.status.start()

    def update(self, message: str) -> None:
        self.message = message
        if self.status is not None:
            self.status.update(f"[dim]{safe(message)}[/]")

    def stop(self) -> None:
        if self.lock is None:
            return
        self.timer.cancel()
        with self.lock:
            if self.status is not None:
                self.status.stop()
                self.status = None

    def __exit__(self, *exc) -> None:
        self.stop()


def print_json(data) -> None:
    """``data`` as one indented JSON document on stdout (UTF-8 as is)."""
    import json

    print(json.dumps(data, indent=2, ensure_ascii=False))
