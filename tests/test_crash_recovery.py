"""An ingest killed with SIGKILL part-way leaves a state that the next run completes."""

from __future__ import annotations

import os
from collections import Counter
import signal
import subprocess
import sys
import textwrap
import time

from conftest import REPO, seed_papers, write_listing
from reviewer.index.ingest import paper_sentences

CHILD = textwrap.dedent(
    """
    import sys
    from reviewer.config import Settings
    from reviewer.library import Library
    lib = Library.open(settings=Settings(db=sys.argv[1]))
    def progress(done, total):
        print(f"stored {done} of {total}", flush=True)
    lib.ingest([sys.argv[2]], progress=progress)
    print("finished", flush=True)
    """
)


def test_ingest_killed_part_way_is_completed_by_the_next_run(tmp_path, open_library, settings, embedder):
    papers = seed_papers(48)
    listing = write_listing(tmp_path / "listing.txt", papers)
    env = {**os.environ, "REVIEWER_INGEST__UPSERT_BATCH": "4", "PYTHONPATH": str(REPO / "tests")}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(settings.db), str(listing)],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    deadline = time.monotonic() + 120
    for line in child.stdout:
        # progress counts papers embedded; the writer lags by at most two batches of 4: 20 embedded, 12 stored
        if line.startswith("stored") and int(line.split()[1]) >= 20:
            os.kill(child.pid, signal.SIGKILL)
            break
        assert time.monotonic() < deadline
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the child finished before it could be killed"

    library = open_library()
    stored_before = {p.title: p.key for p in library.papers()}
    assert 12 <= len(stored_before) < 48

    report = library.ingest([listing])
    missing = [p for p in papers if p.title not in stored_before]
    assert report.embedded == len(missing) == 48 - len(stored_before), "only the papers not stored are embedded"
    assert embedder.texts == sum(1 + len(paper_sentences(p)) for p in missing)
    after = library.papers()
    assert len(after) == len(library) == 48
    assert sorted(p.title for p in after) == sorted(p.title for p in papers), "no paper lost, none twice"
    assert {p.title: p.key for p in after if p.title in stored_before} == stored_before
    assert len(report.new) == 48 - len(stored_before)
    assert len(library.keyword_index()) == 48
    vectors, owners = library.store.sentence_vectors([p.key for p in after])
    counts = Counter(owners)
    assert counts == {p.key: len(paper_sentences(p)) for p in after}
    assert len(owners) == len(vectors) == sum(counts.values()), "every stored paper has all its sentence vectors"
