"""The result of `compare`: a table of methods x aspects whose every cell cites the papers that back it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from reviewer.corpus.model import Paper
from reviewer.evidence import Evidence
from reviewer.llm import Usage

NOT_REPORTED = "not reported"
NO_LLM_NOTE = (
    "No LLM is configured, so this table is extractive: each cell quotes the sentence of that method's papers "
    "most similar to the aspect. Set REVIEWER_LLM__BASE_URL (e.g. a local Ollama or llama.cpp server) or "
    "OPENAI_API_KEY for written cells."
)


@dataclass
class Cell:
    """One cell: a short text and the keys of the papers that back it (none when it is NOT_REPORTED)."""

    text: str = NOT_REPORTED
    keys: list[str] = field(default_factory=list)

    @property
    def reported(self) -> bool:
        return self.text != NOT_REPORTED


@dataclass
class Comparison:
    """A table of ``methods`` x ``aspects``; ``cells[method][aspect]`` is a :class:`Cell` whose keys are all in
    ``evidence[method]`` (the papers shown for that method). ``engine``: "llm" or "extractive"."""

    methods: list[str]
    aspects: list[str]
    cells: dict[str, dict[str, Cell]]
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    engine: str = "llm"
    topic: str | None = None
    papers: dict[str, Paper] = field(default_factory=dict, repr=False)  # every cited paper, by key

    @property
    def notice(self) -> str | None:
        """The extractive engine's one-line notice (no LLM configured), never part of the table; None with a model."""
        return NO_LLM_NOTE if self.engine == "extractive" else None

    def cell(self, method: str, aspect: str) -> Cell:
        return self.cells[method][aspect]

    def cited_keys(self) -> list[str]:
        """Every cited key, row by row, in order of first appearance."""
        keys: list[str] = []
        for method in self.methods:
            for aspect in self.aspects:
                keys += [k for k in self.cells[method][aspect].keys if k not in keys]
        return keys

    def citations(self) -> list[Paper]:
        """The cited papers, in order of first appearance (every cited key is a paper of the library)."""
        return [self.papers[k] for k in self.cited_keys()]

    def to_dict(self) -> dict:
        """The comparison as JSON-able data."""
        return {
            "topic": self.topic, "engine": self.engine,
            "notice": self.notice,
            "methods": self.methods, "aspects": self.aspects,
            "rows": [{"method": m, "cells": {a: {"text": c.text, "keys": c.keys} for a, c in self.cells[m].items()}}
                     for m in self.methods],
            "citations": [{"key": p.key, "title": p.title} for p in self.citations()],
            "evidence": {m: [{"key": e.key, "title": e.title, "score": round(e.score, 4)} for e in items]
                         for m, items in self.evidence.items()},
            "warnings": self.warnings, "usage": self.usage.to_dict(),
        }

    def to_markdown(self, note: bool = False) -> str:
        """A Markdown pipe table (each cell: text then ``[key; key]``), then the cited papers. The extractive
        engine's notice is :attr:`notice`, apart; ``note=True`` puts it above the table as a quote."""
        lines = [f"> {NO_LLM_NOTE}", ""] if note and self.engine == "extractive" else []
        lines.append("| " + " | ".join(["Method", *(_md(a.capitalize()) for a in self.aspects)]) + " |")
        lines.append("|" + " --- |" * (len(self.aspects) + 1))
        for method in self.methods:
            cells = [_md(method)]
            for aspect in self.aspects:
                cell = self.cells[method][aspect]
                cells.append(_md(cell.text + (f" [{'; '.join(cell.keys)}]" if cell.keys else "")))
            lines.append("| " + " | ".join(cells) + " |")
        cited = self.citations()
        if cited:
            lines += ["", "Sources:", ""] + [f"- [{p.key}] {' '.join(p.title.split())}" for p in cited]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """CSV, one row per method: ``method``, then per aspect its text and ``<aspect>_keys`` ("k1; k2")."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["method", *(c for a in self.aspects for c in (a, f"{a}_keys"))])
        for method in self.methods:
            row = [method]
            for aspect in self.aspects:
                cell = self.cells[method][aspect]
                row += [cell.text, "; ".join(cell.keys)]
            writer.writerow(row)
        return out.getvalue()


def _md(text: str) -> str:
    """``text`` safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")
