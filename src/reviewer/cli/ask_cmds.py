"""`reviewer ask`: a grounded answer with citations and a Sources list."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from reviewer.cli.options import DbOption, ModelOption, NoLogOption, open_library
from reviewer.cli.output import console, err_console, waiting


def ask(
    question: Annotated[str, typer.Argument(help="Your question, in your own words.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many papers to retrieve as evidence.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON (question, text, engine, notice, status, citations, evidence, warnings, usage: README, \"JSON output\").")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the model again even if this exact request was answered before.")] = False,
    allow_uncited: Annotated[bool, typer.Option("--allow-uncited", help="Show a reply that cites none of the evidence, under an UNCITED banner (exit 4), instead of the cannot-answer reply (exit 3).")] = False,
    model: ModelOption = None,
    no_log: NoLogOption = False,
    db: DbOption = None,
) -> None:
    """Answer QUESTION from the library, citing \\[key]s; every cited key is checked against the evidence.

    Exit status: 0 a checked answer (or: nothing in the library is relevant); 3 the model's reply was rejected
    (it cited none of the evidence, repeated the prompt, or was not prose): the cannot-answer reply and the
    best evidence are shown instead; 4 an uncited reply shown because of --allow-uncited."""
    from contextlib import nullcontext

    from rich.markup import escape

    from reviewer import logs
    from reviewer.cli.output import Provisional, print_checked_answer

    timer = logs.Timer()
    with waiting("opening the library…") as spinner:
        library = open_library(db, model=model)
        llm = library.llm()
        out = console()
        # Unchecked text is never shown as the answer: on a terminal it streams into a provisional region that the
        # checked answer replaces; to a file or pipe, only the checked answer is written.
        provisional = Provisional(out) if llm is not None and not as_json and out.is_terminal else None

        spinner.update("searching the library and answering…")
        if provisional is not None:  # its own live region says a reply is on its way: one at a time on a screen
            spinner.stop()
        with provisional or nullcontext():
            answer = library.ask(question, k=k, on_token=provisional.write if provisional else None,
                                 use_cache=not no_cache, allow_uncited=allow_uncited)
    logs.record(library, logs.entry_for("ask", question, answer, library, seconds=timer.seconds, llm=llm),
                enabled=not no_log)
    if answer.notice and not as_json:  # on stderr: stdout holds only the answer
        err_console().print(f"[dim]{escape(answer.notice)}[/]", highlight=False, soft_wrap=True)
    used_model = answer.engine == "llm" and (answer.usage.calls or answer.usage.cached_calls)
    if as_json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_checked_answer(out, answer, answer.text, plain=not out.is_terminal)
        for warning in answer.warnings:
            err_console().print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    if used_model:  # on stderr, so stdout holds only the answer (or one JSON document)
        err_console().print(f"[dim]{answer.usage.summary()}[/]", highlight=False)
    if answer.exit_code:
        raise typer.Exit(answer.exit_code)
