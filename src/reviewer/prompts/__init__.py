"""Prompts as data: one TOML file per prompt (system + user template, declared variables).

Each file is validated when loaded: the variables used in its templates must be exactly the ones it
declares, so a missing or extra variable fails a test rather than a user.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from reviewer.errors import ConfigError


@dataclass(frozen=True)
class Prompt:
    name: str
    description: str
    variables: tuple[str, ...]
    system: str
    user: str

    @property
    def example_keys(self) -> tuple[str, ...]:
        """The citation keys the prompt's own instructions use as examples (never papers: a reply that copies
        one has it removed)."""
        from reviewer.citations import cited_keys

        return tuple(cited_keys(self.system))

    def render(self, **values: str) -> list[dict]:
        """Chat messages (role/content dicts) with every declared variable filled in."""
        given, declared = set(values), set(self.variables)
        if given != declared:
            raise ConfigError(f"prompt {self.name!r} needs {sorted(declared)}; got {sorted(given)}")
        return [
            {"role": "system", "content": self.system.format(**values).strip()},
            {"role": "user", "content": self.user.format(**values).strip()},
        ]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


@lru_cache(maxsize=None)
def load(name: str) -> Prompt:
    """The prompt ``name`` (file ``<name>.toml`` in this package), validated."""
    try:
        text = (resources.files(__name__) / f"{name}.toml").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no prompt named {name!r}; known: {', '.join(names())}") from None
    return parse(name, text)


def parse(name: str, text: str) -> Prompt:
    """A prompt from the text of its TOML file; raises ConfigError unless the templates use exactly the
    declared variables."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"prompt {name!r} is not valid TOML: {exc}") from None
    missing = [k for k in ("variables", "system", "user") if k not in data]
    if missing:
        raise ConfigError(f"prompt {name!r} lacks {', '.join(missing)}")
    prompt = Prompt(name, data.get("description", ""), tuple(data["variables"]), data["system"], data["user"])
    try:
        used = _fields(prompt.system) | _fields(prompt.user)
    except ValueError as exc:  # a stray "{" or "}" (write "{{" / "}}" for a literal brace)
        raise ConfigError(f"prompt {name!r}: bad template: {exc}") from None
    if used != set(prompt.variables):
        raise ConfigError(f"prompt {name!r}: templates use {sorted(used)} but declare {sorted(prompt.variables)}")
    return prompt
