"""`review` with a fake model, end to end on the fixture library: outline, map (sections from their own
theme only), support check with rewrites and flags, reduce (introduction and transitions), usage, progress,
and reproducibility through the response cache."""

from __future__ import annotations

import dataclasses
import json

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import fake_llm, open_fixture_library
from review_fixtures import REVIEW_GROUPS, REVIEW_THEMES, REVIEW_TOPIC, review_db  # noqa: F401
from reviewer.chains.review import FRAMING_REASON, STEPS
from reviewer.draft import REWRITTEN, SUPPORTED, UNCHECKED, UNSUPPORTED
from reviewer.errors import NotFoundError
from reviewer.llm import Usage

pytestmark = pytest.mark.block_network

DISTILLATION, FINE_TUNING, QUANTIZATION = REVIEW_GROUPS  # clusters 1, 2, 3 (by size)

OUTLINE = json.dumps({"themes": [
    {"id": 2, "name": "Parameter-efficient fine-tuning", "summary": "Training few parameters of a frozen model."},
    {"id": 3, "name": "Quantization", "summary": "Fewer bits per weight."},
    {"id": 1, "name": "Knowledge distillation", "summary": "Small students learn from large teachers."},
]})
S1 = ("Low-rank adapters train under one percent of the parameters and match full fine-tuning [halvorsen2023lowrank]. "
      "Prefix vectors reach the quality of full fine-tuning on table-to-text generation "
      "[demir2022prefix; novak2024fourbit]. Adapters beat every other method on every task [ferreira2024bottleneck]."
      "\n\nUpdating only the top quarter of layers halves the training memory [sato2023layers].")
S1_FIXED = ("Adapter composition transfers a task to twenty low-resource languages without labelled data "
            "[ferreira2024bottleneck].")
S2 = ("Keeping outlier channels in sixteen-bit precision makes four-bit weights accurate [novak2024fourbit]. "
      "Mixed-precision models need retraining for every chip [petrova2024mixedprecision; smith2099made]. "
      "This shows that compression is a solved problem in every setting.")
S3 = ("A four-layer student keeps most of its teacher's accuracy [adeyemi2022distilling]. "
      "Self-distillation can make a student better than its teacher [goldberg2024selfdistillation].")
INTRO = ("Language models are costly to adapt and to serve. This review covers three answers: parameter-efficient "
         "fine-tuning, quantization and knowledge distillation.\n"
         "2: Beyond cheaper adaptation, quantization shrinks the model itself.\n"
         "3: Distillation takes yet another route [adeyemi2022distilling].")


def verdicts(*items) -> str:
    return json.dumps({"verdicts": [{"n": n, "supported": ok, "reason": why} for n, ok, why in items]})


def rewrites(*items) -> str:
    return json.dumps({"rewrites": [{"n": n, "text": text} for n, text in items]})


REPLIES = [
    OUTLINE,
    S1, S2, S3,  # map: one section per theme, in outline order
    verdicts((1, True, ""), (2, True, ""), (3, False, "no comparison with every method"), (4, True, "")),
    rewrites((1, S1_FIXED)), verdicts((1, True, "")),  # section 1: fixed by the rewrite
    verdicts((1, True, ""), (2, False, "retraining is not discussed")),
    rewrites((1, "Mixed-precision models are retrained per chip [petrova2024mixedprecision].")),
    verdicts((1, False, "still not discussed")),  # section 2: flagged
    verdicts((1, True, ""), (2, True, "")),  # section 3: all supported
    INTRO,
]


@pytest.fixture
def library(review_db, minilm, monkeypatch, tmp_path):
    return open_fixture_library(review_db, minilm, monkeypatch, tmp_path / "cache")


def run(library, tmp_path, replies=REPLIES, **kw):
    llm, model = fake_llm(library, tmp_path, *replies)
    events: list[tuple[str, int, int]] = []
    draft = library.review(REVIEW_TOPIC, themes=REVIEW_THEMES, llm=llm, progress=lambda *e: events.append(e), **kw)
    return draft, model, events


def test_the_llm_engine_writes_each_section_from_its_own_theme(library, tmp_path):
    draft, model, _ = run(library, tmp_path)
    assert model.replies == []  # every queued reply was asked for, in this order
    assert draft.engine == "llm"
    assert [(t.id, t.name, t.keys) for t in draft.themes] == [
        (1, "Parameter-efficient fine-tuning", FINE_TUNING), (2, "Quantization", QUANTIZATION),
        (0, "Knowledge distillation", DISTILLATION)]
    assert [s.heading for s in draft.sections] == [t.name for t in draft.themes]
    assert draft.themes[0].summary == "Training few parameters of a frozen model."
    assert sorted(draft.papers) == sorted(DISTILLATION + FINE_TUNING + QUANTIZATION)
    assert sorted(draft.points) == sorted(draft.papers)
    draft.check_citations()  # every key of every sentence resolves and is the sentence's own
    for section in draft.sections:  # every citation is a paper of the section's own theme
        assert {k for s in section.sentences() for k in s.keys} <= set(section.theme.keys)

    # the map prompts: each holds its theme's abstracts only
    calls = [[m.content for m in messages] for messages in model.received]
    section_prompts = [c[1] for c in calls[1:4]]
    for prompt, theme in zip(section_prompts, draft.themes):
        shown = {key for key in draft.papers if f"[{key}]" in prompt}
        assert shown == set(theme.keys)
        assert f"Section: {theme.name}" in prompt and REVIEW_TOPIC in prompt
    # the reduce prompt: outline and section summaries, no abstract
    intro_prompt = calls[-1][1]
    assert "1. Parameter-efficient fine-tuning — Training few parameters of a frozen model." in intro_prompt
    assert "Low-rank adapters train under one percent of the parameters" in intro_prompt
    assert not any(p.abstract[:60] in intro_prompt for p in draft.papers.values())
    assert "[halvorsen2023lowrank]" not in intro_prompt


def test_verdicts_rewrites_flags_and_warnings(library, tmp_path):
    draft, _, _ = run(library, tmp_path)
    first, second, third = draft.sections
    assert [(s.text, s.keys, s.support) for s in first.paragraphs[0]] == [
        ("Low-rank adapters train under one percent of the parameters and match full fine-tuning "
         "[halvorsen2023lowrank].", ["halvorsen2023lowrank"], SUPPORTED),
        ("Prefix vectors reach the quality of full fine-tuning on table-to-text generation [demir2022prefix].",
         ["demir2022prefix"], SUPPORTED),  # novak2024fourbit is not of this theme: removed
        (S1_FIXED, ["ferreira2024bottleneck"], REWRITTEN),
    ]
    assert first.paragraphs[0][2].original == ("Adapters beat every other method on every task "
                                                "[ferreira2024bottleneck].")
    assert first.paragraphs[0][2].reason == "first version unsupported: no comparison with every method"
    assert [(s.text, s.support) for s in first.paragraphs[1]] == [
        ("Updating only the top quarter of layers halves the training memory [sato2023layers].", SUPPORTED)]

    assert [(s.text, s.keys, s.support, s.reason) for s in second.sentences()] == [
        ("Beyond cheaper adaptation, quantization shrinks the model itself.", [], UNSUPPORTED, FRAMING_REASON),  # transition
        ("Keeping outlier channels in sixteen-bit precision makes four-bit weights accurate [novak2024fourbit].",
         ["novak2024fourbit"], SUPPORTED, ""),
        ("Mixed-precision models need retraining for every chip [petrova2024mixedprecision].",
         ["petrova2024mixedprecision"], UNSUPPORTED,
         "retraining is not discussed; the rewrite was not supported either (still not discussed)"),
        ("This shows that compression is a solved problem in every setting.", [], UNSUPPORTED, "cites no paper"),
    ]
    assert [(s.text, s.support) for s in third.sentences()] == [
        ("Distillation takes yet another route.", UNCHECKED),  # its citation removed: no abstracts in the reduce step
        ("A four-layer student keeps most of its teacher's accuracy [adeyemi2022distilling].", SUPPORTED),
        ("Self-distillation can make a student better than its teacher [goldberg2024selfdistillation].", SUPPORTED),
    ]
    assert [s.text for s in draft.introduction] == [
        "Language models are costly to adapt and to serve.",
        "This review covers three answers: parameter-efficient fine-tuning, quantization and knowledge distillation."]
    assert all(s.support == UNSUPPORTED and s.reason == FRAMING_REASON for s in draft.introduction)  # uncited claims
    assert [s.text for s in draft.flagged] == [
        "Language models are costly to adapt and to serve.",  # the introduction's uncited claims
        "This review covers three answers: parameter-efficient fine-tuning, quantization and knowledge distillation.",
        "Beyond cheaper adaptation, quantization shrinks the model itself.",  # a transition
        "Mixed-precision models need retraining for every chip [petrova2024mixedprecision].",
        "This shows that compression is a solved problem in every setting."]
    assert draft.warnings == [
        "4 of the 14 papers retrieved were left out: their similarity to the topic is under 0.3 "
        "(REVIEWER_GATE__PAPER_THRESHOLD) and none is in the top 3 of a retriever: fischer2022quantizationaware, "
        "ramirez2023activation, dubois2022sourdough, "
        "costa2023underwater",
        "section 'Parameter-efficient fine-tuning': removed citation(s) of keys that were not among its papers: "
        "novak2024fourbit",
        "section 'Quantization': removed citation(s) of keys that were not among its papers: smith2099made",
        "removed citation(s) from the introduction and transitions, which are written without the abstracts: "
        "adeyemi2022distilling",
    ]
    assert draft.cited_keys() == ["halvorsen2023lowrank", "demir2022prefix", "ferreira2024bottleneck",
                                  "sato2023layers", "novak2024fourbit", "petrova2024mixedprecision",
                                  "adeyemi2022distilling", "goldberg2024selfdistillation"]


def test_usage_settings_and_progress(library, tmp_path):
    draft, _, events = run(library, tmp_path)
    assert draft.usage == Usage(input_tokens=12 * 120, output_tokens=12 * 30, cost=draft.usage.cost, calls=12)
    assert draft.settings == {
        "topic": REVIEW_TOPIC, "engine": "llm", "model": "fake-model", "max_papers": 30, "themes_requested": 3,
        "themes": 3, "silhouettes": {}, "retrieved": 14, "reviewed": 10,
        "gate": {"answer_threshold": 0.51, "paper_threshold": 0.3, "top_ranks": 3},
        "support_check": "llm", "temperature": 0.0, "max_tokens": library.settings.llm.max_tokens,
        "evidence_tokens": library.settings.llm.evidence_tokens,
    }
    assert [e[0] for e in events if e[1] == 0] == list(STEPS)  # each step announced, in order
    for step in STEPS:
        mine = [e for e in events if e[0] == step]
        total = mine[0][2]
        assert [e[1] for e in mine] == list(range(total + 1))
    assert ("sections", 3, 3) in events and ("support check", 3, 3) in events


def test_the_same_run_from_the_cache_gives_the_same_draft(library, tmp_path):
    first, _, _ = run(library, tmp_path)
    second, model, _ = run(library, tmp_path, replies=[])  # nothing queued: every reply comes from the cache
    assert model.received == []
    assert second.usage.cached_calls == 12 and second.usage.calls == 0
    assert dataclasses.replace(first, usage=Usage()) == dataclasses.replace(second, usage=Usage())
    assert first.to_json() == second.to_json()


def test_no_relevant_paper_raises_without_a_model_call(library, tmp_path):
    llm, model = fake_llm(library, tmp_path, "never asked")
    with pytest.raises(NotFoundError, match=r"no paper in this collection is about 'the architecture of "
                                            r"medieval castles' \(best sentence similarity 0\.\d\d < 0\.51\)"):
        library.review("the architecture of medieval castles", llm=llm)
    assert model.received == []


def test_an_outline_that_leaves_a_theme_out(library, tmp_path):
    outline = json.dumps({"themes": [{"id": 3, "name": "## Quantization.", "summary": "Bits."},
                                     {"id": 9, "name": "Ghost", "summary": "No such theme."},
                                     {"id": 3, "name": "Again", "summary": "Duplicate."}]})
    replies = [outline, S2, S3, S1, verdicts((1, True, ""), (2, True, "")), verdicts((1, True, ""), (2, True, "")),
               verdicts((1, True, ""), (2, True, ""), (3, True, ""), (4, True, "")), "An introduction."]
    draft, model, _ = run(library, tmp_path, replies=replies)
    assert model.replies == []
    assert [t.name for t in draft.themes] == ["Quantization", "Student, teacher, soft labels",
                                              "Fine-tuning, adapter, languages"]
    assert "the outline left out theme(s) 1, 2: named by their distinctive terms" in draft.warnings
    assert [s.text for s in draft.introduction] == ["An introduction."]


def test_an_outline_naming_nothing_is_repaired_once_then_the_terms_name_the_themes(library, tmp_path):
    rest = [S3, S1, S2,  # sections in cluster order: distillation first
            verdicts((1, True, ""), (2, True, "")),
            verdicts((1, True, ""), (2, True, ""), (3, True, ""), (4, True, "")),
            verdicts((1, True, ""), (2, True, "")), "An introduction."]
    draft, model, _ = run(library, tmp_path, replies=[json.dumps({"themes": []}), "not json at all", *rest])
    assert model.replies == [] and draft.usage.calls == 9  # the outline, its repair, then the review goes on
    assert "name at least one of the themes [1, 2, 3]" in model.received[1][-1].content
    assert [t.name for t in draft.themes] == ["Student, teacher, soft labels", "Fine-tuning, adapter, languages",
                                              "Quantization, bits, outlier channels"]
    assert draft.themes[2].summary == "2 papers; distinctive terms: " + ", ".join(draft.themes[2].terms)
    assert any(w.startswith("no usable outline from the model (the model 'fake-model' twice sent a reply that is not "
                            "a valid Outline")
               and w.endswith("): the themes are named by their distinctive terms") for w in draft.warnings)


def test_a_repaired_outline_is_used(library, tmp_path):
    draft, model, _ = run(library, tmp_path / "r", replies=[json.dumps({"themes": []}), *REPLIES])
    assert model.replies == [] and draft.usage.calls == len(REPLIES) + 1
    assert [t.name for t in draft.themes] == ["Parameter-efficient fine-tuning", "Quantization",
                                              "Knowledge distillation"]


def test_unreadable_verdicts_flag_the_section_and_the_review_goes_on(library, tmp_path):
    replies = [OUTLINE, S1, S2, S3, "no", "still no",  # section 1's verdicts, twice unreadable
               rewrites(), "x", "y",  # its rewrite: empty; then section 2's verdicts, twice unreadable
               rewrites(), verdicts((1, True, ""), (2, True, "")), INTRO]
    draft, model, _ = run(library, tmp_path, replies=replies)
    assert model.replies == []
    first = draft.sections[0].sentences()
    assert all(s.flagged for s in first if s.keys) and "the model's verdicts could not be read" in first[0].reason
    assert not any(s.flagged for s in draft.sections[2].sentences())


def test_a_section_that_repeats_the_prompt_is_rejected_and_echoed_tags_are_stripped(library, tmp_path):
    from reviewer import prompts

    dump = " ".join(prompts.load("review_section").system.split()) + " [adeyemi2022distilling]"
    replies = [OUTLINE, S1, "</evidence> " + S2 + " <section>", dump, *REPLIES[4:10], INTRO]  # no check of section 3
    draft, model, _ = run(library, tmp_path, replies)
    assert model.replies == []  # the rejected section has no sentence to check: no support call for it
    assert [s.text for s in draft.sections[2].sentences()] == ["Distillation takes yet another route."]  # transition
    assert any(w.startswith("section 'Knowledge distillation': the model's text was rejected as unsafe: it repeats "
                            "the instructions of the prompt (") for w in draft.warnings)
    quantization = " ".join(s.text for s in draft.sections[1].sentences())
    assert "<section>" not in quantization and "evidence>" not in quantization
    assert "itself. Keeping outlier channels in sixteen-bit precision" in quantization  # after the transition
