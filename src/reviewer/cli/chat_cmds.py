"""`reviewer chat`: a conversation with the library (the loop is reviewer.repl, the logic reviewer.session)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from reviewer.cli.options import DbOption, ModelOption, NoLogOption, open_library
from reviewer.cli.output import console, err_console


def chat(
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many papers to retrieve as evidence for each answer.")] = 8,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the model again even if an identical request was answered before.")] = False,
    history: Annotated[Optional[Path], typer.Option("--history", help="Input history file (default: chat-history in the data directory).", show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", help="Where /review writes its drafts (one folder per topic; `/review TOPIC --out DIR` writes to DIR instead).")] = Path("out"),
    allow_uncited: Annotated[bool, typer.Option("--allow-uncited", help="Show replies that cite none of the evidence, under an UNCITED banner, instead of the cannot-answer reply.")] = False,
    model: ModelOption = None,
    no_log: NoLogOption = False,
    db: DbOption = None,
) -> None:
    r"""Chat with the library: answers cite \[key]s and stream as they are written; follow-up questions are made
    standalone before the search. /help lists the commands (/search, /show, /compare, /review, /sources,
    /export, /model, /cost, /clear, /quit). When stdin is not a terminal, reads one question per line and
    prints plain answers; the exit status is then 1 if a line failed, else 3 if a reply was rejected, 4 if an
    uncited one was shown."""
    import sys

    from rich.console import Console

    from reviewer.errors import InputError
    from reviewer.repl import Repl, history_file
    from reviewer.session import ChatSession

    library = open_library(db, model=model)
    if len(library) == 0:
        raise InputError(f"the library in {library.settings.db} has no papers: add some with "
                         "`reviewer ingest PATH`, or point --db at another library")
    session = ChatSession(library, k=k, use_cache=not no_cache, allow_uncited=allow_uncited)
    if sys.stdin.isatty():
        Repl(session, console=console(), out_dir=out, log=not no_log).interactive(
            history=history_file(library, history))
        return
    plain = Console(color_system=None, soft_wrap=True, highlight=False, emoji=False)
    code = Repl(session, console=plain, err_console=err_console(), plain=True, out_dir=out,
                log=not no_log).pipe(sys.stdin)
    if code:
        raise typer.Exit(code)
