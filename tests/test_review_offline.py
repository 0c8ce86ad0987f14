"""`review` with no model (the extractive engine) on the sample corpus (../shared/seeds, read at run time):
every citation resolves to a paper of the corpus that belongs to its section's theme, sentences are quotes,
the same run gives the same draft, and a topic the corpus does not cover is an error."""

from __future__ import annotations

import dataclasses

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import open_fixture_library
from review_fixtures import REVIEW_TOPIC, review_db, seeds_db  # noqa: F401
from reviewer import citations, support, themes
from reviewer.chains.review import EXTRACTIVE_NOTE, STEPS
from reviewer.extractive import draft as offline
from reviewer.draft import SUPPORTED, UNCHECKED
from reviewer.errors import InputError, NotFoundError

pytestmark = pytest.mark.block_network

TOPIC = "in-context learning in large language models"


@pytest.fixture
def seeds(seeds_db, minilm, monkeypatch, tmp_path):
    return open_fixture_library(seeds_db, minilm, monkeypatch, tmp_path / "cache")


def test_every_citation_is_a_corpus_paper_of_its_sections_theme(seeds):
    assert seeds.llm() is None
    draft = seeds.review(TOPIC, max_papers=24)
    assert draft.engine == "extractive"
    assert 1 <= len(draft.papers) <= 24
    low, high = themes.k_bounds(len(draft.papers))
    assert low <= len(draft.themes) <= high and 1 <= len(draft.sections) <= len(draft.themes)
    assert sorted(k for t in draft.themes for k in t.keys) == sorted(draft.papers)  # each paper in one theme
    draft.check_citations()
    stored = seeds.store.get(sorted(draft.papers))
    for section in draft.sections:
        assert section.theme.terms and section.heading == section.theme.name
        sentences = section.sentences()
        assert 1 <= len(sentences)
        for sentence in sentences:
            assert len(sentence.keys) == 1 and sentence.keys == citations.cited_keys(sentence.text)
            key = sentence.keys[0]
            assert key in stored and key in section.theme.keys
            assert sentence.quote in stored[key].abstract  # the sentence it quotes, word for word
            assert sentence.support == SUPPORTED and sentence.score >= 0.9  # quotes pass the offline check
    quoted = [k for s in draft.sections for sentence in s.sentences() for k in sentence.keys]
    assert len(quoted) == len(set(quoted)) == offline.budget(24)  # one quote from each of the 8 most relevant
    assert draft.flagged == []
    assert [s.support for s in draft.introduction] == [UNCHECKED, UNCHECKED]
    assert draft.introduction[0].text == EXTRACTIVE_NOTE
    assert draft.usage.calls == 0
    assert sorted(draft.points) == sorted(draft.papers)
    assert draft.settings["engine"] == "extractive" and draft.settings["model"] is None
    assert draft.settings["themes"] == len(draft.themes) and draft.settings["themes_requested"] is None
    assert set(draft.settings["silhouettes"]) == {str(k) for k in range(low, high + 1)}


def test_the_same_run_gives_the_same_draft(seeds):
    first = seeds.review(TOPIC, max_papers=20, themes=3)
    second = seeds.review(TOPIC, max_papers=20, themes=3)
    assert first == second
    assert len(first.themes) == 3 and first.settings["themes_requested"] == 3
    assert dataclasses.asdict(first) == dataclasses.asdict(second)
    assert first.to_json() == second.to_json()


def test_a_topic_the_corpus_does_not_cover_is_an_error(seeds):
    with pytest.raises(NotFoundError, match="no paper in this collection is about 'the best recipe for sourdough "
                                            "bread'"):
        seeds.review("the best recipe for sourdough bread")


@pytest.fixture
def small(review_db, minilm, monkeypatch, tmp_path):
    return open_fixture_library(review_db, minilm, monkeypatch, tmp_path / "cache")


def test_the_extractive_engine_on_the_fixture_library(small):
    events: list[tuple[str, int, int]] = []
    draft = small.review(REVIEW_TOPIC, progress=lambda *e: events.append(e))
    assert len(draft.papers) == 10 and themes.k_bounds(10) == (2, 2) and len(draft.themes) == 2
    assert draft.settings["silhouettes"].keys() == {"2"}
    assert [e[0] for e in events if e[1] == 0] == list(STEPS)
    assert events[-1] == ("introduction", 1, 1)
    assert draft.introduction[1].text.startswith(f"It reviews 10 papers on {REVIEW_TOPIC} in 2 themes, found by "
                                                 "clustering their embeddings: ")
    assert draft.warnings == ["4 of the 14 papers retrieved were left out: their similarity to the topic is under "
                              "0.3 (REVIEWER_GATE__PAPER_THRESHOLD) and none is in the top 3 of a retriever: "
                              "fischer2022quantizationaware, ramirez2023activation, "
                              "dubois2022sourdough, costa2023underwater"]
    # The budget: a third of max_papers (30) is 10 quotes, one from each of the 10 papers admitted.
    quoted = [k for s in draft.sections for sentence in s.sentences() for k in sentence.keys]
    assert sorted(quoted) == sorted(draft.papers) and draft.settings["quotes"] == 10


def test_bad_arguments(small):
    with pytest.raises(InputError, match="empty"):
        small.review("  ")
    with pytest.raises(InputError, match="--max-papers must be at least 1"):
        small.review(REVIEW_TOPIC, max_papers=0)
    with pytest.raises(InputError, match="--themes must be at least 1"):
        small.review(REVIEW_TOPIC, themes=0)
    draft = small.review(REVIEW_TOPIC, max_papers=3, themes=5)
    assert len(draft.papers) <= 3 and len(draft.themes) == len(draft.papers)
    assert f"5 themes were asked for but only {len(draft.papers)} paper(s) are about the topic: " \
           f"{len(draft.papers)} theme(s)" in draft.warnings


def test_an_empty_library_says_so(tmp_path, minilm, monkeypatch):
    from llm_fixtures import clean_env
    from reviewer.config import Settings
    from reviewer.library import Library

    clean_env(monkeypatch, tmp_path / "cache")
    empty = Library.open(settings=Settings(db=tmp_path / "db"), embedder=minilm)
    with pytest.raises(NotFoundError, match=r"^the library is empty, so there is nothing to review: add papers "):
        empty.review("in-context learning")
