"""Hybrid search, modes, MMR, filters, the LangChain adapter and the evaluation harness, on a real library."""

from __future__ import annotations

import math

import pytest

from conftest import FIXTURES, seed_papers, write_listing
from reviewer.retrieval import Filters


@pytest.fixture
def library(open_library, tmp_path):
    papers = seed_papers(30, "003_afd7636b7b7e31f6.txt")
    bib = tmp_path / "two.bib"
    bib.write_text(
        "@article{a,\n title={%s},\n author={Ada Lovelace},\n year={2021},\n journal={Journal of Tests},\n"
        " abstract={%s}\n}\n@article{b,\n title={%s},\n author={Alan Turing},\n year={2023},\n"
        " journal={Proc. Examples},\n abstract={%s}\n}\n" % (papers[0].title, papers[0].abstract,
                                                               papers[1].title, papers[1].abstract),
        encoding="utf-8")
    lib = open_library()
    lib.ingest([write_listing(tmp_path / "listing.txt", papers), bib])
    lib.seed = papers
    return lib


def test_each_mode_finds_a_paper_by_its_own_words(library):
    target = library.seed[7]
    for mode in ("bm25", "cosine", "dense", "rrf", "hybrid"):
        hits = library.search(target.title, k=5, mode=mode)
        assert hits[0].title == target.title, mode
    default = library.search(target.title, k=5)
    assert library.settings.retrieval.mode == "rrf"
    assert default[0].found_by == ["bm25", "cosine"] and default[0].ranks == {"bm25": 1, "cosine": 1}
    assert all(set(h.found_by) <= {"bm25", "cosine"} and h.found_by for h in default)
    assert all(set(h.ranks) == set(h.found_by) for h in default)
    assert library.search(target.title, k=5, mode="hybrid")[0].found_by == ["bm25", "dense"]


@pytest.mark.parametrize("mode, lists", [("rrf", ("bm25", "cosine")), ("hybrid", ("bm25", "dense"))])
def test_fused_scores_are_reciprocal_rank_fusion(library, mode, lists):
    query = library.seed[3].abstract[:200]
    rankings = [[h.key for h in library.search(query, k=100, mode=name)] for name in lists]
    for hit in library.search(query, k=5, mode=mode):
        expected = sum(1 / (60 + ranking.index(hit.key) + 1) for ranking in rankings if hit.key in ranking)
        assert math.isclose(hit.score, expected, rel_tol=1e-9)
        assert hit.ranks == {name: ranking.index(hit.key) + 1 for name, ranking in zip(lists, rankings)
                             if hit.key in ranking}


def test_cosine_mode_is_exact_cosine_ranked_with_ties_by_key(library):
    query = "instruction tuning of language models"
    hits = library.search(query, k=10, mode="cosine")
    similarity = library.similarity(query, [h.key for h in hits])
    assert all(math.isclose(h.score, similarity[h.key], abs_tol=1e-6) for h in hits)
    assert all((a.score, b.key) >= (b.score, a.key) for a, b in zip(hits, hits[1:]))  # best first, ties by key
    assert [h.found_by for h in hits] == [["cosine"]] * 10 and [h.ranks["cosine"] for h in hits] == list(range(1, 11))


def test_long_query_uses_sentence_windows(library):
    # A paragraph made of sentences from two different abstracts: both papers come first.
    a, b = library.seed[10], library.seed[20]
    query = " ".join(a.abstract.split(". ")[:2]) + ". " + " ".join(b.abstract.split(". ")[:2]) + "."
    top = {h.title for h in library.search(query, k=2, mode="dense")}
    assert top == {a.title, b.title}


def test_filters(library):
    query = "language models"
    lovelace, turing = library.seed[0].title, library.seed[1].title
    assert [h.title for h in library.search(query, k=10, filters=Filters(year_min=2022))] == [turing]
    assert [h.title for h in library.search(query, k=10, filters=Filters(year_max=2022))] == [lovelace]
    assert [h.title for h in library.search(query, k=10, filters=Filters(venue="journal of"))] == [lovelace]
    assert {h.title for h in library.search(query, k=10, filters=Filters(source="two.bib"))} == {lovelace, turing}
    keys = [h.key for h in library.search(query, k=3)]
    only = library.search(query, k=10, filters=Filters(keys=keys[1:]))
    assert sorted(h.key for h in only) == sorted(keys[1:])
    assert keys[0] not in {h.key for h in library.search(query, k=10, filters=Filters(exclude=[keys[0]]))}
    assert library.search(query, k=10, filters=Filters(year_min=2030)) == []


def test_mmr_returns_k_distinct_relevant_papers(library):
    query = "multimodal reasoning with language models"
    pool = [h.key for h in library.search(query, k=18)]  # MMR picks from the top 3k of the fused ranking
    diverse = library.search(query, k=6, mmr=True)
    assert len(diverse) == 6 and len({h.key for h in diverse}) == 6 and {h.key for h in diverse} <= set(pool)
    similarity = library.similarity(query, pool)
    assert diverse[0].key == max(pool, key=similarity.get)  # the first pick is the one closest to the query


def test_langchain_retriever_in_an_lcel_chain(library):
    from langchain_core.runnables import RunnableLambda

    from reviewer.retrieval.langchain import ReviewerRetriever

    retriever = ReviewerRetriever(library=library, k=3)
    chain = retriever | RunnableLambda(lambda docs: [(d.metadata["key"], d.metadata["provenance"]) for d in docs])
    out = chain.invoke(library.seed[5].title)
    assert len(out) == 3
    assert library.get(out[0][0]).title == library.seed[5].title
    assert out[0][1][0].endswith(":" + library.get(out[0][0]).provenance[0].rsplit(":", 1)[1])


def test_harness_on_a_tiny_beir_set(tmp_path, monkeypatch, minilm):
    from reviewer.evaluation.harness import evaluate_dataset

    monkeypatch.setenv("REVIEWER_CACHE_DIR", str(tmp_path / "cache"))
    dataset, results = evaluate_dataset(FIXTURES / "beir-tiny", ["bm25", "hybrid"], embedder=minilm)
    bm25 = results[0]
    # q1: d1 (gain 2) first, d2 (gain 1) second, d3 (gain 1) has no query term; q2: d4 first.
    ndcg_q1 = (2 + 1 / math.log2(3)) / (2 + 1 / math.log2(3) + 1 / math.log2(4))
    assert bm25.means["ndcg@10"] == pytest.approx((ndcg_q1 + 1.0) / 2)
    assert bm25.means["recall@10"] == pytest.approx((2 / 3 + 1) / 2)
    assert bm25.means["mrr@10"] == pytest.approx(1.0)
    assert results[1].means["recall@10"] == pytest.approx(1.0)  # the dense side finds d3 as well
    assert bm25.latency_p50_ms > 0

    # a second run reuses the cached index: no embedding at all
    class Refuse:
        name, dimension = minilm.name, minilm.dimension

        def embed_array(self, texts):
            if len(texts) > 3:
                raise AssertionError("the corpus was embedded again")
            return minilm.embed_array(texts)

    _, again = evaluate_dataset(FIXTURES / "beir-tiny", ["bm25"], embedder=Refuse())
    assert again[0].means == bm25.means


def test_search_sees_papers_another_process_added(open_library, tmp_path):
    first = open_library()
    first.ingest([write_listing(tmp_path / "a.txt", seed_papers(5))])
    assert len(first.search("language models", k=3)) == 3  # mirror and keyword index built
    other = open_library()  # stands for another process writing to the same data directory
    newcomer = seed_papers(8)[7]
    other.ingest([write_listing(tmp_path / "b.txt", [newcomer])])
    assert first.search(newcomer.title, k=1, mode="dense")[0].title == newcomer.title
