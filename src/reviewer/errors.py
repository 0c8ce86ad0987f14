"""One error hierarchy. Every message says what went wrong and what to do about it.

The CLI catches :class:`ReviewerError` once, prints its message and exits non-zero;
any other exception is a bug.
"""

from __future__ import annotations


class ReviewerError(Exception):
    """Base class of every error reviewer raises on purpose."""


class InputError(ReviewerError):
    """A path or argument given by the user cannot be used (nothing has been written)."""


class ParseError(ReviewerError):
    """One record or file could not be parsed. Carries the place (file:line) it came from."""

    def __init__(self, message: str, *, file: str = "", line: int = 0):
        self.file = file
        self.line = line
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}")


class IndexError_(ReviewerError):
    """The index (Chroma collection or keyword index) is unusable as it stands."""


class EmbedderMismatchError(IndexError_):
    """The collection was built with another embedder than the one configured."""


class NotFoundError(ReviewerError):
    """A paper key (or another named thing) does not exist in the library."""


class ConfigError(ReviewerError):
    """A setting is missing or invalid."""


__all__ = [
    "ReviewerError",
    "InputError",
    "ParseError",
    "IndexError_",
    "EmbedderMismatchError",
    "NotFoundError",
    "ConfigError",
]
