"""`reviewer logs`: the answers of earlier ask, compare, review and chat commands (see reviewer.logs)."""

from __future__ import annotations

from typing import Annotated

import typer

from reviewer.cli.options import JsonOption
from reviewer.cli.output import console, print_json, safe

app = typer.Typer(help="Earlier answers: `reviewer logs` lists the latest, `logs show ID`, `logs search TEXT`.",
                  invoke_without_command=True)

CountOption = Annotated[int, typer.Option("-n", "--count", min=1, max=10_000, help="How many entries to list.")]


@app.callback()
def logs(ctx: typer.Context, count: CountOption = 20, as_json: JsonOption = False) -> None:
    """The latest logged answers, newest first (id, time, command, question, model, citations, cost).
    Logging is on unless REVIEWER_LOG=false (or `reviewer config set log false`); --no-log skips one command."""
    if ctx.invoked_subcommand is not None:
        return
    from reviewer.logs import AnswerLog

    _list(AnswerLog().latest(count), as_json, empty="no answer is logged yet: `reviewer ask`, `compare`, `review` "
                                                   "and `chat` record theirs")


@app.command("show")
def show(entry_id: Annotated[int, typer.Argument(metavar="ID", help="The id `reviewer logs` shows.")],
         as_json: JsonOption = False) -> None:
    """One logged answer in full: question, model, evidence, the checked answer, warnings, tokens, cost, time."""
    from reviewer.logs import AnswerLog

    entry = AnswerLog().get(entry_id)
    if as_json:
        print_json(entry.to_dict())
        return
    out = console()
    out.print(f"[bold]#{entry.id}[/] {safe(entry.time)} · {safe(entry.command)} · {safe(_engine(entry))}",
              highlight=False)
    for label, value in (("question", entry.question), ("library", entry.library), ("status", entry.status),
                         ("evidence", ", ".join(entry.evidence)), ("cited", ", ".join(entry.citations)),
                         ("tokens", f"{entry.input_tokens:,} in / {entry.output_tokens:,} out"),
                         ("cost", f"${entry.cost_usd:.4f}"), ("seconds", f"{entry.seconds:.1f}")):
        if value:
            out.print(f"[dim]{label:>9}:[/] {safe(str(value))}", highlight=False, soft_wrap=True)
    out.print()
    out.print(safe(entry.text), highlight=False)
    for warning in entry.warnings:
        out.print(f"[yellow]warning:[/] {safe(warning)}", highlight=False, soft_wrap=True)


@app.command("search")
def search(text: Annotated[str, typer.Argument(help="Words to find in questions, answers or evidence keys.")],
           count: CountOption = 20, as_json: JsonOption = False) -> None:
    """Logged answers whose question, answer or evidence contain TEXT (any case), newest first."""
    from reviewer.logs import AnswerLog

    _list(AnswerLog().search(text, count), as_json, empty=f"no logged answer contains {text!r}")


def _engine(entry) -> str:
    return entry.model or entry.engine


def _list(entries, as_json: bool, empty: str) -> None:
    if as_json:
        print_json({"entries": [entry.to_dict() for entry in entries]})
        return
    if not entries:
        from reviewer.cli.output import err_console

        err_console().print(safe(empty), highlight=False, soft_wrap=True)
        return
    from rich.table import Table

    from reviewer.text import excerpt

    table = Table(title=f"{len(entries)} logged answer(s), newest first")
    table.add_column("id", justify="right", style="cyan")
    table.add_column("time", no_wrap=True)
    table.add_column("command")
    table.add_column("question")
    table.add_column("model")
    table.add_column("cited", justify="right")
    table.add_column("cost", justify="right")
    for entry in entries:
        table.add_row(str(entry.id), safe(entry.time[:16].replace("T", " ")), entry.command,
                      safe(excerpt(entry.question, 80)), safe(_engine(entry)), str(len(entry.citations)),
                      f"${entry.cost_usd:.4f}")
    console().print(table)
