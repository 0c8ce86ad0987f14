"""`reviewer review`: a thematic related-work draft written to a folder (Markdown, BibTeX, LaTeX, JSON, a map)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from reviewer.cli.options import DbOption, JsonOption, ModelOption, NoLogOption, open_library
from reviewer.cli.output import console, err_console, print_json, safe, waiting
from reviewer.text import excerpt

SHOW_FLAGGED = 10  # flagged sentences listed on screen; review.json lists them all


def review(
    topic: Annotated[Optional[str], typer.Argument(help="What the related-work section is about, in your own words (not with --update).", show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for review.md, references.bib, references.md, review.tex, review.json and themes.png (created if needed; when it already holds a draft, OUT-2, OUT-3, ... is used instead unless --force).")] = Path("out"),
    force: Annotated[bool, typer.Option("--force", help="Replace a draft already in --out.")] = False,
    max_papers: Annotated[int, typer.Option("--max-papers", min=1, max=500, help="How many of the most relevant papers to review.")] = 30,
    themes: Annotated[Optional[int], typer.Option("--themes", min=1, max=12, help="How many themes (sections); default: the number that clusters the papers best.", show_default=False)] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the model again even if these exact requests were answered before.")] = False,
    no_citeproc: Annotated[bool, typer.Option("--no-citeproc", help="End review.md with a hand-written reference list instead of the bibliography pandoc --citeproc makes from references.bib.")] = False,
    update: Annotated[Optional[Path], typer.Option("--update", help="Bring the draft in this folder up to date with the library: new papers join their themes, only the sections they change are written again, hand-edited sections are kept (their new text goes to DIR/proposed/); DIR/CHANGES.md and DIR/review.diff say what changed.", show_default=False)] = None,
    rethink: Annotated[bool, typer.Option("--rethink", help="With --update: write a fresh draft of the recorded topic over DIR instead (themes chosen anew; hand edits not kept).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the draft as JSON (what review.json holds, plus the folder and files written) instead of the summary.")] = False,
    model: ModelOption = None,
    no_log: NoLogOption = False,
    db: DbOption = None,
) -> None:
    """Write a related-work draft on TOPIC into --out: papers grouped into themes, one section per theme, every
    sentence citing its papers by key and checked against their abstracts; unsupported sentences are flagged."""
    from reviewer import logs
    from reviewer.errors import InputError

    if update is not None:
        if topic is not None:
            raise InputError("give either a TOPIC or --update DIR (an update reviews the topic recorded in DIR)")
        return _update(update, rethink=rethink, no_cache=no_cache, as_json=as_json, model=model, no_log=no_log,
                       db=db)
    if topic is None:
        raise InputError("give the TOPIC to review, or --update DIR to bring an earlier draft up to date")
    if rethink:
        raise InputError("--rethink goes with --update DIR")
    timer = logs.Timer()
    with waiting("opening the library…"):
        library = open_library(db, model=model)
    with _StepProgress() as progress:
        draft = library.review(topic, max_papers=max_papers, themes=themes, use_cache=not no_cache,
                               progress=progress)
    from reviewer.draft import free_directory

    target = free_directory(out, force)
    if target != out:
        err_console().print(f"[yellow]note:[/] {safe(str(out))} already holds a draft; writing to "
                            f"{safe(str(target))} instead (--force replaces it)", highlight=False, soft_wrap=True)
    written = draft.write(target, citeproc=not no_citeproc)
    summary = (f"A related-work draft of {len(draft.sections)} section(s) citing {len(draft.cited_keys())} "
               f"paper(s), {len(draft.flagged)} sentence(s) flagged as unsupported; files in {target}.")
    logs.record(library, logs.entry_for("review", topic, draft, library, text=summary, seconds=timer.seconds,
                                        llm=library.llm()), enabled=not no_log)
    if as_json:
        print_json({"directory": str(target), "files": [str(p) for p in written], **draft.to_dict()})
        for warning in draft.warnings:
            err_console().print(f"[yellow]warning:[/] {safe(warning)}", highlight=False, soft_wrap=True)
        return
    _print_summary(draft, written)


def _update(directory: Path, *, rethink: bool, no_cache: bool, as_json: bool, model, no_log: bool, db) -> None:
    from reviewer import living, logs
    from reviewer.llm import command_deadline
    from reviewer.provenance import read

    timer = logs.Timer()
    read(directory, any_format=rethink)  # a folder without a usable review.json fails before the library opens
    with waiting("opening the library…"):
        library = open_library(db, model=model)
    llm = library.llm()
    with _StepProgress() as progress, command_deadline(llm):
        if rethink:
            draft = living.rethink_directory(library, directory, llm=llm, use_cache=not no_cache, progress=progress)
            lines = [f"Rethought: a fresh draft of {len(draft.sections)} section(s) citing "
                     f"{len(draft.cited_keys())} paper(s); hand edits were not kept."]
        else:
            draft, changes = living.update_directory(library, directory, llm=llm, use_cache=not no_cache,
                                                     progress=progress)
            lines = changes.lines()
    summary = " ".join(lines)
    logs.record(library, logs.entry_for("review", draft.topic, draft, library, text=summary, seconds=timer.seconds,
                                        llm=llm), enabled=not no_log)
    if as_json:
        print_json({"directory": str(directory), "changes": lines, **draft.to_dict()})
        return
    out = console()
    out.print(f"[bold]Updated {safe(str(directory))}[/] (what changed is in {living.CHANGES}"
              + ("" if lines[0].startswith("Nothing changed") else f", the edit in {living.DIFF}") + "):",
              highlight=False, soft_wrap=True)
    for line in lines:
        out.print(f"  {safe(line)}", highlight=False, soft_wrap=True)


class _StepProgress:
    """A Rich progress bar per step of the review, on stderr: ``progress(step, done, total)`` as the chain
    reports it (a new step name starts a new bar and completes the previous one)."""

    def __enter__(self) -> "_StepProgress":
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("[bold]{task.description:<13}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=err_console(), transient=False)
        self.tasks: dict[str, int] = {}
        self.current: str | None = None
        self.bar.__enter__()
        return self

    def __call__(self, step: str, done: int = 0, total: int | None = None) -> None:
        if step not in self.tasks:
            self._finish_current()
            self.tasks[step] = self.bar.add_task(step, total=total or None)
            self.current = step
        task = self.tasks[step]
        if total:
            self.bar.update(task, total=total)
        self.bar.update(task, completed=done)

    def _finish_current(self) -> None:
        if self.current is None:
            return
        task = self.bar.tasks[self.tasks[self.current]]
        total = task.total if task.total is not None else max(task.completed, 1)
        self.bar.update(task.id, total=total, completed=total)

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self._finish_current()
        self.bar.__exit__(*exc)


def _print_summary(draft, written: list[Path]) -> None:
    from rich.markup import escape

    from reviewer.draft import EXTRACTIVE_NOTE, FILES
    from reviewer.themes_map import skip_reason

    out, err = console(), err_console()
    out.print(f"[bold]Wrote {len(written)} file(s):[/]")
    for path in written:
        out.print(f"  {escape(str(path))}", highlight=False, soft_wrap=True)
    if FILES[-1] not in {p.name for p in written}:
        out.print(f"  [dim]{escape(skip_reason(draft) or 'no theme map')}[/]", highlight=False)
    if draft.engine == "extractive":
        out.print(f"[dim]{escape(EXTRACTIVE_NOTE)}[/]", highlight=False, soft_wrap=True)

    out.print(f"\n[bold]Themes[/] ({len(draft.themes)}, {len(draft.papers)} paper(s) reviewed)")
    headings = {section.theme.id: section.heading for section in draft.sections}
    for theme in draft.themes:
        name = headings.get(theme.id, theme.name)
        out.print(f"  {escape(name)} [dim]({len(theme.keys)} paper{'s' if len(theme.keys) != 1 else ''})[/]",
                  highlight=False, soft_wrap=True)

    flagged = draft.flagged
    if flagged:
        out.print(f"\n[bold yellow]Flagged[/] ({len(flagged)} sentence{'s' if len(flagged) != 1 else ''} not "
                  "supported by the cited abstracts, kept and marked in the files)", soft_wrap=True)
        for sentence in flagged[:SHOW_FLAGGED]:
            out.print(f"  - {escape(excerpt(sentence.text, 100))}", highlight=False, soft_wrap=True)
            if sentence.reason:
                out.print(f"    [dim]{escape(excerpt(sentence.reason, 160))}[/]", highlight=False, soft_wrap=True)
        if len(flagged) > SHOW_FLAGGED:
            out.print(f"  … and {len(flagged) - SHOW_FLAGGED} more: every flagged sentence is listed under "
                      "\"flagged\" in review.json", highlight=False, soft_wrap=True)
    else:
        out.print("\nNo sentence flagged: every checked sentence is supported by the abstracts it cites.",
                  soft_wrap=True)

    for warning in draft.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    if draft.engine == "llm" and (draft.usage.calls or draft.usage.cached_calls):
        err.print(f"[dim]{draft.usage.summary()}[/]", highlight=False)
