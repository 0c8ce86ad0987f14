"""`compare`: the table chain with a fake model (valid tables, schema repair, key checks, "not reported"), the
extractive engine on hand-written papers and on the sample corpus (../shared/seeds, read at run time), how
named methods get their evidence (PEFT_PAPERS: six made-up papers, written to a library at run time), and the
outputs (Markdown, CSV, JSON).

The scenario (tests/fixtures/compare/papers.jsonl: nine made-up papers, three on low-rank adaptation, two on
prompt tuning, two on adapters, two off topic) is shared with tests/test_compare_recorded.py and
tests/test_compare_cli.py, which import it from here.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import SEEDS
from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import fake_llm, clean_env, fixture_db, open_fixture_library
from reviewer import citations, extractive, gate
from reviewer.chains.compare import (ASPECTS, NO_LLM_NOTE, NOT_REPORTED, Cell, Comparison, Target, compare,
                                     extractive_cells, is_about, methods_from_titles, names_method, parse_aspects,
                                     parse_methods, table_schema)
from reviewer.errors import InputError, NotFoundError
from reviewer.evidence import Evidence
from reviewer.llm import LLMError, Usage

pytestmark = pytest.mark.block_network  # no test here may reach the network

# ------------------------------------------------------------------------------------------ the scenario
COMPARE_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "compare" / "papers.jsonl"
COMPARE_METHODS = ["low-rank adaptation", "prompt tuning", "quantum annealing"]
COMPARE_K = 3
# What each method retrieves (k=3, similarity >= 0.3), in order; nothing in the papers is about quantum annealing.
COMPARE_EVIDENCE = {
    "low-rank adaptation": ["lindqvist2024lowrank", "watanabe2024quantized", "novak2023ranklift"],
    "prompt tuning": ["fischer2022softprompt", "haddad2023long"],
    "quantum annealing": [],
}
UNCOVERED_WARNING = ("no paper of this collection is about 'quantum annealing' (best sentence similarity 0.27 < "
                     "0.51): its cells say 'not reported'")
LRA, PT, QA = COMPARE_METHODS

@pytest.fixture(scope="session")
def compare_db(tmp_path_factory, minilm) -> Path:
    """The data directory of the scenario's library (built once per test session, then only read)."""
    return fixture_db("compare", [COMPARE_FIXTURE], tmp_path_factory, minilm)


@pytest.fixture
def library(compare_db, minilm, monkeypatch, tmp_path):
    return open_fixture_library(compare_db, minilm, monkeypatch, tmp_path / "cache", {})


def table_json(rows: dict[str, dict[str, tuple[str, list[str]]]]) -> str:
    """A model's table reply: {method: {aspect: {"text": ..., "keys": [...]}}}."""
    return json.dumps({m: {a: {"text": t, "keys": k} for a, (t, k) in cells.items()} for m, cells in rows.items()})


ASPECTS3 = ["task", "approach", "results"]
GOOD = {
    LRA: {"task": ("Cheap fine-tuning of large language models.", ["novak2023ranklift"]),
          "approach": ("Learns low-rank weight updates next to frozen weights.",
                       ["novak2023ranklift", "watanabe2024quantized"]),
          "results": ("Matches full fine-tuning with 0.2% of the parameters.", ["novak2023ranklift"])},
    PT: {"task": ("Adapting one frozen model to many tasks.", ["fischer2022softprompt"]),
         "approach": ("Learns continuous prompt vectors [haddad2023long].", ["fischer2022softprompt"]),
         "results": ("Matches fine-tuning at ten billion parameters.", ["fischer2022softprompt"])},
}


def user_prompt(model) -> str:
    return model.last_messages()[1]["content"]


def assert_grounded(comparison: Comparison, library) -> None:
    """Every cited key is a paper of the library and in that method's evidence; every reported cell has keys."""
    for method in comparison.methods:
        allowed = {e.key for e in comparison.evidence[method]}
        for aspect in comparison.aspects:
            cell = comparison.cells[method][aspect]
            assert cell.reported == bool(cell.keys)
            assert set(cell.keys) <= allowed, (method, aspect, cell)
            assert not citations.cited_keys(cell.text)  # keys are listed apart, never left inside the text
    stored = library.store.get(comparison.cited_keys())
    assert [p.key for p in comparison.citations()] == comparison.cited_keys()
    assert all(stored[p.key].title == p.title for p in comparison.citations())


# ------------------------------------------------------------------------------------------ the model engine
def test_a_valid_table(library, tmp_path):
    llm, model = fake_llm(library, tmp_path, table_json(GOOD))
    comparison = library.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K, llm=llm)

    assert len(model.received) == 1
    assert comparison.engine == "llm" and comparison.methods == COMPARE_METHODS and comparison.aspects == ASPECTS3
    assert {m: [e.key for e in items] for m, items in comparison.evidence.items()} == COMPARE_EVIDENCE
    assert comparison.cell(LRA, "approach") == Cell("Learns low-rank weight updates next to frozen weights.",
                                                     ["novak2023ranklift", "watanabe2024quantized"])
    # A [key] cited in the text joins the cell's keys and leaves the text.
    assert comparison.cell(PT, "approach") == Cell("Learns continuous prompt vectors.",
                                                    ["fischer2022softprompt", "haddad2023long"])
    assert all(comparison.cell(QA, a) == Cell(NOT_REPORTED, []) for a in ASPECTS3)
    assert comparison.warnings == [UNCOVERED_WARNING]
    assert [p.key for p in comparison.citations()] == ["novak2023ranklift", "watanabe2024quantized",
                                                       "fischer2022softprompt", "haddad2023long"]
    assert (comparison.usage.calls, comparison.usage.input_tokens, comparison.usage.output_tokens) == (1, 120, 30)
    assert_grounded(comparison, library)


def test_the_prompt_shows_each_method_only_its_own_evidence(library, tmp_path):
    llm, model = fake_llm(library, tmp_path, table_json(GOOD))
    library.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K, llm=llm)
    system, user = model.last_messages()
    assert system["role"] == "system" and "untrusted" in system["content"] and NOT_REPORTED in system["content"]
    evidence = user["content"].split("<evidence>\n", 1)[1].split("\n</evidence>", 1)[0]
    sections = evidence.split("Method: ")[1:]
    assert [s.split("\n", 1)[0] for s in sections] == [LRA, PT]  # the uncovered method is not shown
    for section, method in zip(sections, [LRA, PT]):
        assert citations.cited_keys(section) == COMPARE_EVIDENCE[method]
        for key in COMPARE_EVIDENCE[method]:  # each paper as [key] title — abstract
            assert Evidence.of(library.get(key)).render() in section
    assert "- task: " + ASPECTS["task"] in user["content"] and "- data:" not in user["content"]
    assert QA not in user["content"]


def test_the_schema_has_one_required_cell_per_method_and_aspect():
    schema = table_schema([LRA, PT], ASPECTS3).model_json_schema()
    assert schema["required"] == [LRA, PT]
    row = schema["$defs"]["MethodRow"]
    assert row["required"] == ASPECTS3
    assert schema["$defs"]["TableCell"]["required"] == ["text", "keys"]


def test_an_invalid_json_reply_is_repaired_once(library, tmp_path):
    llm, model = fake_llm(library, tmp_path, '{"low-rank adaptation": {"task": ', table_json(GOOD))
    comparison = library.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K, llm=llm)
    assert len(model.received) == 2
    repair = model.last_messages()
    assert repair[-2] == {"role": "assistant", "content": '{"low-rank adaptation": {"task": '}
    assert repair[-1]["content"].startswith("That reply is not valid: ")
    assert comparison.cell(LRA, "task").text == "Cheap fine-tuning of large language models."
    assert comparison.warnings == [UNCOVERED_WARNING, "the model's first table was not valid; it was asked once to "
                                   "repair it, and the repaired table is shown"]
    assert comparison.usage.calls == 2


def test_a_table_missing_a_method_is_repaired_once(library, tmp_path):
    incomplete = table_json({LRA: GOOD[LRA]})
    llm, model = fake_llm(library, tmp_path, incomplete, table_json(GOOD))
    comparison = library.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K, llm=llm)
    assert len(model.received) == 2
    error = model.last_messages()[-1]["content"]
    assert "prompt tuning" in error and "Field required" in error  # the model is told what is missing
    assert comparison.cell(PT, "results").keys == ["fischer2022softprompt"]


def test_a_table_missing_an_aspect_is_repaired_once(library, tmp_path):
    rows = {LRA: GOOD[LRA], PT: {a: c for a, c in GOOD[PT].items() if a != "results"}}
    llm, model = fake_llm(library, tmp_path, table_json(rows), table_json(GOOD))
    library.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K, llm=llm)
    error = model.last_messages()[-1]["content"]
    assert "prompt tuning.results" in error and "Field required" in error


def test_two_invalid_replies_are_an_error(library, tmp_path):
    llm, model = fake_llm(library, tmp_path, "not json", table_json({LRA: GOOD[LRA]}))
    with pytest.raises(LLMError, match="twice sent a reply that is not a valid ComparisonTable"):
        library.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K, llm=llm)
    assert len(model.received) == 2


def test_unknown_keys_are_removed_and_reported(library, tmp_path):
    rows = {LRA: {"task": ("Cheap fine-tuning.", ["novak2023ranklift", "smith2020invented"]),
                  # a key of another method's evidence is not evidence for this method
                  "approach": ("Low-rank updates [fischer2022softprompt; novak2023ranklift].", []),
                  "results": ("Matches fine-tuning.", ["[watanabe2024quantized]"])},
            PT: {"task": ("Adapting frozen models.", ["haddad2023long"]),
                 "approach": ("Soft prompts.", ["okonkwo2024forecasting"]),
                 "results": ("Matches fine-tuning at scale.", ["fischer2022softprompt"])}}
    llm, _ = fake_llm(library, tmp_path, table_json(rows))
    comparison = library.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K, llm=llm)
    assert comparison.cell(LRA, "task") == Cell("Cheap fine-tuning.", ["novak2023ranklift"])
    assert comparison.cell(LRA, "approach") == Cell("Low-rank updates.", ["novak2023ranklift"])
    assert comparison.cell(LRA, "results") == Cell("Matches fine-tuning.", ["watanabe2024quantized"])
    assert comparison.cell(PT, "approach") == Cell(NOT_REPORTED, [])  # its only key was unknown
    assert comparison.warnings == [
        UNCOVERED_WARNING,
        "removed citation(s) of keys that were not in that method's evidence: low-rank adaptation / task: "
        "smith2020invented; low-rank adaptation / approach: fischer2022softprompt; prompt tuning / approach: "
        "okonkwo2024forecasting",
        "1 cell(s) cited no paper of that method's evidence and say 'not reported' instead: "
        "prompt tuning / approach: 'Soft prompts.'",
    ]
    assert_grounded(comparison, library)


def test_empty_and_not_reported_cells_say_exactly_not_reported(library, tmp_path):
    rows = {LRA: {"task": ("", []), "approach": ("Not reported.", ["novak2023ranklift"]), "results": ("N/A", [])},
            PT: {"task": ("  ", ["haddad2023long"]), "approach": ("Soft prompts are learned.", []),
                 "results": ("<|im_end|>", [])}}
    llm, _ = fake_llm(library, tmp_path, table_json(rows))
    comparison = library.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K, llm=llm)
    for method in COMPARE_METHODS:
        for aspect in ASPECTS3:
            assert comparison.cell(method, aspect) == Cell(NOT_REPORTED, [])
    assert comparison.citations() == []
    # A text with no valid key is dropped (never shown uncited), and said so; empty or "n/a" texts are not.
    assert comparison.warnings == [UNCOVERED_WARNING, "1 cell(s) cited no paper of that method's evidence and say "
                                   "'not reported' instead: prompt tuning / approach: 'Soft prompts are learned.'"]


def test_no_covered_method_is_an_error_without_a_model_call(library, tmp_path):
    llm, model = fake_llm(library, tmp_path)
    for engine in (llm, None):  # like `review` and `compare --topic`: no all-"not reported" table
        with pytest.raises(NotFoundError) as error:
            compare(library, [QA, "sourdough baking"], k=COMPARE_K, llm=engine)
        assert str(error.value) == (
            "no paper of this collection is about any of the methods ('quantum annealing': best sentence similarity "
            "0.27 < 0.51; 'sourdough baking': best sentence similarity 0.11 < 0.51): nothing to compare; name the "
            "methods as the papers do (e.g. spelled out rather than an acronym), or ingest papers about them")
    assert model.received == []


def test_an_empty_library_has_nothing_to_compare(minilm, tmp_path):
    from reviewer.config import Settings
    from reviewer.library import Library

    empty = Library.open(settings=Settings(db=tmp_path / "db"), embedder=minilm)
    with pytest.raises(NotFoundError, match="the library is empty, so there is nothing to compare: add papers"):
        empty.compare([LRA, PT])


def test_a_second_identical_comparison_comes_from_the_cache(library, tmp_path):
    llm, model = fake_llm(library, tmp_path, table_json(GOOD))
    first = library.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K, llm=llm)
    second = library.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K, llm=llm)
    assert len(model.received) == 1
    assert second.cells == first.cells
    assert (second.usage.calls, second.usage.cached_calls, second.usage.input_tokens) == (0, 1, 0)
    model.replies.append(table_json(GOOD))
    library.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K, llm=llm, use_cache=False)
    assert len(model.received) == 2


# ------------------------------------------------------------------------------------------ --topic
def test_topic_with_a_model_compares_the_methods_it_names(library, tmp_path):
    methods = json.dumps({"methods": ["RankLift", "SoftPrompt", "HyperTune 3000", "ranklift"]})
    table = table_json({"RankLift": {"task": ("Cheap fine-tuning.", ["novak2023ranklift"])},
                        "SoftPrompt": {"task": ("One frozen model for many tasks.", ["fischer2022softprompt"])}})
    llm, model = fake_llm(library, tmp_path, methods, table)
    comparison = library.compare(topic="parameter-efficient fine-tuning of language models", aspects=["task"],
                                 llm=llm)
    assert len(model.received) == 2
    first_prompt = [m.content for m in model.received[0]]
    assert "Topic: parameter-efficient fine-tuning of language models" in first_prompt[1]
    assert "at most 4 methods" in first_prompt[0]
    assert comparison.topic == "parameter-efficient fine-tuning of language models"
    assert comparison.methods == ["RankLift", "SoftPrompt"]  # an invented name and a duplicate are left out
    # A found method's evidence is narrowed to the papers that mention it.
    assert {m: [e.key for e in items] for m, items in comparison.evidence.items()} == {
        "RankLift": ["novak2023ranklift"], "SoftPrompt": ["fischer2022softprompt"]}
    assert comparison.cell("SoftPrompt", "task") == Cell("One frozen model for many tasks.", ["fischer2022softprompt"])
    assert comparison.warnings == ["the model also named method(s) that do not occur in the topic's papers (left "
                                   "out): HyperTune 3000"]
    assert comparison.usage.calls == 2


def test_topic_with_a_model_that_names_no_method_of_the_evidence_is_repaired(library, tmp_path):
    llm, model = fake_llm(library, tmp_path, '{"methods": ["Magic"]}', '{"methods": []}')
    with pytest.raises(LLMError, match="twice sent a reply that is not a valid MethodList"):
        library.compare(topic="parameter-efficient fine-tuning of language models", llm=llm)
    assert "it names no method that occurs in the evidence" in model.last_messages()[-1]["content"]


def test_topic_without_a_model_takes_the_names_that_head_the_titles(library):
    comparison = library.compare(topic="parameter-efficient fine-tuning of language models")
    assert comparison.engine == "extractive"
    assert comparison.methods == ["RankLift", "SoftPrompt", "AdapterStack",
                                  "Quantized Low-Rank Adaptation on a Single GPU"]
    assert {m: [e.key for e in items] for m, items in comparison.evidence.items()} == {
        "RankLift": ["novak2023ranklift"], "SoftPrompt": ["fischer2022softprompt"],
        "AdapterStack": ["novotny2023adapterstack"],
        "Quantized Low-Rank Adaptation on a Single GPU": ["watanabe2024quantized"]}
    assert comparison.cell("AdapterStack", "limitations") == Cell(
        "The fusion layer must be retrained whenever a new adapter is added.", ["novotny2023adapterstack"])
    assert_grounded(comparison, library)
    # (Library.compare finds MAX_METHODS; the chain takes max_methods, as `reviewer compare --max-methods` does)
    two = compare(library, topic="parameter-efficient fine-tuning of language models", max_methods=2)
    assert two.methods == ["RankLift", "SoftPrompt"]


def test_a_topic_the_collection_does_not_cover_is_an_error(library):
    with pytest.raises(NotFoundError, match="no paper of this collection is about the topic"):
        library.compare(topic="sourdough bread recipes")


def test_methods_from_titles():
    titles = ["RankLift: Low-Rank Adaptation", "A Very Long Name With Many Words In It: Something",
              "How Long Should a Soft Prompt Be?", "ranklift: again", "An Extremely Long Title That Has Far Too Many "
              "Words To Be A Name", "SoftPrompt: Continuous Prompts"]
    assert methods_from_titles(titles, 3) == [Target("RankLift", "RankLift: Low-Rank Adaptation"),
                                              Target("SoftPrompt", "SoftPrompt: Continuous Prompts"),
                                              Target("How Long Should a Soft Prompt Be", titles[2])]


# ------------------------------------------------------------------------------------------ inputs
def test_inputs_are_checked(library):
    with pytest.raises(InputError, match="not both"):
        library.compare([LRA], topic="fine-tuning")
    with pytest.raises(InputError, match="name at least one method"):
        library.compare([])
    with pytest.raises(InputError, match="name at least one method"):
        library.compare(["  ", "\n"])
    with pytest.raises(InputError, match="compare at most 8"):
        library.compare([f"method {i}" for i in range(9)])
    with pytest.raises(InputError, match="is not a short name"):
        library.compare([LRA], aspects=["task", "what: {x}"])
    with pytest.raises(InputError, match="no aspect given"):
        library.compare([LRA], aspects=[" ", ""])
    with pytest.raises(InputError, match="too long"):
        library.compare(["x" * 81])


def test_methods_and_aspects_are_cleaned():
    assert parse_methods(['  "Low-Rank  adaptation" ', "low-rank adaptation", "<prompt>\ntuning"]) == [
        "Low-Rank adaptation", "prompt tuning"]
    assert parse_aspects(["Task", " results ", "task", "training cost"]) == ["task", "results", "training cost"]
    assert parse_aspects("task,data") == ["task", "data"]
    assert parse_aspects(None) == list(ASPECTS)


# ------------------------------------------------------------------------------------------ outputs
def _sample() -> Comparison:
    cells = {"A | B": {"task": Cell("Pipes | and\nnewlines.", ["k1", "k2"]), "data": Cell()},
             "C": {"task": Cell(), "data": Cell('Says "quoted", with commas.', ["k2"])}}
    comparison = Comparison(["A | B", "C"], ["task", "data"], cells, {"A | B": [], "C": []}, ["w"], Usage(), "llm")
    from reviewer.corpus.model import Paper

    comparison.papers = {"k1": Paper(key="k1", title="First | paper"), "k2": Paper(key="k2", title="Second")}
    return comparison


def test_markdown_is_a_pipe_table_with_sources():
    assert _sample().to_markdown() == (
        "| Method | Task | Data |\n"
        "| --- | --- | --- |\n"
        "| A \\| B | Pipes \\| and newlines. [k1; k2] | not reported |\n"
        "| C | not reported | Says \"quoted\", with commas. [k2] |\n"
        "\nSources:\n\n- [k1] First | paper\n- [k2] Second\n")


def test_csv_has_one_row_per_method_and_a_keys_column_per_aspect():
    rows = list(csv.reader(io.StringIO(_sample().to_csv())))
    assert rows == [["method", "task", "task_keys", "data", "data_keys"],
                    ["A | B", "Pipes | and\nnewlines.", "k1; k2", NOT_REPORTED, ""],
                    ["C", NOT_REPORTED, "", 'Says "quoted", with commas.', "k2"]]


def test_to_dict_is_json():
    data = json.loads(json.dumps(_sample().to_dict()))
    assert data["methods"] == ["A | B", "C"] and data["aspects"] == ["task", "data"] and data["notice"] is None
    assert data["rows"][1] == {"method": "C", "cells": {"task": {"text": NOT_REPORTED, "keys": []},
                                                        "data": {"text": 'Says "quoted", with commas.', "keys": ["k2"]}}}
    assert data["citations"] == [{"key": "k1", "title": "First | paper"}, {"key": "k2", "title": "Second"}]
    assert data["warnings"] == ["w"] and data["usage"]["calls"] == 0


# ------------------------------------------------------------------------------------------ extractive engine
def assert_quoted(comparison: Comparison, library) -> None:
    """Every reported cell of an extractive table is a sentence of its one cited paper's abstract."""
    for method in comparison.methods:
        for aspect in comparison.aspects:
            cell = comparison.cells[method][aspect]
            if cell.reported:
                assert len(cell.keys) == 1
                abstract = library.get(cell.keys[0]).abstract.replace("[", "(").replace("]", ")")
                assert cell.text in extractive.sentences(abstract)


def test_extractive_engine_quotes_one_sentence_per_cell(library):
    assert library.llm() is None
    comparison = library.compare(COMPARE_METHODS, k=COMPARE_K)
    assert comparison.engine == "extractive" and comparison.usage.calls == 0
    assert comparison.to_markdown().startswith("| Method |") and comparison.notice == NO_LLM_NOTE
    assert comparison.to_markdown(note=True).startswith(f"> {NO_LLM_NOTE}\n\n| Method |")
    assert comparison.to_dict()["notice"] == NO_LLM_NOTE
    assert {m: [e.key for e in items] for m, items in comparison.evidence.items()} == COMPARE_EVIDENCE
    assert comparison.warnings == [UNCOVERED_WARNING]
    assert_grounded(comparison, library)
    assert_quoted(comparison, library)
    # Each aspect gets the sentence that is about it (the fixture's abstracts have one of each).
    assert comparison.cell(PT, "limitations") == Cell(
        "On small models, soft prompts are unstable to train and lag full fine-tuning by several points.",
        ["fischer2022softprompt"])
    assert comparison.cell(LRA, "approach") == Cell(
        "RankLift freezes the pretrained weights and learns a pair of low-rank matrices whose product is added to "
        "each attention projection.", ["novak2023ranklift"])
    assert comparison.cell(LRA, "data") == Cell(
        "We fine-tune on the GLUE benchmark and on a summarization dataset of news articles.", ["novak2023ranklift"])
    assert all(comparison.cell(QA, a) == Cell() for a in ASPECTS)
    # A sentence fills one cell at most.
    texts = [c.text for row in comparison.cells.values() for c in row.values() if c.reported]
    assert len(texts) == len(set(texts)) == 10


def test_extractive_engine_leaves_cells_it_has_no_sentence_for(library):
    comparison = library.compare(["river flood forecasting"], aspects=["data", "results"], k=1)
    assert comparison.evidence["river flood forecasting"][0].key == "okonkwo2024forecasting"
    assert comparison.cell("river flood forecasting", "results") == Cell(
        "Forecasts six hours ahead improve on a hydrological baseline by 15% in mean absolute error.",
        ["okonkwo2024forecasting"])
    assert comparison.cell("river flood forecasting", "data") == Cell()  # no sentence is about data


def test_extractive_evidence_is_not_cut_to_the_models_token_budget(compare_db, minilm, monkeypatch, tmp_path):
    """With no model there is no prompt: a long abstract must not push another paper out of a method's evidence."""
    small = open_fixture_library(compare_db, minilm, monkeypatch, tmp_path / "cache",
                                 {"REVIEWER_LLM__EVIDENCE_TOKENS": "100"})
    comparison = small.compare(COMPARE_METHODS, k=COMPARE_K)
    assert {m: [e.key for e in items] for m, items in comparison.evidence.items()} == COMPARE_EVIDENCE
    assert comparison.warnings == [UNCOVERED_WARNING]
    assert all(small.get(e.key).abstract == e.abstract for items in comparison.evidence.values() for e in items)
    # The model's prompt still gets its share of the budget (50 tokens per covered method), and says so.
    llm, _ = fake_llm(small, tmp_path, table_json(GOOD))
    with_model = small.compare(COMPARE_METHODS, aspects=ASPECTS3, k=COMPARE_K, llm=llm)
    assert any("of the evidence budget (REVIEWER_LLM__EVIDENCE_TOKENS)" in w for w in with_model.warnings)


# ------------------------------------------------------------------------------------------ named methods
# Five made-up papers on parameter-efficient fine-tuning, and one that only uses low-rank adaptation. The
# prompt-tuning paper also mentions prefix-tuning (as its own paper would); the adapters abstract is long.
PEFT_PAPERS = [
    ("Prefix-Tuning: Optimizing Continuous Prompts for Generation", "Lena Marsh", 2021,
     "Fine-tuning adapts a pretrained language model by updating all of its parameters, so every task needs its own "
     "full copy. We propose prefix-tuning, which keeps the language model frozen and learns a short sequence of "
     "continuous task-specific vectors that is prepended to the keys and values of every attention layer. We "
     "evaluate prefix-tuning on table-to-text generation with the E2E and WebNLG datasets and on abstractive "
     "summarization with XSUM. Training only 0.1% of the parameters, prefix-tuning matches fine-tuning with full "
     "data and outperforms it when fewer than 500 training examples are available. On summarization, prefix-tuning "
     "falls slightly behind fine-tuning and extrapolates less well to unseen topics."),
    ("Scaling Makes Prompt Tuning Competitive with Model Tuning", "Jonas Ebert", 2021,
     "Serving a separate fine-tuned copy of a large language model for every downstream task is costly. We explore "
     "prompt tuning, which learns a few soft prompt embeddings that are prepended to the input text while every "
     "weight of the model stays frozen. Our method can be seen as a simplification of prefix-tuning, which adds "
     "trainable vectors to every layer rather than to the input only. On the SuperGLUE benchmark, prompt tuning "
     "closes the gap to full model tuning as models grow beyond ten billion parameters. With models below one "
     "billion parameters, prompt tuning lags model tuning by several points and is sensitive to the initialization "
     "of the prompt."),
    ("Adapters: Parameter-Efficient Transfer Learning for NLP", "Hana Kim", 2022,
     "Fine-tuning large pretrained models is an effective transfer mechanism in natural language processing, but it "
     "is parameter inefficient when there are many downstream tasks, since each task needs a complete copy of the "
     "model. We insert small bottleneck adapter modules between the layers of a frozen pretrained transformer and "
     "train only the adapters for each new task, so that tasks can be added one after another without revisiting "
     "earlier ones. Each adapter projects the hidden states down to a small dimension, applies a nonlinearity and "
     "projects them back up, with a residual connection around the module and a near-identity initialization. We "
     "transfer BERT to 26 diverse text classification tasks, including the GLUE benchmark and several sentiment, "
     "topic and question classification datasets. Adapters attain within 0.4% of the performance of full "
     "fine-tuning on GLUE while adding only 3.6% parameters per task. The extra layers increase inference latency, "
     "and the best adapter size must be tuned for each task."),
    ("LoRA: Low-Rank Adaptation of Large Language Models", "Mei Zhou", 2022,
     "Full fine-tuning of ever larger language models becomes prohibitively expensive to store and deploy. We "
     "propose low-rank adaptation (LoRA), which freezes the pretrained weights and injects trainable rank "
     "decomposition matrices into each layer of the transformer. We evaluate LoRA on RoBERTa, DeBERTa, GPT-2 and "
     "GPT-3 across natural language understanding and generation benchmarks. LoRA reduces the number of trainable "
     "parameters by 10,000 times and matches or exceeds fine-tuning quality with no additional inference latency. "
     "The rank must be chosen per task, and batching inputs of different tasks in one forward pass is not "
     "straightforward."),
    ("BitFit: Fine-Tuning Only the Bias Terms of Transformers", "Omer Ben-Ami", 2022,
     "We study whether fine-tuning only the bias terms of a pretrained transformer is enough to adapt it. BitFit "
     "updates the bias terms and the task-specific classification layer while every other weight stays fixed. On "
     "the GLUE benchmark with BERT models, BitFit is competitive with full fine-tuning when training data are small. "
     "With larger training sets, BitFit falls behind full fine-tuning by a few points."),
    ("Growing a Library of Robot Skills in Parameter Space", "Tomas Riva", 2024,
     "Robots should reuse what they learned before when they meet a new task. We propose SkillBank, which keeps "
     "every skill the robot learns as a separate module and composes them for new tasks. Each skill is stored as a "
     "low-rank adaptation of a shared policy network, so a new skill costs few parameters. On simulated "
     "manipulation benchmarks, SkillBank learns new tasks twice as fast as training from scratch. Composition "
     "fails when two skills need conflicting motions."),
]
PREFIX, PROMPT, LORA = "prefix-tuning", "prompt tuning", "low-rank adaptation"


@pytest.fixture(scope="module")
def peft_library(tmp_path_factory, minilm):
    source = tmp_path_factory.mktemp("peft-source") / "peft.jsonl"
    source.write_text("".join(json.dumps({"title": t, "authors": a, "year": y, "abstract": x}) + "\n"
                              for t, a, y, x in PEFT_PAPERS), encoding="utf-8")
    db = fixture_db("compare-peft", [source], tmp_path_factory, minilm)
    with pytest.MonkeyPatch.context() as mp:
        library = open_fixture_library(db, minilm, mp, tmp_path_factory.mktemp("peft-cache"), {})
        yield library


def _key(library, title: str) -> str:
    return next(p.key for p in library.papers() if p.title == title)


def _row_keys(comparison, method) -> set[str]:
    return {k for c in comparison.cells[method].values() for k in c.keys}


def test_named_methods_get_the_papers_that_name_them_and_never_share_a_sentence(peft_library):
    prefix, prompt = (_key(peft_library, t) for t, *_ in PEFT_PAPERS[:2])
    comparison = peft_library.compare([PREFIX, PROMPT])
    # Of the papers retrieved, only those that name the method (the prompt-tuning paper mentions prefix-tuning).
    assert {m: {e.key for e in items} for m, items in comparison.evidence.items()} == {
        PREFIX: {prefix, prompt}, PROMPT: {prompt}}
    # The paper both methods retrieved is quoted for the method it is about: the rows do not repeat each other.
    assert _row_keys(comparison, PREFIX) == {prefix} and _row_keys(comparison, PROMPT) == {prompt}
    assert sum(c.reported for c in comparison.cells[PREFIX].values()) >= 4
    assert sum(c.reported for c in comparison.cells[PROMPT].values()) >= 4
    texts = [c.text for row in comparison.cells.values() for c in row.values() if c.reported]
    assert len(texts) == len(set(texts))
    assert comparison.cell(PREFIX, "approach").text.startswith("We propose prefix-tuning")
    assert comparison.warnings == []
    assert_grounded(comparison, peft_library)
    assert_quoted(comparison, peft_library)


def test_the_model_also_gets_only_the_papers_that_name_each_method(peft_library, tmp_path):
    prefix, prompt = (_key(peft_library, t) for t, *_ in PEFT_PAPERS[:2])
    rows = {PREFIX: {"task": ("Cheap adaptation.", [prefix])}, PROMPT: {"task": ("Cheap adaptation.", [prompt])}}
    llm, model = fake_llm(peft_library, tmp_path, table_json(rows))
    comparison = peft_library.compare([PREFIX, PROMPT], aspects=["task"], llm=llm)
    assert {m: {e.key for e in items} for m, items in comparison.evidence.items()} == {
        PREFIX: {prefix, prompt}, PROMPT: {prompt}}
    prompt_section = user_prompt(model).split(f"Method: {PROMPT}\n", 1)[1]
    assert citations.cited_keys(prompt_section) == [prompt]


def test_a_paper_that_only_uses_a_method_is_quoted_where_it_names_it(peft_library):
    lora, skills = _key(peft_library, PEFT_PAPERS[3][0]), _key(peft_library, PEFT_PAPERS[5][0])
    comparison = peft_library.compare([LORA], k=6)
    assert {e.key for e in comparison.evidence[LORA]} == {lora, skills}
    quoted = [c for c in comparison.cells[LORA].values() if c.keys == [skills]]
    # SkillBank's robots are not what low-rank adaptation is about: only its sentence on low-rank adaptation counts.
    assert all("low-rank adaptation" in c.text for c in quoted)
    assert comparison.warnings == [f"{LORA}: {skills} only mentions it, so only its sentences that name it are quoted"]
    assert comparison.cell(LORA, "approach").keys == [lora]


def test_a_method_no_paper_is_about_is_quoted_only_where_it_is_named(peft_library):
    skills = _key(peft_library, PEFT_PAPERS[5][0])
    evidence = {LORA: [Evidence.of(peft_library.get(skills), 0.4)]}
    warnings: list[str] = []
    cells = extractive_cells(peft_library.embedder, [LORA], list(ASPECTS), evidence, warnings)
    assert cells[LORA] and all("low-rank adaptation" in text for text, _ in cells[LORA].values())
    assert warnings == [f"{LORA}: none of its papers is about it ({skills} only mentions it), so only the sentences "
                        "that name it are quoted"]


def test_a_method_no_paper_names_falls_back_to_the_most_similar_papers(library):
    comparison = library.compare(["river flood forecasting"], aspects=["results"], k=1)
    assert [e.key for e in comparison.evidence["river flood forecasting"]] == ["okonkwo2024forecasting"]
    assert comparison.warnings == ["no paper retrieved for 'river flood forecasting' names it (nor its acronym): its "
                                   "cells come from the papers most similar to the name (okonkwo2024forecasting); "
                                   "check how the papers call it"]


@pytest.mark.parametrize("text, name, expected", [
    ("We propose prefix-tuning, which", "prefix-tuning", True),
    ("a simplification of prefix tuning", "Prefix-Tuning", True),
    ("Chain-of-Thought (CoT) Prompting is a dominant paradigm", "chain-of-thought prompting", True),
    ("alternative to reinforcement learning from human feedback (RLHF)", "RLHF", True),
    ("Reinforcement learning from human or AI preferences (RLHF/RLAIF)", "reinforcement learning from human feedback",
     True),
    ("Direct Preference Optimization (DPO) has been proposed", "DPO", True),
    ("an active learning strategy for DPO", "direct preference optimization", True),
    ("stacks of bottleneck adapters", "adapter", True),
    ("soft prompts prepended to the input", "prompt tuning", False),
    ("LoRA modules", "low-rank adaptation", False),  # an acronym that is not the initials: not guessed
    ("the pt file", "prompt tuning", False),  # two initials are too ambiguous
    ("prompt-tuningX", "prompt tuning", False),
])
def test_names_method(text, name, expected):
    assert names_method(text, name) is expected


def test_is_about_reads_the_title():
    about = [("SoftPrompt: Learning Continuous Prompts for Frozen Language Models", "prompt tuning"),
             ("MLPs Learn In-Context on Regression and Classification Tasks", "in-context learning"),
             ("LoRA: Low-Rank Adaptation of Large Language Models", "low-rank adaptation")]
    not_about = [("Step-level Value Preference Optimization for Mathematical Reasoning",
                  "direct preference optimization"),
                 ("Skill Expansion and Composition in Parameter Space", "low-rank adaptation"),
                 ("Scaling Makes Prompt Tuning Competitive with Model Tuning", "prefix-tuning")]
    assert all(is_about(Evidence("k", title, ""), name) for title, name in about)
    assert not any(is_about(Evidence("k", title, ""), name) for title, name in not_about)


# ------------------------------------------------------------------------------------------ the sample corpus
SAMPLE_PAGE = "003_afd7636b7b7e31f6.txt"  # 191 papers; 14 mention chain-of-thought, 18 in-context learning


@pytest.fixture(scope="module")
def sample_library(tmp_path_factory, minilm):
    """One listing page of the sample corpus (read from ../shared/seeds, never copied), ingested once."""
    from reviewer.config import Settings
    from reviewer.library import Library

    directory = tmp_path_factory.mktemp("compare-sample")
    with pytest.MonkeyPatch.context() as mp:
        clean_env(mp, directory / "cache")
        library = Library.open(settings=Settings(db=directory / "db"), embedder=minilm)
        library.ingest([SEEDS / SAMPLE_PAGE])
        yield library


@pytest.fixture(scope="module")
def sample_corpus():
    """{key: Paper} of the sample page, as the parser reads it."""
    from reviewer.corpus.loader import load

    return {(p.title, p.abstract): p for p in load([SEEDS / SAMPLE_PAGE]).papers}


def _assert_in_corpus(comparison, library, sample_corpus) -> None:
    assert comparison.citations()
    for paper in comparison.citations():
        assert (paper.title, paper.abstract) in sample_corpus  # a real paper of the sample corpus
        assert paper.provenance[0].startswith(str(SEEDS / SAMPLE_PAGE) + ":")
    assert_grounded(comparison, library)
    assert_quoted(comparison, library)


def test_extractive_compare_on_the_sample_corpus(sample_library, sample_corpus):
    methods = ["chain-of-thought prompting", "in-context learning", "continual learning", "sourdough bread baking"]
    comparison = sample_library.compare(methods)
    _assert_in_corpus(comparison, sample_library, sample_corpus)
    assert comparison.methods == methods
    assert [e.key for e in comparison.evidence["sourdough bread baking"]] == []
    assert all(not c.reported for c in comparison.cells["sourdough bread baking"].values())
    assert comparison.warnings[0].startswith(
        "no paper of this collection is about 'sourdough bread baking' (best sentence similarity 0.")
    for method in methods[:3]:  # the covered methods get most of their cells filled
        assert sum(c.reported for c in comparison.cells[method].values()) >= 4
        decision = gate.decide(sample_library, method, sample_library.search(method, k=4))  # k: compare's default
        assert decision.answerable
        assert {e.key for e in comparison.evidence[method]} <= {j.key for j in decision.kept}
    assert comparison.cell("chain-of-thought prompting", "limitations").text == \
        "However, these generated chains often come with mistakes."
    # The same through every output: keys in Markdown, CSV and JSON all resolve.
    keys = set(comparison.cited_keys())
    assert set(citations.cited_keys(comparison.to_markdown())) == keys
    csv_keys = {k for row in csv.DictReader(io.StringIO(comparison.to_csv()))
                for a in comparison.aspects for k in row[f"{a}_keys"].split("; ") if k}
    assert csv_keys == keys
    assert {c["key"] for c in comparison.to_dict()["citations"]} == keys


def test_extractive_topic_on_the_sample_corpus(sample_library, sample_corpus):
    comparison = compare(sample_library, topic="chain-of-thought reasoning", max_methods=3)
    assert len(comparison.methods) == 3 and comparison.topic == "chain-of-thought reasoning"
    _assert_in_corpus(comparison, sample_library, sample_corpus)
    for method in comparison.methods:  # each found method's evidence mentions it
        assert comparison.evidence[method]
        assert all(method.casefold() in f"{e.title} {e.abstract}".casefold() for e in comparison.evidence[method])
