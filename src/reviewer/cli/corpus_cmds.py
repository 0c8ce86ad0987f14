"""Commands that build and browse the library: ingest, papers, show, search, stats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from reviewer.cli.options import DbOption, JsonOption, open_library
from reviewer.cli.output import console, err_console, print_json, safe, waiting


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of papers (HF Papers pages, .bib, .ris, .csv, .jsonl, arXiv Atom).", show_default=False)],
    db: DbOption = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit non-zero if any record or file was skipped.")] = False,
    key_style: Annotated[Optional[str], typer.Option("--key-style", help="Keys of new papers without authors and year: title-words (default: the short name before a colon, else two significant title words) or first-word. Stored keys never change.", show_default=False)] = None,
) -> None:
    """Add papers to the library. Unchanged papers are not re-embedded; an interrupted ingest resumes."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    from reviewer.errors import InputError

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InputError(f"no such file or folder: {', '.join(missing)} (nothing was written)")
    with waiting("loading the embedding model…"):
        library = _open_for_ingest(db, key_style)
    with Progress(
        TextColumn("[bold]embedding"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=err_console(), transient=False,
    ) as bar:
        state: dict = {}

        def progress(done: int, total: int) -> None:
            if "task" not in state:
                if total == 0:
                    return
                import time

                state["t0"] = time.perf_counter()
                state["task"] = bar.add_task("embed", total=total, rate="")
            import time

            elapsed = max(time.perf_counter() - state["t0"], 1e-9)
            bar.update(state["task"], completed=done, rate=f"{done / elapsed:5.1f} papers/s" if done else "")

        report = library.ingest(paths, progress=progress)
    _print_report(report)
    if strict and report.skipped:
        err_console().print(f"[red]--strict: {len(report.skipped)} skipped[/]")
        raise typer.Exit(2)


def _open_for_ingest(db, key_style: str | None):
    if key_style is None:
        return open_library(db, create=True)
    from reviewer.config import load_settings
    from reviewer.library import Library

    return Library.open(db=db, settings=load_settings(ingest={"key_style": key_style}), create=True)


def _print_report(report) -> None:
    from rich.table import Table

    for skip in report.skipped:
        err_console().print(f"[yellow]skipped:[/] {_esc(str(skip))}", highlight=False, soft_wrap=True)
    for warning in report.warnings:
        err_console().print(f"[yellow]warning:[/] {_esc(warning)}", highlight=False, soft_wrap=True)
    table = Table(title=f"Ingested {len(report.files)} file(s), {report.records} record(s) in {report.seconds:.1f} s")
    table.add_column("outcome")
    table.add_column("papers", justify="right")
    table.add_column("detail")
    table.add_row("new", str(len(report.new)), "embedded and stored")
    table.add_row("updated", str(len(report.updated)), "re-embedded only if title or abstract changed")
    table.add_row("unchanged", str(len(report.unchanged)), "nothing to do")
    reasons = report.skip_reasons()
    table.add_row("skipped", str(len(report.skipped)), ", ".join(f"{r}: {n}" for r, n in sorted(reasons.items())) or "-")
    if report.duplicates:
        table.add_row("merged duplicates", str(report.duplicates), "same DOI, arXiv id or title")
    console().print(table)
    console().print(f"embedded {report.embedded} paper(s)")


_esc = safe


def papers(
    grep: Annotated[Optional[str], typer.Option("--grep", "-g", help="Only papers whose key, title or abstract contain TEXT.")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List the papers in the library (key, year, title)."""
    from rich.table import Table

    with waiting("opening the library…"):
        found = open_library(db).papers(grep)
    if as_json:
        print_json({"grep": grep, "papers": [paper.model_dump() for paper in found]})
        return
    table = Table(title=f"{len(found)} paper(s)")
    table.add_column("key", style="cyan", no_wrap=True)
    table.add_column("year", justify="right")
    table.add_column("title")
    for paper in found:
        table.add_row(_esc(paper.key), str(paper.year or ""), _esc(paper.title))
    console().print(table)


def show(key: Annotated[str, typer.Argument(help="Citation key, e.g. from `reviewer papers` (also as pasted: [key], @key; any case).")],
         as_json: JsonOption = False, db: DbOption = None) -> None:
    """Show one paper: metadata, where it came from, and its abstract."""
    with waiting("opening the library…"):
        paper = open_library(db).get(key)
    if as_json:
        print_json(paper.model_dump())
        return
    out = console()
    out.print(f"[bold cyan]{_esc(paper.key)}[/]  [bold]{_esc(paper.title)}[/]")
    for label, value in (
        ("authors", ", ".join(paper.authors)), ("year", paper.year), ("venue", paper.venue),
        ("doi", paper.doi), ("arXiv", paper.arxiv_id), ("url", paper.url),
        ("from", ", ".join(paper.provenance)),
    ):
        if value:
            out.print(f"[dim]{label:>8}:[/] {_esc(str(value))}", highlight=False)
    out.print()
    out.print(_esc(paper.abstract), highlight=False)


def search(
    query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
    k: Annotated[int, typer.Option("-k", min=1, max=1000, help="How many papers to show.")] = 10,
    mode: Annotated[Optional[str], typer.Option("--mode", help="rrf (default), hybrid, dense, cosine or bm25.")] = None,
    mmr: Annotated[bool, typer.Option("--mmr", help="Re-rank for breadth (maximal marginal relevance).")] = False,
    year_from: Annotated[Optional[int], typer.Option("--from", help="Only papers from this year on.")] = None,
    year_to: Annotated[Optional[int], typer.Option("--to", help="Only papers up to this year.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Only papers read from a file whose path contains TEXT.")] = None,
    venue: Annotated[Optional[str], typer.Option("--venue", help="Only papers whose venue contains TEXT.")] = None,
    keys: Annotated[Optional[str], typer.Option("--keys", help="Only these keys (comma-separated).")] = None,
    exclude: Annotated[Optional[str], typer.Option("--exclude", help="Never these keys (comma-separated).")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Rank the papers by relevance to QUERY (BM25 and cosine, fused): a 0-1 relevance and which retriever found each.

    --json also has each raw score and rank. A filter that excludes every paper is named, with how many papers
    have its field; keys may be written as pasted ([key], @key, any case), and unknown ones are a warning."""
    from rich.table import Table

    from reviewer.retrieval.search import Filters

    with waiting("searching…"):
        library = open_library(db)
        warnings: list[str] = []
        wanted = excluded = None
        if keys:
            wanted, unknown = library.resolve_keys(_split(keys), "--keys")
            warnings += unknown
        if exclude:
            excluded, unknown = library.resolve_keys(_split(exclude), "--exclude")
            warnings += unknown
        filters = Filters(year_min=year_from, year_max=year_to, source=source, venue=venue,
                          keys=wanted, exclude=tuple(excluded or ()))
        hits = library.search(query, k=k, mode=mode, mmr=mmr, filters=filters)
        if not hits and (why := library.explain_empty(filters)):
            warnings.append(why)
    if as_json:
        print_json({"query": query, "mode": mode or library.settings.retrieval.mode, "mmr": mmr,
                    "hits": [hit.to_dict() for hit in hits], "warnings": warnings})
    elif not hits:
        console().print(f"No paper found for: {_esc(query)}", highlight=False, soft_wrap=True)
    else:
        table = Table(title=f"Top {len(hits)} for: {_esc(query)}")
        table.add_column("#", justify="right")
        table.add_column("key", style="cyan", no_wrap=True)
        table.add_column("title")
        table.add_column("relevance", justify="right")
        table.add_column("found by")
        for rank, hit in enumerate(hits, 1):
            table.add_row(str(rank), hit.key, _esc(hit.title), f"{hit.relevance:.2f}", "+".join(hit.found_by))
        console().print(table)
    for warning in warnings:
        err_console().print(f"[yellow]warning:[/] {_esc(warning)}", highlight=False, soft_wrap=True)


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def stats(as_json: JsonOption = False, db: DbOption = None) -> None:
    """Counts and storage locations of the library."""
    with waiting("opening the library…"):
        info = open_library(db).stats()
    if as_json:
        print_json(info)
        return
    for name, value in info.items():
        console().print(f"[bold]{name:>14}:[/] {_esc(str(value))}", highlight=False)


def register(app: typer.Typer) -> None:
    for command in (ingest, papers, show, search, stats):
        app.command()(command)
