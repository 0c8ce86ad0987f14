"""`reviewer compare`: a side-by-side table of methods, every cell backed by [key]s."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from reviewer.cli.options import DbOption, JsonOption, ModelOption, NoLogOption, open_library
from reviewer.cli.output import console, err_console, waiting

# Kept here (not imported from the chain) so that `reviewer --help` does not import the chain's dependencies.
DEFAULT_ASPECTS = "task,approach,data,results,limitations"
_SUFFIX_FORMATS = {".md": "markdown", ".markdown": "markdown", ".csv": "csv", ".json": "json"}


class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def compare(
    methods: Annotated[Optional[list[str]], typer.Argument(
        help="The methods to compare, e.g. \"low-rank adaptation\" \"prompt tuning\" (or use --topic).",
        show_default=False)] = None,
    topic: Annotated[Optional[str], typer.Option(
        "--topic", help="Find the main methods of this topic in the library and compare them.",
        show_default=False)] = None,
    aspects: Annotated[str, typer.Option(
        "--aspects", help="Comma-separated aspects to compare on; any short name works.")] = DEFAULT_ASPECTS,
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many papers to retrieve per method.")] = 4,
    max_methods: Annotated[int, typer.Option(
        "--max-methods", min=1, max=8, help="With --topic: compare at most this many methods.")] = 4,
    fmt: Annotated[Optional[Format], typer.Option(
        "--format", help="table (default on screen), markdown, csv or json; with --out, the default follows the "
                         "file's suffix (.md, .csv, .json; else markdown).", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", help="Write the comparison to this file instead of the screen.", show_default=False,
        dir_okay=False)] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Ask the model again even if this exact request was answered before.")] = False,
    as_json: JsonOption = False,
    model: ModelOption = None,
    no_log: NoLogOption = False,
    db: DbOption = None,
) -> None:
    """Compare METHODS (or the main methods of --topic) side by side on each aspect (on screen, one column
    per method; in Markdown and CSV, one row per method).

    Every cell cites the \\[key]s of the papers it comes from; a cell the papers do not support says "not reported".
    """
    from rich.markup import escape

    from reviewer import logs
    from reviewer.errors import InputError

    if methods and topic is not None:
        raise InputError("give either METHODS or --topic, not both")
    if not methods and topic is None:
        raise InputError('name the methods to compare (e.g. reviewer compare "method A" "method B"), or give --topic')
    if as_json and fmt not in (None, Format.json):
        raise InputError(f"--json and --format {fmt.value} ask for two formats: give one")
    library = open_library(db, model=model)
    timer = logs.Timer()
    with waiting("comparing the methods…"):
        comparison = library.compare(methods or None, topic=topic, aspects=aspects.split(","), k=k,
                                     max_methods=max_methods, use_cache=not no_cache)
    logs.record(library, logs.entry_for("compare", topic or " | ".join(methods), comparison, library,
                                        text=comparison.to_markdown(), seconds=timer.seconds, llm=library.llm()),
                enabled=not no_log)

    chosen = "json" if as_json else (fmt.value if fmt else None) or (
        _SUFFIX_FORMATS.get(out.suffix.lower(), "markdown") if out else "table")
    if out is not None and chosen == "table":
        chosen = "markdown"  # a Rich table is for the screen; a file gets the same table in Markdown
    notes = err_console()
    if comparison.notice:  # on stderr: the table (and its JSON) never carries it
        notes.print(f"[dim]{escape(comparison.notice)}[/]", highlight=False, soft_wrap=True)
    if chosen == "table":
        _print_table(comparison)
    else:
        text = _render(comparison, chosen, document=out is not None)
        if out is not None:
            try:
                out.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
            notes.print(f"wrote {escape(str(out))} ({chosen})", highlight=False)
        else:
            print(text, end="")
    for warning in comparison.warnings:
        notes.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    if comparison.engine == "llm" and (comparison.usage.calls or comparison.usage.cached_calls):
        notes.print(f"[dim]{comparison.usage.summary()}[/]", highlight=False)


def _render(comparison, fmt: str, document: bool = False) -> str:
    if fmt == "markdown":  # a file is a document read later: it keeps the extractive engine's notice on top
        return comparison.to_markdown(note=document)
    if fmt == "csv":
        return comparison.to_csv()
    import json

    return json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _print_table(comparison) -> None:
    """The comparison as a Rich table, then the cited papers."""
    from rich.markup import escape

    from reviewer.cli.output import comparison_table

    table = comparison_table(comparison)
    out = console()
    out.print(table)
    cited = comparison.citations()
    if cited:
        out.print("[bold]Sources[/]")
        for paper in cited:
            out.print(f"  [cyan]{paper.key}[/]  {escape(paper.title)}", highlight=False)
