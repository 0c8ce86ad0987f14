"""The offline writing heuristics (reviewer.extractive): fragments, third person, short topics, the citation
budget of a draft, finding-over-premise choice, disagreement, the calibrated support check, and the eval
commands that measure them (citations, support, rationale)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from llm_fixtures import clean_env
from reviewer.cli.main import app
from reviewer.corpus.model import Paper
from reviewer.draft import Theme
from reviewer.evaluation.citations import Score
from reviewer.evidence import Evidence
from reviewer.extractive import answers as offline_answer
from reviewer.extractive import draft as offline_draft
from reviewer.extractive import support as offline_support
from reviewer.extractive.text import is_fragment, reword, sentences, short_topic, third_person

pytestmark = pytest.mark.block_network


# ------------------------------------------------------------------------------------------ text
@pytest.mark.parametrize("text", [
    "Table 2: accuracy of every model on the five benchmarks.",
    "Figure 3: attention maps of the induction heads in layer two.",
    "1 Introduction 2 Related Work 3 Method 4 Experiments 5 Conclusion",
    "Language models in practice 3 [figures] and their evaluation",
    "Brown et al., 2020. Language models are few-shot learners. In Proceedings of NeurIPS.",
    "Code and data are available at https://github.com/example/project.",
    "Too short to quote here.",
    "Background, scope and outline of this survey",
])
def test_fragments_are_never_quoted(text):
    assert is_fragment(text)
    assert sentences(f"{text.rstrip('.')}. Transformers learn to copy tokens from their context with induction heads.") == \
        ["Transformers learn to copy tokens from their context with induction heads."]


@pytest.mark.parametrize("text", [
    "We fine-tune on the GLUE benchmark and on a summarization dataset of news articles.",
    "Emergent abilities appear because of the metric chosen by the researcher.",
    "BIG-bench currently consists of 204 tasks contributed by 442 authors.",
])
def test_real_sentences_are_not_fragments(text):
    assert not is_fragment(text)


def test_first_person_becomes_third_person():
    authors = ["Rylan Schaeffer", "Brando Miranda", "Sanmi Koyejo"]
    assert third_person("In this paper, we show that our metric explains it.", authors) == \
        "Schaeffer et al. show that their metric explains it."
    assert third_person("Our results show that we need fewer examples.", ["Doe, Jane", "Bo Li"]) == \
        "Doe and Li's results show that they need fewer examples."
    assert third_person("We propose a new method.", ["Jane Doe"]) == "Doe and colleagues propose a new method."
    assert third_person("We propose a new method.") == "The authors propose a new method."
    assert third_person("This paper proposes a new method.") is None  # "this paper" in a review: left out
    assert third_person("I argue that scale is not enough.") is None
    assert third_person("Phase I trials are small.") == "Phase I trials are small."
    assert reword("Indeed, we find that the gap closes.") == "The authors find that the gap closes."
    assert reword("To address this challenge, we train a verifier.") == "The authors train a verifier."
    assert reword("These results underscore a need for larger studies.") is None  # points back: not standalone


def test_a_long_topic_is_named_by_a_short_phrase():
    assert short_topic("in-context learning") == "in-context learning"
    assert short_topic("We present our approach to few-shot learning. It uses meta-learning over many tasks and "
                       "is evaluated on several benchmarks in vision.") == "few-shot learning"
    assert short_topic("What are the key mechanisms for lipid nanoparticles to form a biomolecular corona with "
                       "serum proteins?") == "What are the key mechanisms for lipid nanoparticles to form a biomolecular …"
    intro = offline_draft.introduction("We present our approach to few-shot learning. It uses meta-learning over "
                                       "many tasks.", 8, 5, [Theme(0, "Meta-learning", [], [])])
    assert intro[1].text == ("It reviews 8 papers on few-shot learning in 1 theme, found by clustering their "
                             "embeddings: Meta-learning. It quotes the 5 most relevant to the topic.")


# ------------------------------------------------------------------------------------------ draft budget
def _paper(key: str, text: str) -> Paper:
    return Paper(key=key, title=text.split(".")[0], abstract=text)


def test_the_citation_budget_goes_to_themes_by_relevance(minilm):
    on_topic = {f"icl{i:02d}": _paper(f"icl{i:02d}", f"Transformers learn tasks in context from {i + 2} examples "
                                                     f"in the prompt. The effect grows with model size {i}.")
                for i in range(15)}
    off_topic = {f"bread{i}": _paper(f"bread{i}", f"Sourdough bread rises for {i + 5} hours before baking. "
                                                  "The crust depends on the oven temperature.")
                 for i in range(2)}
    papers = {**on_topic, **off_topic}
    themes = [Theme(0, "In-context learning", [], list(on_topic)), Theme(1, "Bread", [], list(off_topic))]
    vectors = {k: minilm.embed_array([p.abstract])[0] for k, p in papers.items()}
    centroids = np.array([np.mean([vectors[k] for k in t.keys], axis=0) for t in themes])
    topic = minilm.embed_array(["in-context learning in transformers"])[0]
    # retrieval ranks the on-topic papers first: with 8 quotes the small off-topic theme gets none
    order = list(on_topic) + list(off_topic)
    quotes = offline_draft.allocate(papers, themes, centroids, order, 8, minilm, topic, {})
    assert [s.keys[0] for s in quotes[0]] == list(on_topic)[:8] and quotes[1] == []
    # interleaved ranks: each theme gets as many quotes as it has papers among the 8 most relevant
    order = ["icl00", "bread0", *list(on_topic)[1:], "bread1"]
    quotes = offline_draft.allocate(papers, themes, centroids, order, 8, minilm, topic, {})
    assert len(quotes[0]) == 7 > len(quotes[1]) == 1
    for sentence in quotes[0] + quotes[1]:
        assert sentence.quote in papers[sentence.keys[0]].abstract
    assert offline_draft.budget(30) == 10 and offline_draft.budget(24) == 8 and offline_draft.budget(1) == 1


# ------------------------------------------------------------------------------------------ answers
EMERGENCE = Evidence(
    key="schaeffer2023mirage", title="Are Emergent Abilities of Large Language Models a Mirage?", score=0.6,
    abstract=("Recent work claims that large language models display emergent abilities, abilities not present in "
              "smaller-scale models that are present in larger-scale models. "
              "We find that emergent abilities appear due to the researcher's choice of metric rather than due to "
              "fundamental changes in model behavior with scale."))


def test_the_engine_quotes_the_finding_not_the_premise(minilm):
    question = "Do large language models display emergent abilities?"
    plain = offline_answer.best_sentences(question, [EMERGENCE], minilm, limit=1, plain=True)
    chosen = offline_answer.best_sentences(question, [EMERGENCE], minilm, limit=1)
    assert plain[0][0].startswith("Recent work claims")  # the most similar sentence restates the question
    assert chosen[0][0].startswith("We find that emergent abilities appear due to the researcher's choice")


def test_papers_that_disagree_are_both_cited(minilm):
    evidence = [
        Evidence(key="oswald2023gd", title="Transformers learn in-context by gradient descent", score=0.7,
                 abstract="We show that trained transformers implement gradient descent in their forward pass when "
                          "they learn in context on linear regression tasks."),
        Evidence(key="shen2024notgd", title="Do pretrained transformers learn in-context by gradient descent?",
                 score=0.6, abstract="We find that in-context learning in pretrained language models does not "
                                     "implement gradient descent: its updates differ from those of gradient descent "
                                     "on the same examples."),
    ]
    text = offline_answer.answer("Do transformers learn in context by gradient descent?", evidence, minilm)
    lines = text.splitlines()
    assert len(lines) == 3 and "[oswald2023gd]" in text and "[shen2024notgd]" in lines[-1]
    assert lines[-1].startswith("- The papers quoted do not all agree on ") and "[oswald2023gd]" in lines[-1]


# ------------------------------------------------------------------------------------------ support
def test_the_contradiction_cue_flags_an_opposite_direction(minilm):
    paper = Paper(key="ng2021aspirin", title="Aspirin and stroke",
                  abstract="In a trial of 4,000 adults, daily aspirin reduced the risk of stroke by a third. "
                           "Bleeding was more frequent in the treated group.")
    verdicts = offline_support.offline_verdicts(["Daily aspirin increased the risk of stroke in adults.",
                                                 "Daily aspirin reduced the risk of stroke in adults."],
                                                [["ng2021aspirin"], ["ng2021aspirin"]], {paper.key: paper}, minilm)
    assert "opposite directions" in verdicts[0].contradiction and not verdicts[0].supported()
    assert verdicts[1].contradiction == "" and verdicts[1].supported()


def test_eval_support_on_the_hand_written_set():
    result = CliRunner().invoke(app, ["eval", "support", "benchmarks/support/handwritten.jsonl"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "handwritten.jsonl" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[1:6] == ["N9 S12", "0.981", "-", "100%", "78%"]
    assert "best threshold over these files" in result.stdout


# ------------------------------------------------------------------------------------------ eval citations
def test_citation_scores():
    score = Score.of(["a", "b", "c", "a"], ["a", "c", "d", "e"])
    assert (score.recall, score.precision, score.cited) == (0.5, 2 / 3, 3)
    assert score.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert Score.of([], ["a"]).to_dict() == {"recall": 0.0, "precision": 0.0, "f1": 0.0, "cited": 0}


def test_eval_citations_through_the_console_script(tmp_path, monkeypatch):
    from review_fixtures import REVIEW_FIXTURE, REVIEW_KEYS

    data = tmp_path / "tiny"
    data.mkdir()
    rows = [json.loads(line) for line in REVIEW_FIXTURE.read_text().splitlines() if line.strip()]
    with open(data / "corpus.jsonl", "w") as out:
        for key, row in zip(REVIEW_KEYS, rows):
            out.write(json.dumps({"_id": key, "title": row["title"], "text": row["abstract"]}) + "\n")
    (data / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "low-rank adapters"}) + "\n")
    (data / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\thalvorsen2023lowrank\t1\n")
    (data / "answers.jsonl").write_text(json.dumps({
        "_id": "q1", "question": "How do low-rank adapters reduce the cost of fine-tuning?",
        "cited_ids": ["halvorsen2023lowrank", "demir2022prefix"]}) + "\n")
    clean_env(monkeypatch, tmp_path / "cache")
    result = CliRunner().invoke(app, ["eval", "citations", str(data), "--json", str(tmp_path / "c.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "c.json").read_text())
    assert [s["system"] for s in report["summaries"]] == ["ask", "review"]
    for outcome in report["outcomes"]:
        gold = {"halvorsen2023lowrank", "demir2022prefix"}
        hits = len(gold & set(outcome["cited"]))
        assert outcome["score"]["recall"] == round(hits / 2, 4)
        assert len(outcome["baseline"]) == len(outcome["cited"])  # the baseline returns as many papers
    ask = next(o for o in report["outcomes"] if o["system"] == "ask")
    assert "halvorsen2023lowrank" in ask["cited"]
