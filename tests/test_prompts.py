"""Prompts are data (src/reviewer/prompts/*.toml, shipped as package data): each one loads and validates,
and a missing or extra variable fails here rather than in front of a user."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from importlib import resources

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import REPO
from reviewer import prompts
from reviewer.errors import ConfigError

pytestmark = pytest.mark.block_network  # no test here may reach the network

GOOD = '''
description = "test"
variables = ["question", "evidence"]
system = "Use only the evidence."
user = """<evidence>
{evidence}
</evidence>
Question: {question}"""
'''


def test_there_are_prompts():
    assert "ask" in prompts.names()


@pytest.mark.parametrize("name", prompts.names())
def test_every_prompt_validates_and_renders(name):
    prompt = prompts.load(name)
    assert prompt.variables and prompt.system.strip() and prompt.user.strip() and prompt.description
    values = {v: f"<{v} value>" for v in prompt.variables}
    system, user = prompt.render(**values)
    assert system["role"] == "system" and user["role"] == "user"
    rendered = system["content"] + user["content"]
    for value in values.values():
        assert value in rendered
    assert "{" not in rendered.replace("{{", "")  # nothing left unfilled
    for missing in prompt.variables:  # a missing variable fails
        with pytest.raises(ConfigError, match="needs"):
            prompt.render(**{k: v for k, v in values.items() if k != missing})
    with pytest.raises(ConfigError, match="needs"):  # so does an extra one
        prompt.render(**values, surprise="x")


def test_prompts_that_fence_evidence_say_it_is_untrusted():
    for name in prompts.names():
        prompt = prompts.load(name)
        if "evidence" in prompt.variables:
            assert "<evidence>\n{evidence}\n</evidence>" in prompt.user
            assert "untrusted" in prompt.system and "never an" in prompt.system


def test_a_template_variable_that_is_not_declared_fails():
    with pytest.raises(ConfigError, match=r"templates use \['evidence', 'question'\] but declare \['evidence'\]"):
        prompts.parse("bad", GOOD.replace('variables = ["question", "evidence"]', 'variables = ["evidence"]'))


def test_a_declared_variable_that_no_template_uses_fails():
    with pytest.raises(ConfigError, match="but declare"):
        prompts.parse("bad", GOOD.replace('["question", "evidence"]', '["question", "evidence", "k"]'))


@pytest.mark.parametrize("broken, message", [
    (GOOD.replace('system = "Use only the evidence."', 'system = "Use {only the evidence."'), "bad template"),
    (GOOD.replace('variables = ["question", "evidence"]\n', ""), "lacks variables"),
    (GOOD + "\nsystem = 'twice'\n", "not valid TOML"),
])
def test_broken_prompt_files_fail_with_a_clear_message(broken, message):
    with pytest.raises(ConfigError, match=message):
        prompts.parse("bad", broken)


def test_the_good_example_parses():
    prompt = prompts.parse("good", GOOD)
    assert prompt.render(question="q", evidence="e")[1]["content"] == "<evidence>\ne\n</evidence>\nQuestion: q"


def test_an_unknown_prompt_names_the_known_ones():
    with pytest.raises(ConfigError, match="no prompt named 'nope'; known: ask"):
        prompts.load("nope")


def test_every_prompt_file_ships_in_the_wheel():
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = package_data["reviewer.prompts"]
    files = [p.name for p in resources.files("reviewer.prompts").iterdir()
             if p.is_file() and not p.name.endswith((".py", ".pyc"))]
    assert "ask.toml" in files
    assert all(any(fnmatch(f, pattern) for pattern in patterns) for f in files)
