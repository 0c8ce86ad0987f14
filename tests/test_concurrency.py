"""Concurrent writers serialise on the ingest lock; a long-lived Library sees other processes' writes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import HOME_VARIABLES, seed_papers, write_listing
from reviewer.index.lock import IngestLock

REVIEWER = Path(sys.executable).with_name("reviewer")


def _env(db: Path) -> dict:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("REVIEWER_") or k in HOME_VARIABLES},
            "REVIEWER_DB": str(db)}


@pytest.mark.slow
def test_two_ingests_at_once_both_keep_every_paper(settings, open_library, tmp_path):
    papers = seed_papers(16)
    first = write_listing(tmp_path / "first.txt", papers[:8])
    second = write_listing(tmp_path / "second.txt", papers[8:])
    # Hold the lock so both ingests are certain to overlap: each must wait, then run one after the other.
    waiting = f"another ingest is running (pid {os.getpid()}); waiting for it to finish"
    errs = [tmp_path / "first.err", tmp_path / "second.err"]
    with IngestLock(settings.db):
        procs = [subprocess.Popen([str(REVIEWER), "ingest", str(path)], env=_env(settings.db),
                                  stdout=subprocess.DEVNULL, stderr=open(err, "w"))
                 for path, err in zip((first, second), errs)]
        deadline = time.monotonic() + 120
        while not all(waiting in err.read_text() for err in errs):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
                ["an ingest did not wait", [p.poll() for p in procs]] + [err.read_text() for err in errs]
            time.sleep(0.2)
    assert [p.wait(timeout=240) for p in procs] == [0, 0], [err.read_text() for err in errs]
    library = open_library()
    assert len(library) == 16
    assert sorted(p.title for p in library.papers()) == sorted(p.title for p in papers)


def test_a_stale_lock_is_reported_and_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "ingest.lock").write_text(str(dead.pid))
    messages: list[str] = []
    with IngestLock(tmp_path, notify=messages.append):
        assert (tmp_path / "ingest.lock").read_text() == str(os.getpid())
    assert messages == [f"stale ingest lock of pid {dead.pid} (no longer running) taken over"]
    assert (tmp_path / "ingest.lock").read_text() == ""


def test_waiting_for_a_held_lock_times_out_with_a_clear_error(tmp_path):
    from reviewer.errors import IndexError_

    messages: list[str] = []
    with IngestLock(tmp_path):
        with pytest.raises(IndexError_, match="another ingest still holds"):
            with IngestLock(tmp_path, notify=messages.append, timeout=0.3, poll=0.05):
                pass
    assert messages == [f"another ingest is running (pid {os.getpid()}); waiting for it to finish"]


@pytest.mark.slow
def test_a_long_lived_library_finds_papers_another_process_ingested(settings, embedder, tmp_path):
    from reviewer.library import Library

    papers = seed_papers(10)
    library = Library.open(settings=settings, embedder=embedder)
    library.ingest([write_listing(tmp_path / "a.txt", papers[:5])])
    assert library.search(papers[7].title, k=1)[0].title != papers[7].title
    done = subprocess.run([str(REVIEWER), "ingest", str(write_listing(tmp_path / "b.txt", papers[5:]))],
                          env=_env(settings.db), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    for mode in ("hybrid", "dense", "bm25"):
        assert library.search(papers[7].title, k=1, mode=mode)[0].title == papers[7].title, mode
    assert len(library.papers()) == 10
