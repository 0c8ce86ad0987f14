"""How the extractive engine scores a sentence: similarity, plus whether it states a finding.

A sentence's score for a question (or topic) is its cosine similarity (all-MiniLM-L6-v2), plus
:data:`FINDING_WEIGHT` when it states a finding, a result or a claim (:data:`FINDING`: "we find that", "results
show", "significantly", "outperforms", a percentage, a RESULTS/CONCLUSIONS label). A sentence that restates the
premise (:data:`PREMISE`: "recent work claims", "it is widely believed", "remains unclear", "to determine
whether", a BACKGROUND/OBJECTIVE label) is quoted only when its paper has no other: such a sentence is often the
one most similar to the question precisely because it restates it ("Recent work claims that large language
models display emergent abilities" for "Do large language models display emergent abilities?"). Measured on scifact-train (`reviewer eval rationale`): the chosen
sentence of an abstract is one of its annotated rationale sentences more often than the most similar sentence's
(README, "Writing quality"). A near-copy penalty (content-word overlap with the question) was measured too and
changed nothing there, so there is none.

:func:`disagrees` tells when two quoted sentences of different papers take opposite sides: they are about the
same thing (cosine at least :data:`SAME_SUBJECT`) and exactly one of them disputes (:data:`CONTRAST`: "contrary
to", "challenges the", "does not explain", "no evidence", "a mirage", "rather than"...). A plain "not" is no
dispute: it would call half of all pairs a disagreement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

FINDING_WEIGHT = 0.1
PREMISE_DEMOTION = 2.0  # more than any cosine difference: a premise comes after every other sentence
SAME_SUBJECT = 0.5

FINDING = re.compile(
    r"^(?:RESULTS?|FINDINGS|CONCLUSIONS?|INTERPRETATION|Conclusions?(?: and Relevance)?|Results?)\b|"
    r"\b(?:we (?:show|find|found|demonstrate|observed?|report|identif(?:y|ied)|reveal)|"
    r"(?:results?|data|findings|analys[ie]s|experiments?|evaluations?) (?:show|showed|indicate|suggest|reveal|"
    r"demonstrate|confirm)|(?:show|showed|shown|found|demonstrated?|reveals?|revealed|suggests?|suggested|"
    r"indicates?|indicated|confirms?|confirmed) that|in conclusion|conclude|associated with|correlated|"
    r"significantly|outperform\w*|led to|leads to|resulted in|results in|p\s*[<=]\s*0?\.\d|\d+(?:\.\d+)?\s?%|"
    r"odds ratio|hazard ratio|relative risk)", re.I)
PREMISE = re.compile(
    r"^(?:BACKGROUND|CONTEXT|OBJECTIVES?|AIMS?|PURPOSE|DESIGN|SETTINGS?|METHODS?|PARTICIPANTS|PATIENTS|"
    r"INTERVENTIONS?|MAIN OUTCOME|IMPORTANCE|INTRODUCTION|MOTIVATION)\b|"
    r"\b(?:recent (?:work|studies|research) (?:claims?|suggests?|shows?|has)|it (?:has been|is) (?:widely |well |"
    r"commonly )?(?:known|believed|thought|argued|claimed|reported)|remains? (?:unclear|unknown|elusive|poorly "
    r"understood|to be)|little is known|is (?:not|poorly) understood|we (?:hypothesi[sz]ed|aim(?:ed)?|sought|"
    r"ask(?:ed)?)|to (?:determine|investigate|examine|assess|evaluate|test) whether|the (?:aim|goal|objective|"
    r"purpose) of)", re.I)
CONTRAST = re.compile(
    r"\b(?:contrary to|challeng(?:e|es|ing) (?:the|this|these|prior|previous|recent|that)|disput\w+|refut\w+|"
    r"questions? (?:whether|the (?:claim|view|assumption))|in contrast to (?:prior|previous|earlier|recent|existing)|"
    r"(?:do|does|did|can) ?not (?:support|hold|implement|explain|emerge|generalize|reflect|perform|learn)|"
    r"inconsistent with|(?:no|little) evidence|fail(?:s|ed)? to (?:replicate|reproduce|support|explain)|mirage|"
    r"illusory)\b", re.I)


def answer_scores(similarity: np.ndarray, sentences: Sequence[str]) -> np.ndarray:
    """Each sentence's score: its similarity, plus FINDING_WEIGHT for a finding, minus PREMISE_DEMOTION (below
    any other sentence) for a premise."""
    finding = np.array([bool(FINDING.search(s)) for s in sentences], dtype=np.float64)
    premise = np.array([bool(PREMISE.search(s)) for s in sentences], dtype=np.float64)
    return np.asarray(similarity, dtype=np.float64) + FINDING_WEIGHT * finding - PREMISE_DEMOTION * premise


def disagrees(a: str, b: str, cosine: float) -> bool:
    """Whether sentences ``a`` and ``b`` (of different papers) take opposite sides (see the module notes)."""
    return cosine >= SAME_SUBJECT and bool(CONTRAST.search(a)) != bool(CONTRAST.search(b))
