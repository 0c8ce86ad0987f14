"""Fixtures of the `review` tests (imported by tests/test_review*.py).

* The review scenario: twelve made-up papers on three clear themes (parameter-efficient fine-tuning,
  quantization, knowledge distillation) plus two off-topic ones, in tests/fixtures/review/papers.jsonl.
  Cassettes hold prompts, so they only ever hold this hand-written text.
* The sample corpus (../shared/seeds, read at run time, never copied) as a library built once per session.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_fixtures import fixture_db

REVIEW_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "review" / "papers.jsonl"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

# The keys the library gives the fixture papers, in file order.
REVIEW_KEYS = [
    "halvorsen2023lowrank", "demir2022prefix", "ferreira2024bottleneck", "sato2023layers",
    "novak2024fourbit", "fischer2022quantizationaware", "ramirez2023activation", "petrova2024mixedprecision",
    "adeyemi2022distilling", "zhang2023intermediatelayer", "goldberg2024selfdistillation", "watanabe2024datafree",
    "costa2023underwater", "dubois2022sourdough",
]
REVIEW_TOPIC = "fine-tuning, quantization and distillation of language models"
REVIEW_THEMES = 3
# What retrieval and clustering make of the scenario (themes=3): the papers similar enough to the topic,
# clustered by size (ties: most central key), each one's papers most central first.
REVIEW_GROUPS = [
    ["adeyemi2022distilling", "goldberg2024selfdistillation", "zhang2023intermediatelayer", "watanabe2024datafree"],
    ["halvorsen2023lowrank", "sato2023layers", "demir2022prefix", "ferreira2024bottleneck"],
    ["novak2024fourbit", "petrova2024mixedprecision"],
]


def fixture_papers() -> dict:
    """The fixture papers as Paper records keyed as the library keys them (no library needed)."""
    from reviewer.corpus.model import Paper

    lines = [json.loads(line) for line in REVIEW_FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {key: Paper(key=key, title=row["title"], abstract=row["abstract"], year=row["year"],
                       authors=row["authors"].split("; "))
            for key, row in zip(REVIEW_KEYS, lines)}


@pytest.fixture(scope="session")
def review_db(tmp_path_factory, minilm) -> Path:
    """The data directory of the review scenario's library (built once per session, then only read)."""
    return fixture_db("review", [REVIEW_FIXTURE], tmp_path_factory, minilm)


@pytest.fixture(scope="session")
def seeds_db(tmp_path_factory, minilm) -> Path:
    """A library of the whole sample corpus (about 25 s to build, once per session)."""
    if not SEEDS.is_dir():
        pytest.skip(f"the sample corpus is not at {SEEDS}")
    return fixture_db("seeds", [SEEDS], tmp_path_factory, minilm)
