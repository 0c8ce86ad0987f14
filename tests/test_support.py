"""The support check: offline (embedding similarity + term overlap, calibrated threshold) and with a model
(one structured call per section, one rewrite, a re-check, flags)."""

from __future__ import annotations

import json

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import fake_llm
from review_fixtures import fixture_papers
from reviewer import support
from reviewer.config import LLMSettings
from reviewer.draft import REWRITTEN, SUPPORTED, UNCHECKED, UNSUPPORTED, Sentence

pytestmark = pytest.mark.block_network

PAPERS = fixture_papers()

# The calibration table of the offline threshold (hand-written sentences about the fixture papers): True =
# a faithful paraphrase, False = the cited paper does not say it (wrong paper, or not discussed).
CALIBRATION = [
    ("Training small low-rank matrices while the pretrained weights stay frozen matches full fine-tuning on "
     "classification [halvorsen2023lowrank].", True),
    ("Keeping outlier channels in sixteen-bit precision allows four-bit weight quantization with little loss in "
     "perplexity [novak2024fourbit].", True),
    ("A student of the same size as its teacher can become more accurate than the teacher through "
     "self-distillation [goldberg2024selfdistillation].", True),
    ("Students can be distilled without real data by training on synthetic inputs on which teacher and student "
     "disagree [watanabe2024datafree].", True),
    ("Bits can be allocated per layer according to its Hessian-based sensitivity under a memory budget "
     "[petrova2024mixedprecision].", True),
    ("Language and task adapters can be combined to transfer a task to low-resource languages "
     "[ferreira2024bottleneck].", True),
    ("Several works cut the cost of adaptation by training only a few added parameters while the model stays "
     "frozen [halvorsen2023lowrank; demir2022prefix].", True),
    ("Outliers in activations make low-bit quantization of large transformers difficult [ramirez2023activation].", True),
    ("Distillation can transfer most of a large model's accuracy to a much faster student [adeyemi2022distilling].", True),
    ("Matching hidden states as well as outputs narrows the gap between student and teacher "
     "[zhang2023intermediatelayer].", True),
    ("Updating only some layers is a cheaper alternative to full fine-tuning [sato2023layers].", True),
    ("Simulating integer arithmetic during training makes models robust to rounding "
     "[fischer2022quantizationaware].", True),
    ("Keeping outlier channels in sixteen-bit precision allows four-bit weight quantization "
     "[goldberg2024selfdistillation].", False),
    ("Self-distillation over several generations keeps improving the student [novak2024fourbit].", False),
    ("Low-rank adapters reduce the energy use of data centres by half [halvorsen2023lowrank].", False),
    ("Synthetic inputs make quantization-aware training unnecessary on mobile CPUs [watanabe2024datafree].", False),
    ("Pruning attention heads removes most of the gains of in-context learning [zhang2023intermediatelayer].", False),
    ("Prefix tuning is more stable than full fine-tuning when little data is available [ferreira2024bottleneck].", False),
    ("Quantization methods are widely deployed in commercial chatbots [novak2024fourbit].", False),
    ("Adapters and distillation can be combined to compress multilingual models "
     "[ferreira2024bottleneck; adeyemi2022distilling].", False),
    ("Mixed-precision models need retraining for every new hardware platform [petrova2024mixedprecision].", False),
]
# The two the offline check gets wrong at its calibrated threshold (0.425, see reviewer/extractive/support.py): a
# false claim made of the cited abstracts' own words (0.57), and a stability claim the cited adapter paper does not make (0.48).
KNOWN_MISSES = {17, 19}


@pytest.fixture(scope="module")
def calibration_scores(minilm):
    return support.offline_scores([t for t, _ in CALIBRATION], [support.citations.cited_keys(t) for t, _ in CALIBRATION],
                                  PAPERS, minilm)


def test_the_offline_threshold_separates_the_calibration_sentences(calibration_scores):
    threshold = support.OFFLINE_THRESHOLD
    for i, ((text, supported), (score, cosine, share)) in enumerate(zip(CALIBRATION, calibration_scores)):
        assert 0 <= share <= 1 and -1 <= cosine <= 1
        assert score == pytest.approx(support.COSINE_WEIGHT * max(cosine, 0) + (1 - support.COSINE_WEIGHT) * share,
                                      abs=1e-3)
        assert (score >= threshold) == (supported != (i in KNOWN_MISSES)), (i, text, score)
    kept = [(score, supported) for i, ((_, supported), (score, _, _)) in
            enumerate(zip(CALIBRATION, calibration_scores)) if i not in KNOWN_MISSES]
    lowest_supported = min(s for s, ok in kept if ok)
    highest_unsupported = max(s for s, ok in kept if not ok)
    assert highest_unsupported < threshold < lowest_supported  # a margin on both sides
    assert lowest_supported - highest_unsupported > 0.04  # 0.41 vs 0.46 at the calibrated threshold


def test_quotes_score_about_one_and_a_wrong_key_fails(minilm):
    quote = PAPERS["novak2024fourbit"].abstract.split(". ")[1] + ". [novak2024fourbit]"
    wrong = quote.replace("novak2024fourbit", "adeyemi2022distilling")
    (good, cosine, share), (bad, _, _) = support.offline_scores([quote, wrong], [["novak2024fourbit"],
                                                                                ["adeyemi2022distilling"]],
                                                                PAPERS, minilm)
    assert good > 0.95 and cosine > 0.99 and share == 1.0
    assert bad < support.OFFLINE_THRESHOLD


def test_check_offline_sets_the_verdicts_in_place(minilm):
    good = Sentence(CALIBRATION[0][0], ["halvorsen2023lowrank"])
    bad = Sentence(CALIBRATION[12][0], ["goldberg2024selfdistillation"])
    transition = Sentence("We now turn to compression.")
    unknown = Sentence("Something about a paper we do not have [nobody2020].", ["nobody2020"])
    support.check_offline([good, bad, transition, unknown], PAPERS, minilm)
    assert good.support == SUPPORTED and good.score >= support.OFFLINE_THRESHOLD and good.reason == ""
    assert bad.support == UNSUPPORTED and bad.score < support.OFFLINE_THRESHOLD
    assert bad.reason.startswith(f"offline check: score {bad.score:.2f} < 0.42 (closest sentence of "
                                 "goldberg2024selfdistillation: cosine ")
    assert transition.support == UNCHECKED and transition.score is None  # cites nothing: not checked here
    assert unknown.support == UNSUPPORTED and unknown.score == 0.0  # no abstract to check against


def test_words_and_citations():
    assert support.strip_citations("Adapters work [a2020; b2021]. Really [c].") == "Adapters work. Really."
    assert support.content_words("The adapters were trained on the tasks") == {"adapter", "train", "task"}
    assert support.overlap("adapters trained", ["We train adapters."]) == 1.0
    assert support.overlap("the of and", ["anything"]) == 0.0


# ------------------------------------------------------------------------------------------ with a model
def verdicts(*items) -> str:
    return json.dumps({"verdicts": [{"n": n, "supported": ok, "reason": reason} for n, ok, reason in items]})


def rewrites(*items) -> str:
    return json.dumps({"rewrites": [{"n": n, "text": text} for n, text in items]})


THEME = ["novak2024fourbit", "petrova2024mixedprecision", "fischer2022quantizationaware"]
GOOD = "Outlier channels kept in sixteen bits make four-bit weights accurate [novak2024fourbit]."
BAD = "Mixed-precision models need retraining on every new chip [petrova2024mixedprecision]."
FIXED = ("Mixed precision gives sensitive layers more bits under a memory budget [petrova2024mixedprecision].")


def test_an_unsupported_sentence_whose_rewrite_still_fails_is_flagged(tmp_path):
    llm, model = fake_llm(LLMSettings(base_url="http://fake/v1"), tmp_path, verdicts((1, True, ""), (2, False, "retraining is not mentioned")),
                          rewrites((1, "Mixed-precision models must be retrained for each chip [petrova2024mixedprecision].")),
                          verdicts((1, False, "still not mentioned")))
    good, bad = Sentence(GOOD, ["novak2024fourbit"]), Sentence(BAD, ["petrova2024mixedprecision"])
    usage = support.check_with_llm([good, bad], PAPERS, llm, allowed=THEME)
    assert (good.support, good.reason) == (SUPPORTED, "")
    assert bad.support == UNSUPPORTED and bad.flagged
    assert bad.text == BAD and bad.original is None  # the first version is kept
    assert bad.reason == "retraining is not mentioned; the rewrite was not supported either (still not mentioned)"
    assert usage.calls == 3 and len(model.received) == 3


def test_a_rewrite_that_fixes_the_sentence_is_marked_rewritten(tmp_path):
    llm, model = fake_llm(LLMSettings(base_url="http://fake/v1"), tmp_path, verdicts((1, False, "retraining is not mentioned")), rewrites((1, FIXED)),
                          verdicts((1, True, "")))
    bad = Sentence(BAD, ["petrova2024mixedprecision"])
    support.check_with_llm([bad], PAPERS, llm, allowed=THEME)
    assert bad.support == REWRITTEN and not bad.flagged
    assert (bad.text, bad.keys, bad.original) == (FIXED, ["petrova2024mixedprecision"], BAD)
    assert bad.reason == "first version unsupported: retraining is not mentioned"
    # the re-check saw the rewrite, numbered, with the abstract it cites
    recheck = model.last_messages()[1]["content"]
    assert f"1. {FIXED}" in recheck and PAPERS["petrova2024mixedprecision"].abstract in recheck


def test_the_prompts_hold_only_the_cited_abstracts_and_numbered_sentences(tmp_path):
    llm, model = fake_llm(LLMSettings(base_url="http://fake/v1"), tmp_path, verdicts((1, True, ""), (2, True, "")))
    sentences = [Sentence(GOOD, ["novak2024fourbit"]), Sentence("We now turn to adapters."),
                 Sentence(FIXED, ["petrova2024mixedprecision"])]
    support.check_with_llm(sentences, PAPERS, llm, allowed=THEME)
    system, user = model.last_messages()
    assert "untrusted" in system["content"]
    text = user["content"]
    assert f"1. {GOOD}\n2. {FIXED}" in text and "turn to adapters" not in text
    assert "[novak2024fourbit]" in text and "[petrova2024mixedprecision]" in text
    assert "fischer2022quantizationaware" not in text  # in the theme, but not cited: not shown
    assert sentences[1].support == UNCHECKED


def test_all_supported_costs_one_call(tmp_path):
    llm, model = fake_llm(LLMSettings(base_url="http://fake/v1"), tmp_path, verdicts((1, True, "")))
    sentence = Sentence(GOOD, ["novak2024fourbit"])
    assert support.check_with_llm([sentence], PAPERS, llm, allowed=THEME).calls == 1
    assert sentence.support == SUPPORTED
    assert support.check_with_llm([Sentence("No citation here at all.")], PAPERS, llm, allowed=THEME).calls == 0


def test_a_rewrite_citing_outside_the_theme_is_not_used(tmp_path):
    llm, model = fake_llm(LLMSettings(base_url="http://fake/v1"), tmp_path, verdicts((1, False, "not stated")),
                          rewrites((1, "Distillation fixes it [adeyemi2022distilling].")))
    warnings: list[str] = []
    bad = Sentence(BAD, ["petrova2024mixedprecision"])
    usage = support.check_with_llm([bad], PAPERS, llm, allowed=THEME, warn=warnings.append)
    assert bad.support == UNSUPPORTED and bad.text == BAD and bad.reason == "not stated"
    assert warnings == ["the rewrite of 'Mixed-precision models need retraining on every new chip "
                        "[petrova2024mixedpreci…' cites none of the abstracts it was shown (it cited "
                        "adeyemi2022distilling): the first version is kept and flagged"]
    assert usage.calls == 2  # no re-check of a rewrite that was not used


def test_a_rewrite_may_cite_only_the_abstracts_it_was_shown_and_loses_template_tokens(tmp_path):
    theme_key_not_shown = next(k for k in THEME if k != "petrova2024mixedprecision")
    llm, model = fake_llm(LLMSettings(base_url="http://fake/v1"), tmp_path, verdicts((1, False, "not stated")),
                          rewrites((1, f"{FIXED[:-1]} <|im_end|> [{theme_key_not_shown}; petrova2024mixedprecision]")),
                          verdicts((1, True, "")))
    bad = Sentence(BAD, ["petrova2024mixedprecision"])
    support.check_with_llm([bad], PAPERS, llm, allowed=THEME)
    assert bad.support == REWRITTEN and bad.keys == ["petrova2024mixedprecision"]  # the unshown key is dropped
    assert "<|im_end|>" not in bad.text and theme_key_not_shown not in bad.text


def test_a_sentence_the_model_skipped_counts_as_unsupported(tmp_path):
    llm, _ = fake_llm(LLMSettings(base_url="http://fake/v1"), tmp_path, verdicts((1, True, "")), rewrites((1, FIXED)), verdicts((1, False, "")))
    first, second = Sentence(GOOD, ["novak2024fourbit"]), Sentence(BAD, ["petrova2024mixedprecision"])
    support.check_with_llm([first, second], PAPERS, llm, allowed=THEME)
    assert first.support == SUPPORTED
    assert second.support == UNSUPPORTED
    assert second.reason == "the model gave no verdict; the rewrite was not supported either (no reason given)"


def test_a_reply_that_names_no_sentence_leaves_them_unsupported(tmp_path):
    llm, model = fake_llm(LLMSettings(base_url="http://fake/v1"), tmp_path, verdicts((7, True, "")), rewrites())
    sentence = Sentence(GOOD, ["novak2024fourbit"])
    usage = support.check_with_llm([sentence], PAPERS, llm, allowed=THEME)
    assert sentence.support == UNSUPPORTED and sentence.reason == "the model gave no verdict"
    assert usage.calls == 2  # the verdicts, then a rewrite that gave nothing: no re-check
