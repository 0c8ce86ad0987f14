"""Shared console helpers for the CLI."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def console():
    from rich.console import Console

    return Console()


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
