"""benchmarks/peers.py's naive LangChain + Chroma pipeline works (it is what reviewer's speed is measured
against, so a broken one would go unnoticed until the next benchmark run). Behaviour only, no timings."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from conftest import seed_papers, write_listing

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "peers.py"


def _peers():
    spec = importlib.util.spec_from_file_location("peers_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_naive_pipeline_stores_the_same_texts_and_finds_a_paper_by_its_title(tmp_path, minilm):
    peers = _peers()
    papers = seed_papers(6)
    listing = write_listing(tmp_path / "listing.txt", papers)
    assert peers.naive_ingest([str(listing)], tmp_path / "naive", minilm) == 6
    store = peers.naive_store(tmp_path / "naive", minilm)
    hits = store.similarity_search(papers[3].title, k=3)
    assert hits[0].metadata["title"] == papers[3].title
    assert hits[0].page_content == papers[3].embedding_text()


def test_cold_reports_time_and_the_childs_own_peak_rss():
    seconds, rss_mb = _peers().cold([sys.executable, "-c", "pass"])
    assert 0 < seconds < 30
    assert 1 < rss_mb < 200  # a bare interpreter, not the benchmark's inherited high-water mark
