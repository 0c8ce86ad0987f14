"""The README's Python examples run, in order, as a reader would paste them: in an empty folder holding
``papers.jsonl`` (a copy of the hand-written tests/fixtures/ask/papers.jsonl), with no LLM configured."""

from __future__ import annotations

import contextlib
import io
import re
import shutil

import pytest

from llm_fixtures import ASK_FIXTURE, REPO, clean_env

pytestmark = pytest.mark.block_network

BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks() -> list[str]:
    return BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_python_examples_of_the_whole_api():
    code = "\n".join(python_blocks())
    for name in ("Library.open", ".ingest(", ".search(", ".get(", ".ask(", ".compare(", ".review(", "ChatSession(",
                 ".sources()", ".export("):
        assert name in code, f"the README's Python examples do not show {name}"


def run_block(number: int, block: str, folder, monkeypatch) -> tuple[dict, str]:
    """Run one README block alone, as a reader pasting only it would: a fresh namespace, in an empty ``folder``
    holding only ``papers.jsonl``. Returns (its namespace, what it printed)."""
    folder.mkdir()
    monkeypatch.chdir(folder)
    shutil.copy(ASK_FIXTURE, folder / "papers.jsonl")
    namespace: dict = {"__name__": "readme"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block, f"README.md python block {number}", "exec"), namespace)
    return namespace, printed.getvalue()


def test_each_readme_python_example_runs_alone(tmp_path, monkeypatch):
    clean_env(monkeypatch, tmp_path / "cache")  # no LLM: the extractive engine answers
    first, second = python_blocks()

    _, out = run_block(1, first, tmp_path / "one", monkeypatch)
    assert out.startswith("6 new, 0 unchanged, 6 papers\n")
    assert "[okafor2024pretraining]" in out and "extractive No LLM is configured" in out
    assert (tmp_path / "one" / "out" / "icl" / "review.md").exists()
    assert (tmp_path / "one" / "out" / "icl" / "references.bib").exists()

    namespace, out = run_block(2, second, tmp_path / "two", monkeypatch)
    answer = namespace["answer"]
    assert out.startswith(answer.text + "\n")  # the streamed reply reads as text, not one piece per line
    assert (tmp_path / "two" / "chat.md").exists()
    assert (tmp_path / "two" / "chat.bib").read_text(encoding="utf-8").startswith("@")
    assert namespace["follow_up"].question.startswith("Does it hold for small models? — ")


def test_every_public_name_resolves_and_is_documented():
    import reviewer

    for name in reviewer.__all__:
        value = getattr(reviewer, name)
        assert value.__doc__ and value.__doc__.strip(), f"reviewer.{name} has no docstring"
    for name in ("ChatSession", "Library"):
        cls = getattr(reviewer, name)
        public = [m for m in vars(cls) if not m.startswith("_") and callable(getattr(cls, m))]
        undocumented = [m for m in public if not (getattr(cls, m).__doc__ or "").strip()]
        assert not undocumented, f"reviewer.{name} methods without a docstring: {undocumented}"
