"""`review --update` with a model: the fake chat model of tests/llm_fixtures.py answers from a queue (chosen
replies; the real HTTP path is tests/test_review_update_recorded.py, from a cassette), so each test proves
exactly which calls an update makes — only the changed section, its support check and the
introduction — and that the other sections, transitions included, stay byte-identical."""

from __future__ import annotations

import json
import shutil

import pytest

from llm_fixtures import fake_llm, isolated_cache, open_fixture_library  # noqa: F401  (autouse)
from review_fixtures import REVIEW_THEMES, REVIEW_TOPIC
from reviewer import living, provenance
from reviewer.draft import SUPPORTED, UNCHECKED
from reviewer.errors import ConfigError
from test_review_llm import REPLIES, verdicts
from test_review_update import ADDITIONS, PRUNING, base_db  # noqa: F401  (fixture)

pytestmark = pytest.mark.block_network

SECTION = ("Learned rounding keeps two-bit weights accurate [weber2025twobit]. "
           "Keeping outlier channels in sixteen-bit precision makes four-bit weights accurate [novak2024fourbit].")
INTRO = ("Language models are costly to adapt and to serve.\n"
         "2: Quantization now reaches two bits.\n"
         "3: A new transition that must not replace the old one.")


@pytest.fixture
def library(base_db, minilm, monkeypatch, tmp_path):
    shutil.copytree(base_db, tmp_path / "db")
    return open_fixture_library(tmp_path / "db", minilm, monkeypatch, tmp_path / "cache")


@pytest.fixture
def out(library, tmp_path):
    llm, model = fake_llm(library, tmp_path / "first", *REPLIES)
    draft = library.review(REVIEW_TOPIC, themes=REVIEW_THEMES, llm=llm)
    assert model.replies == [] and [s.heading for s in draft.sections] == [
        "Parameter-efficient fine-tuning", "Quantization", "Knowledge distillation"]
    draft.write(tmp_path / "out")
    return tmp_path / "out"


def blocks(out):
    return provenance.section_blocks((out / "review.md").read_text(encoding="utf-8"))


def test_one_changed_theme_costs_its_section_its_check_and_the_introduction(out, library, tmp_path):
    old = blocks(out)
    library.ingest([ADDITIONS / "quantization.jsonl"])
    llm, model = fake_llm(library, tmp_path / "update", SECTION, verdicts((1, True, ""), (2, True, "")), INTRO)
    draft, changes = living.update_directory(library, out, llm=llm, today="2026-12-01")
    assert model.replies == [] and len(model.received) == 3
    section_prompt, check_prompt, intro_prompt = (m[-1].content for m in model.received)
    assert "[weber2025twobit]" in section_prompt and "[novak2024fourbit]" in section_prompt
    assert "[halvorsen2023lowrank]" not in section_prompt and "Section: Quantization" in section_prompt
    assert "Learned rounding keeps two-bit weights accurate" in check_prompt
    # the reduce step summarises each section without its old transition
    assert "3. A four-layer student keeps most of its teacher's accuracy." in intro_prompt
    assert "Distillation takes yet another route" not in intro_prompt
    assert changes.rewritten == ["Quantization"] and changes.added == {"weber2025twobit": "Quantization"}
    assert changes.usage.calls == 3 and 0 < changes.usage.input_tokens < changes.fresh_tokens

    new = blocks(out)
    assert new["## Parameter-efficient fine-tuning"] == old["## Parameter-efficient fine-tuning"]
    assert new["## Knowledge distillation"] == old["## Knowledge distillation"]  # its old transition kept
    assert new["## Knowledge distillation"].startswith("## Knowledge distillation\n\nDistillation takes yet another "
                                                       "route.")
    quantization = draft.sections[1].sentences()
    assert [(s.text, s.support) for s in quantization] == [
        ("Quantization now reaches two bits.", UNCHECKED),  # the new transition (a connective: not flagged)
        ("Learned rounding keeps two-bit weights accurate [weber2025twobit].", SUPPORTED),
        ("Keeping outlier channels in sixteen-bit precision makes four-bit weights accurate [novak2024fourbit].",
         SUPPORTED)]
    assert [s.text for s in draft.introduction] == ["Language models are costly to adapt and to serve."]
    entries = json.loads((out / "review.json").read_text(encoding="utf-8"))["provenance"]["sections"]
    assert [e["transitions"] for e in entries] == [0, 1, 1]
    assert "weber2025twobit" in (out / "references.bib").read_text(encoding="utf-8")
    assert any(line.startswith("Model tokens: 450 in 3 call(s); writing every section of this draft afresh would send about ")
               for line in changes.lines())


def test_a_new_theme_is_named_by_the_outline_prompt_and_comes_last(out, library, tmp_path):
    old = blocks(out)
    library.ingest([ADDITIONS / "pruning.jsonl"])
    outline = json.dumps({"themes": [{"id": 1, "name": "Pruning", "summary": "Removing weights."}]})
    text = " ".join(f"Pruning works [{k}]." for k in PRUNING)
    replies = [outline, text, verdicts(*((n, True, "") for n in (1, 2, 3))), "An introduction.\n4: Then pruning."]
    llm, model = fake_llm(library, tmp_path / "update", *replies)
    draft, changes = living.update_directory(library, out, llm=llm, today="2026-12-01")
    assert model.replies == [] and changes.new_themes == ["Pruning"]
    assert "Theme 1 (3 papers)" in model.received[0][-1].content
    assert [s.heading for s in draft.sections][-1] == "Pruning" and draft.themes[-1].summary == "Removing weights."
    new = blocks(out)
    for heading in ("Parameter-efficient fine-tuning", "Quantization", "Knowledge distillation"):
        assert new[f"## {heading}"] == old[f"## {heading}"]
    assert new["## Pruning"].startswith("## Pruning\n\nThen pruning. Pruning works [@")


def test_a_model_draft_is_not_updated_without_a_model(out, library):
    library.ingest([ADDITIONS / "quantization.jsonl"])
    with pytest.raises(ConfigError, match="this review was written with the model 'fake-model': configure a model"):
        living.update_directory(library, out)
