"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DbOption = Annotated[
    Optional[Path],
    typer.Option("--db", help="Data directory of the library (default: .reviewer, or $REVIEWER_DB).", show_default=False),
]
ModelOption = Annotated[
    Optional[str],
    typer.Option("--model", "-m", help="The model to answer with, as the endpoint names it (default: llm.model "
                 "from the environment or config file; `reviewer models` shows it).", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead (schema: README, "
                                                         "\"JSON output\").")]
NoLogOption = Annotated[bool, typer.Option("--no-log", help="Do not record this command in the logs "
                                                            "(`reviewer logs`).")]


def open_library(db: Path | None, *, create: bool = False, model: str | None = None):
    """The library in ``db``; only ``ingest`` passes ``create=True``, every other command reads an existing one.
    ``model``: the --model option (overrides llm.model)."""
    from reviewer.config import load_settings
    from reviewer.library import Library

    settings = load_settings(llm={"model": model}) if model else None
    library = Library.open(db=db, settings=settings, create=create)
    if model and not library.settings.llm.configured:
        from reviewer.cli.output import err_console
        from reviewer.cli.output import safe

        err_console().print(f"[yellow]warning:[/] --model {safe(model)} is not used: no LLM endpoint is configured "
                            "(set REVIEWER_LLM__BASE_URL or OPENAI_API_KEY); the extractive engine answers",
                            highlight=False, soft_wrap=True)
    return library
