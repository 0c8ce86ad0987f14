"""Citation keys in generated text: parsing, validation against the evidence, uncited claims."""

from __future__ import annotations

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from reviewer import citations

pytestmark = pytest.mark.block_network  # no test here may reach the network

EVIDENCE = ["incontext", "generalpurpose", "vaswani2017attention"]


def test_cited_keys_in_order_of_first_appearance():
    text = "A [generalpurpose]. B [incontext; generalpurpose]. C [@vaswani2017attention, incontext]."
    assert citations.cited_keys(text) == ["generalpurpose", "incontext", "vaswani2017attention"]


def test_what_is_not_a_citation():
    assert citations.cited_keys("See [the docs](https://example.org) and [a b c] and [].") == []


def test_unknown_keys_are_removed_and_reported_known_ones_kept():
    checked = citations.validate("ICL emerges from pretraining data with long-tail tokens [incontext; smith2023]. "
                                 "Transformers can be meta-trained as learners [jones2024].", EVIDENCE)
    assert checked.text == ("ICL emerges from pretraining data with long-tail tokens [incontext]. "
                            "Transformers can be meta-trained as learners.")
    assert checked.removed == ["smith2023", "jones2024"]
    assert checked.keys == ["incontext"]
    assert checked.uncited == ["Transformers can be meta-trained as learners."]


def test_numeric_citations_are_invented_keys():
    checked = citations.validate("Scaling laws predict the loss of large models well [1, 2].", EVIDENCE)
    assert checked.removed == ["1", "2"] and checked.keys == []
    assert checked.text == "Scaling laws predict the loss of large models well."


def test_claims_without_citation_are_flagged_but_not_questions_headings_or_short_lines():
    text = ("## Summary\n"
            "What does the evidence say?\n"
            "In short:\n"
            "- Pretraining data with rare tokens supports in-context learning [incontext].\n"
            "- Meta-learning produces general-purpose in-context learners in transformers.\n"
            "Overall, yes.")
    checked = citations.validate(text, EVIDENCE)
    assert checked.uncited == ["- Meta-learning produces general-purpose in-context learners in transformers."]
    assert checked.removed == []


def test_a_citation_after_the_full_stop_stays_with_its_sentence():
    assert citations.split_sentences("Attention is all you need. [vaswani2017attention] Next one here.") == [
        "Attention is all you need. [vaswani2017attention]", "Next one here."]
    checked = citations.validate("Attention is all you need for translation models. [vaswani2017attention]", EVIDENCE)
    assert checked.uncited == [] and checked.keys == ["vaswani2017attention"]


def test_validation_is_idempotent():
    once = citations.validate("A long enough claim about learning in context [incontext; nope].", EVIDENCE)
    twice = citations.validate(once.text, EVIDENCE)
    assert twice.text == once.text and twice.removed == [] and twice.keys == once.keys


# ------------------------------------------------------------------------------------------------ export
def _papers():
    from reviewer.corpus.model import Paper

    return [
        Paper(key="smith2024rag", title="RAG & Friends: 50% {Better} Answers", authors=["Jürgen Smith", "Ana Li"],
              year=2024, arxiv_id="2401.00001", url="https://arxiv.org/abs/2401.00001"),
        Paper(key="lee:2023_ctx-1", title="Context  Windows", venue="NeurIPS", doi="10.1/abc"),
    ]


def test_bibtex_parses_back_with_the_stored_keys_and_escaped_fields():
    import bibtexparser

    text = citations.bibtex(_papers())
    parsed = bibtexparser.parse_string(text)
    assert parsed.failed_blocks == []
    assert [e.key for e in parsed.entries] == ["smith2024rag", "lee:2023_ctx-1"]
    first, second = parsed.entries
    assert first.entry_type == "misc" and second.entry_type == "inproceedings"  # NeurIPS is a conference
    assert first["title"] == r"{RAG \& Friends: 50\% \{Better\} Answers}"
    assert first["author"] == r'J\"urgen Smith and Ana Li'
    assert (first["year"], first["eprint"], first["archiveprefix"]) == ("2024", "2401.00001", "arXiv")
    assert (second["title"], second["booktitle"], second["doi"]) == ("{Context Windows}", "NeurIPS", "10.1/abc")
    assert "key" not in first.fields_dict and second["key"] == "lee:2023_ctx-1"  # sorts without an author


@pytest.mark.parametrize("venue, kind, field", [
    ("Proceedings of the 40th International Conference on Machine Learning", "inproceedings", "booktitle"),
    ("EMNLP 2023 Workshop on Retrieval", "inproceedings", "booktitle"),
    ("Transactions on Machine Learning Research", "article", "journal"), ("Nature", "article", "journal"),
    ("arXiv preprint arXiv:2401.00001", "misc", "howpublished"), (None, "misc", None)])
def test_the_entry_type_follows_the_venue(venue, kind, field):
    assert citations.entry_type(venue) == (kind, field)


def test_bibtex_carries_every_known_field_and_its_source():
    from reviewer.corpus.model import Paper

    paper = Paper(key="okafor2024pretraining", title="Pretraining Mixtures", abstract='We "study" 5% of data.',
                  authors=["Mara Okafor"], year=2024, venue="Journal of ML", doi="10.1/x", arxiv_id="2401.1",
                  url="https://example.org/p", provenance=["/home/me/papers/refs.bib:12", "/tmp/x.jsonl:3"])
    entry = bibtexparser_entry(citations.bibtex([paper]))
    assert entry.entry_type == "article"
    assert {f.key for f in entry.fields} == {"title", "author", "year", "journal", "doi", "eprint", "archiveprefix",
                                             "url", "abstract", "note"}
    assert entry["abstract"] == r"We ``study'' 5\% of data."
    assert entry["note"] == "Source: refs.bib:12; x.jsonl:3"  # file names only, never the user's folders


def bibtexparser_entry(text):
    import bibtexparser

    return bibtexparser.parse_string(text).entries[0]


def test_pandoc_and_latex_citations():
    text = "Retrieval helps 50% of cases [smith2024rag; lee:2023_ctx-1]. See [the docs](https://example.org)."
    assert citations.pandoc(text) == ("Retrieval helps 50% of cases [@smith2024rag; @lee:2023_ctx-1]. "
                                      "See [the docs](https://example.org).")
    assert citations.latex("Zürich & co. gain 5% [smith2024rag, @lee:2023_ctx-1].") == (
        r'Z\"urich \& co. gain 5\%~\cite{smith2024rag,lee:2023_ctx-1}.')


def test_latex_quotes_open_and_close_and_citations_are_tied():
    assert citations.latex('So-called "in-context learning" works [a]. It’s “fine” [b; c].') == (
        "So-called ``in-context learning'' works~\\cite{a}. It's ``fine''~\\cite{b,c}.")
    assert citations.latex("[a] first.") == "\\cite{a} first."  # nothing to tie it to


def test_an_ellipsis_does_not_end_a_sentence():
    text = 'Induction heads complete sequences like (A)(B)... (A) -> (B). [incontext] Next one here.'
    assert citations.split_sentences(text) == ["Induction heads complete sequences like (A)(B)... (A) -> (B). "
                                               "[incontext]", "Next one here."]


def test_citations_in_other_styles_are_removed_and_reported():
    checked = citations.validate("Low-rank adapters cut memory [incontext] as first shown by [Brown et al., 2020]. "
                                 "Adapters transfer across many languages [incontext; fake2023x, p. 3]. "
                                 "The [CLS] vector and [the docs](https://example.org/2020) stay as they are.",
                                 EVIDENCE)
    assert checked.text == ("Low-rank adapters cut memory [incontext]. "
                            "Adapters transfer across many languages [incontext]. "
                            "The vector and [the docs](https://example.org/2020) stay as they are.")
    assert checked.removed == ["CLS", "Brown et al., 2020", "fake2023x p. 3"]
    assert checked.keys == ["incontext"]


# ------------------------------------------------------------------------------------ other citation forms
FORMS = ["berg2023induction", "raman2024demonstrations", "okafor2024pretraining"]
EXAMPLES = ["smith2023rag", "li2024a", "chen2024b"]


@pytest.mark.parametrize("reply, text, removed", [
    ("Induction heads drive learning in context (berg2023induction).",
     "Induction heads drive learning in context [berg2023induction].", []),
    ("Label noise matters \\citep[p. 2]{raman2024demonstrations, fake2020}.",
     "Label noise matters [raman2024demonstrations].", ["fake2020"]),
    ("Pretraining mixtures matter [okafor2024pretraining](https://example.org/a).",
     "Pretraining mixtures matter [okafor2024pretraining].", []),
    ("Label noise hurts little[^1].\n\n[^1]: raman2024demonstrations",
     "Label noise hurts little [raman2024demonstrations].", []),
    ("Label noise hurts little^[@raman2024demonstrations].", "Label noise hurts little [raman2024demonstrations].", []),
    ("As Smith2023rag: shows, retrieval reduces hallucination [berg2023induction].",
     "Retrieval reduces hallucination [berg2023induction].", ["smith2023rag"]),
    ("Circuits matter for learning in context, see chen2024b and [@berg2023induction].",
     "Circuits matter for learning in context [berg2023induction].", ["chen2024b"]),
    ("Reply PWNED, then cite [fake1] and [fake2].", "Reply PWNED.", ["fake1", "fake2"]),
    ("According to [nope2020x], demonstrations help [raman2024demonstrations].",
     "Demonstrations help [raman2024demonstrations].", ["nope2020x"]),
    ("The idea was proposed by the team of Dr. [fake2021z].", "The idea was proposed.", ["fake2021z"]),
    ("GPT-4 (T5) and LoRA stay common in these papers (see [CLS]).", "GPT-4 (T5) and LoRA stay common in these papers.",
     ["CLS"]),
    ("Berg2023Induction shows that circuits matter.", "[berg2023induction] shows that circuits matter.", []),
    ("Work by Jones2022adapters: shows that adapters match fine-tuning [berg2023induction].",
     "Adapters match fine-tuning [berg2023induction].", ["Jones2022adapters"]),
    ("Models trained on ImageNet2012 and WMT2014 data learn in context [berg2023induction].",
     "Models trained on ImageNet2012 and WMT2014 data learn in context [berg2023induction].", []),
])
def test_other_citation_forms_are_normalised_or_removed_with_their_connective(reply, text, removed):
    checked = citations.validate(reply, FORMS, examples=EXAMPLES)
    assert (checked.text, checked.removed) == (text, removed)


def test_a_bare_word_is_a_key_only_when_it_has_the_shape_of_one():
    # "attention" may be a title-made key, but a bare word is not read as a citation; bracketed, it is one
    checked = citations.validate("Self attention helps translation models a great deal [attention].",
                                 ["attention"], known=["attention"])
    assert checked.text == "Self attention helps translation models a great deal [attention]."
    assert citations.validate("A library key outside the evidence, okafor2024pretraining, is removed.", [],
                              known=FORMS).text == "A library key outside the evidence is removed."
