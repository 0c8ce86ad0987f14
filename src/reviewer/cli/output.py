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
