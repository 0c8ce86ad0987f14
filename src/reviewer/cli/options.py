"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DbOption = Annotated[
    Optional[Path],
    typer.Option("--db", help="Data directory of the library (default: .reviewer, or $REVIEWER_DB).", show_default=False),
]


def open_library(db: Path | None, *, create: bool = False):
    """The library in ``db``; only ``ingest`` passes ``create=True``, every other command reads an existing one."""
    from reviewer.library import Library

    return Library.open(db=db, create=create)
