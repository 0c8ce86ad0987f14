"""Shared fixtures. Tests read the sample corpus from ../shared/seeds (never copied into the repo)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

# The user's config file and logs database are never read or written by the tests: every test gets its own
# empty config and data directories (the session-wide ones below cover session fixtures and subprocesses).
HOME_VARIABLES = ("REVIEWER_CACHE_DIR", "REVIEWER_CONFIG_DIR", "REVIEWER_DATA_DIR")
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="reviewer-test-home-"))
os.environ["REVIEWER_CONFIG_DIR"] = str(_SESSION_HOME / "config")
os.environ["REVIEWER_DATA_DIR"] = str(_SESSION_HOME / "data")


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(tmp_path / "user-config"))
    monkeypatch.setenv("REVIEWER_DATA_DIR", str(tmp_path / "user-data"))


class CountingEmbedder:
    """Wraps a real embedder and counts the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.calls = 0
        self.texts = 0

    def embed_array(self, texts):
        self.calls += 1
        self.texts += len(texts)
        return self.inner.embed_array(texts)


@pytest.fixture(scope="session")
def minilm():
    from reviewer.index.embedder import LocalMiniLMEmbedder

    return LocalMiniLMEmbedder()


@pytest.fixture
def embedder(minilm):
    return CountingEmbedder(minilm)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    from reviewer.config import Settings

    for name in list(os.environ):
        if name.startswith("REVIEWER_") and name not in HOME_VARIABLES:
            monkeypatch.delenv(name)
    return Settings(db=tmp_path / "db")


@pytest.fixture
def open_library(settings, embedder):
    from reviewer.library import Library

    def _open(**kw):
        return Library.open(settings=kw.pop("settings", settings), embedder=kw.pop("embedder", embedder), **kw)

    return _open


def seed_papers(n: int, seed: str = "001_aadc7b4cf4d1cf3e.txt"):
    """The first n papers of a sample listing page, parsed by our own parser."""
    from reviewer.corpus.parsers import hfpapers

    path = SEEDS / seed
    return hfpapers.parse(str(path), path.read_text(encoding="utf-8")).papers[:n]


def write_listing(path: Path, papers) -> Path:
    """Write papers as a blank-line separated listing page (the sample corpus' first layout)."""
    blocks = ["new", "Get trending papers in your email inbox!", "Subscribe", "byAK and the research community", "Jul 2"]
    for paper in papers:
        blocks += [paper.title, paper.abstract]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


def unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def run_reviewer(monkeypatch, capsys, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Run the console script's entry point (`reviewer.cli.main:run`) with ``args`` (and ``stdin``, when given);
    returns (exit status, stdout, stderr)."""
    import io
    import sys

    from reviewer.cli.main import run

    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    monkeypatch.setattr(sys, "argv", ["reviewer", *args])
    with pytest.raises(SystemExit) as exit_:
        run()
    captured = capsys.readouterr()
    return exit_.value.code, captured.out, captured.err
