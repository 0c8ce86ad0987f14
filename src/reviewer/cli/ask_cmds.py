"""`reviewer ask`: a grounded answer with citations and a Sources list."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from reviewer.cli.options import DbOption, open_library
from reviewer.cli.output import console, err_console


def ask(
    question: Annotated[str, typer.Argument(help="Your question, in your own words.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many papers to retrieve as evidence.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON (text, citations, evidence, warnings, usage).")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the model again even if this exact request was answered before.")] = False,
    db: DbOption = None,
) -> None:
    """Answer QUESTION from the library, citing \\[key]s; every cited key is checked against the evidence."""
    from rich.markup import escape

    library = open_library(db)
    llm = library.llm()
    streamed = llm is not None and not as_json
    out = console()

    def on_token(piece: str) -> None:
        out.print(escape(piece), end="", highlight=False, soft_wrap=True)

    answer = library.ask(question, k=k, on_token=on_token if streamed else None, use_cache=not no_cache)
    used_model = answer.engine == "llm" and (answer.usage.calls or answer.usage.cached_calls)
    if as_json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        if used_model:  # on stderr, so stdout stays one JSON document
            err_console().print(f"[dim]{answer.usage.summary()}[/]", highlight=False)
        return
    if streamed:
        out.print()
        out.rule("[dim]checked answer[/]", style="dim")
    out.print(escape(answer.text), highlight=False)
    if answer.citations:
        out.print("\n[bold]Sources[/]")
        for paper in answer.citations:
            out.print(f"  [cyan]{paper.key}[/]  {escape(paper.title)}", highlight=False)
    for warning in answer.warnings:
        err_console().print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    if used_model:
        err_console().print(f"[dim]{answer.usage.summary()}[/]", highlight=False)
