"""Server mode: a real `chroma run` on a free loopback port, used through HttpClient."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import seed_papers, write_listing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    chroma = Path(sys.executable).with_name("chroma")
    port = free_port()
    log = open(tmp_path / "chroma.log", "wb")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("chroma run did not start: " + (tmp_path / "chroma.log").read_text(errors="replace"))
            time.sleep(0.1)
    yield url
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.mark.slow
def test_ingest_and_search_through_a_chroma_server(chroma_server, settings, open_library, tmp_path):
    server_settings = settings.model_copy(update={"chroma_url": chroma_server})
    papers = seed_papers(8)
    library = open_library(settings=server_settings)
    report = library.ingest([write_listing(tmp_path / "l.txt", papers)])
    assert len(report.new) == 8
    assert not (settings.db / "chroma").exists(), "vectors went to the server, not the embedded database"

    reopened = open_library(settings=server_settings)
    assert len(reopened) == 8
    hits = reopened.search(papers[6].title, k=2)
    assert hits[0].title == papers[6].title
    assert reopened.ingest([tmp_path / "l.txt"]).embedded == 0


def test_unreachable_server_is_a_clear_error(settings, open_library):
    from reviewer.errors import IndexError_

    with pytest.raises(IndexError_, match="chroma run"):
        open_library(settings=settings.model_copy(update={"chroma_url": "http://127.0.0.1:9"}))
