"""Citation keys: exact keys, collision suffixes, stability of existing keys, the taken set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reviewer.corpus import Paper, assign_keys, load, make_base_key
from reviewer.corpus.keys import BARE_WORDS, candidates

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def paper(title: str, authors: list[str] | None = None, year: int | None = None, key: str = "") -> Paper:
    return Paper(title=title, abstract="x", authors=authors or [], year=year, key=key)


@pytest.mark.parametrize(
    "title, authors, year, expected",
    [
        ("Synapse: Trajectory-as-Exemplar Prompting with Memory for Computer Control", ["Longtao Zheng"], 2024, "zheng2024synapse"),
        ("Large Language Models are Zero-Shot Reasoners", ["Takeshi Kojima", "Shixiang Shane Gu"], 2022, "kojima2022zeroshot"),
        ("The Effect of Things", ["Müller, Jörg"], 2021, "muller2021effect"),
        ("Towards Better Retrieval", ["Łukasz Kaiser"], 2019, "kaiser2019better"),
        ("On the Opportunities and Risks", ["Rishi Bommasani et al."], 2021, "bommasani2021opportunities"),
        ("A Study", ["Martin Luther King Jr."], 1963, "king1963study"),
        ("Inst-IT: Boosting Multimodal Instance Understanding via Explicit Visual Prompt Instruction Tuning", [], None, "instit"),
        ("BDoG: A Blueprint Debate Paradigm for Multimodal Reasoning", [], None, "bdog"),
        ("TD-MPC2: Scalable, Robust World Models for Continuous Control", [], None, "tdmpc2"),
        ("The Tensor Brain: Semantic Decoding for Perception and Memory", [], None, "tensorbrain"),
        ("Model-based Reinforcement Learning: A Survey", [], None, "modelbasedreinforcement"),
        ("A Picture Is Worth a Graph: A Blueprint Debate Paradigm for Multimodal Reasoning", [], None, "pictureworth"),
        ("Towards Understanding Chain-of-Thought Prompting", [], None, "chainofthoughtprompting"),
        ("Are Large Language Models Post Hoc Explainers?", [], None, "posthoc"),
        ("Deep Learning", [], None, "deeplearning"),
        ("The", [], None, "tbbccdf2e"),  # a bare stopword is never a key: t + sha1 of the normalised title
        ("Task Vectors Are Cross-Modal", [], None, "taskvectors"),  # two significant words, not "task"
        ("Power: A Study of Scale", [], None, "powerscale"),  # a short name that is a bare common word is not used
        ("The Open Source Advantage in Large Language Models (LLMs)", [], None, "opensource"),
        ("Café au lait", ["Jane Doe"], None, "cafeau"),
        ("知识图谱", [], None, "zhishitupu"),
        ("Глубокое обучение с подкреплением", [], None, "glubokoeobuchenie"),
        ("Βαθιά μάθηση", ["Γιώργος Παπαδόπουλος"], 2020, "papadopoylos2020vathia"),
        ("التعلم العميق", [], None, "ltlmlmyq"),
        ("？！", [], None, "tda39a3ee"),  # nothing to transliterate: t + sha1 of the (empty) normalised title
    ],
)
def test_base_keys(title, authors, year, expected):
    assert make_base_key(paper(title, authors, year)) == expected


@pytest.mark.parametrize("title, expected", [
    ("Task Vectors Are Cross-Modal", "task"), ("Inst-IT: Boosting Multimodal Instance Understanding", "instit"),
    ("Images Speak in Images: A Generalist Painter", "images")])
def test_the_first_word_style_is_the_former_rule(title, expected):
    assert make_base_key(paper(title), "first-word") == expected


def test_collisions_get_letter_suffixes_in_list_order():
    papers = [paper("Synapse: One", ["Wei Chen"], 2024), paper("Synapse two", ["Wei Chen"], 2024),
              paper("Synapse three", ["Chen, Li"], 2024)]  # fmt: skip
    assign_keys(papers, set())
    assert [p.key for p in papers] == ["chen2024synapse", "chen2024synapseb", "chen2024synapsec"]


def test_suffixes_run_b_to_z_then_numbers():
    keys = list(zip(range(28), candidates("abc")))
    assert [k for _, k in keys][:3] == ["abc", "abcb", "abcc"]
    assert [k for _, k in keys][25:] == ["abcz", "abc27", "abc28"]


def test_existing_keys_never_change_and_taken_is_respected():
    kept = paper("Synapse", ["Wei Chen"], 2024, key="chen2024synapse")
    renamed = paper("Something Else Entirely", ["Wei Chen"], 2024, key="chen2024synapse")  # key is kept as is
    new = [paper("Synapse", ["Wei Chen"], 2024), paper("Inst-IT: x"), paper("Inst-IT: y")]
    taken = {"instit", "chen2024synapseb"}
    assign_keys([kept, renamed, *new], taken)
    assert (kept.key, renamed.key) == ("chen2024synapse", "chen2024synapse")
    assert [p.key for p in new] == ["chen2024synapsec", "institx", "instity"]  # next title word first
    assert taken == {"instit", "chen2024synapse", "chen2024synapseb", "chen2024synapsec", "institx", "instity"}


def test_sample_corpus_keys_are_unique_safe_and_stable():
    papers = load([SEEDS]).papers
    assign_keys(papers, set())
    keys = [p.key for p in papers]
    assert len(set(keys)) == len(keys) == 553
    assert all(re.fullmatch(r"[a-z0-9]{1,27}", k) for k in keys)
    assert keys[:15] == [
        "instit", "vitron", "lowis3d", "geopix", "tycdataset", "inst3dlmm", "mmefinance", "incontextsupportive",
        "vidtext", "egoobjects", "languageguidedobject", "mcbench", "datasetdistillation", "instructionguided",
        "dynamicvis",
    ]  # fmt: skip
    assert not set(keys) & BARE_WORDS  # no key is a bare common word ("task", "images", "open", "power", "role")
    again = load([SEEDS]).papers
    assign_keys(again, set())
    assert [p.key for p in again] == keys


def test_title_key_collision_takes_the_next_title_word_then_a_letter():
    papers = [paper("In-Context Learning Creates Task Vectors"), paper("In-context Learning and Induction Heads"),
              paper("In-Context Learning Creates Problems"), paper("In-Context Learning Creates More")]
    assign_keys(papers, set())
    assert [p.key for p in papers] == ["incontextcreates", "incontextinduction", "incontextcreatesproblems",
                                      "incontextcreatesb"]
