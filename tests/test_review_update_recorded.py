"""`review --update` through real HTTP (the real ChatOpenAI), replayed from cassettes/recorded/review_update.yaml.

Recorded by `make record` against a llama.cpp server running SmolLM2-135M-Instruct on the fixture library: a draft
of the review scenario, then one new quantization paper and an update. The tiny model writes poor text; the test
proves the update's HTTP path — which calls it makes and what they hold — and that sections whose inputs did not
change stay byte-identical. Every assertion is made against what the cassette holds, so re-recording against
another endpoint keeps it meaningful.
"""

from __future__ import annotations

import json
import shutil

import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import cassette_endpoint_env, cassette_fixtures, open_fixture_library
from review_fixtures import REVIEW_THEMES, REVIEW_TOPIC
from reviewer import living, provenance
from test_review_recorded import REVIEW_LLM_ENV
from test_review_update import ADDITIONS, base_db  # noqa: F401  (fixture)

pytestmark = [pytest.mark.vcr, pytest.mark.block_network]

vcr_config, vcr_cassette_dir = cassette_fixtures()


@pytest.fixture
def library(base_db, minilm, monkeypatch, tmp_path, record_mode, request):
    endpoint = cassette_endpoint_env(request, record_mode)  # read before the environment is cleaned
    shutil.copytree(base_db, tmp_path / "db")
    return open_fixture_library(tmp_path / "db", minilm, monkeypatch, tmp_path / "cache",
                                {**REVIEW_LLM_ENV, **endpoint})


def _bodies(cassette) -> list[dict]:
    return [json.loads(r.body.decode() if isinstance(r.body, bytes) else r.body) for r in cassette.requests]


@pytest.mark.default_cassette("recorded/review_update")
def test_update_through_real_http(library, vcr, record_mode, tmp_path):
    out = tmp_path / "out"
    draft = library.review(REVIEW_TOPIC, themes=REVIEW_THEMES)
    assert draft.engine == "llm"
    draft.write(out)
    played = (lambda: vcr.play_count) if record_mode == "none" else (lambda: len(vcr.requests))
    first = played()
    old = provenance.section_blocks((out / "review.md").read_text(encoding="utf-8"))

    library.ingest([ADDITIONS / "quantization.jsonl"])
    updated, changes = living.update_directory(library, out, today="2026-12-01")
    if record_mode == "none":
        assert vcr.all_played
    calls = _bodies(vcr)[first:played()]
    # one section written again (the one the new paper joined), its support check, the introduction
    assert len(changes.rewritten) == 1 and list(changes.added) == ["weber2025twobit"]
    assert changes.usage.calls == len(calls) >= 2
    section_prompt = calls[0]["messages"][1]["content"]
    changed = next(s for s in updated.sections if s.heading == changes.rewritten[0])
    assert {k for k in updated.papers if f"[{k}]" in section_prompt} == set(changed.theme.keys)
    assert "weber2025twobit" in changed.theme.keys
    intro = calls[-1]
    assert not intro.get("tools") and "[weber2025twobit]" not in intro["messages"][1]["content"]  # no abstracts
    assert {(c.get("tools") or [{}])[0].get("function", {}).get("name") for c in calls[1:-1]} <= {"Verdicts", "Rewrites"}
    # the sections whose inputs did not change are byte-identical
    new = provenance.section_blocks((out / "review.md").read_text(encoding="utf-8"))
    for heading, block in old.items():
        if heading not in (f"## {changed.heading}", "## References"):
            assert new[heading] == block, heading
    bib = (out / "references.bib").read_text(encoding="utf-8")
    assert all(f"{{{key}," in bib for key in updated.cited_keys())  # (SmolLM2 cites nothing: the bib may be empty)
    assert "2026-12-01" in (out / "CHANGES.md").read_text(encoding="utf-8")
