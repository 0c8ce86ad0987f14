"""Server mode: a real `chroma run` on a free loopback port, used through HttpClient."""

from __future__ import annotations

import os
import re
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


SERVERS: dict[str, subprocess.Popen] = {}  # url -> the `chroma run` process serving it


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
    SERVERS[url] = proc
    yield url
    if proc.poll() is None:  # a test may have killed it already
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


def test_a_server_that_never_answers_is_a_clear_error_within_the_timeout(settings):
    from reviewer.errors import IndexError_
    from reviewer.index.store import check_server

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(IndexError_) as error:
            check_server(settings.model_copy(update={"chroma_url": url, "chroma_connect_timeout": 0.5}))
        assert time.monotonic() - started < 1.5
    assert str(error.value) == (f"the Chroma server at {url} did not answer within 0.5 s "
                                "(REVIEWER_CHROMA_CONNECT_TIMEOUT). Start it with `chroma run --path DIR --host "
                                "127.0.0.1 --port N` or unset REVIEWER_CHROMA_URL.")


def test_an_http_server_that_is_not_chroma(settings):
    import http.server
    import threading

    from reviewer.errors import IndexError_
    from reviewer.index.store import check_server

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with pytest.raises(IndexError_) as error:
            check_server(settings.model_copy(update={"chroma_url": url}))
    finally:
        server.shutdown()
    assert str(error.value) == (f"{url} answered, but not as a Chroma server (HTTP 404 to /api/v2/heartbeat). "
                                "Check REVIEWER_CHROMA_URL.")


def test_a_down_server_fails_before_the_embedder_is_loaded(settings, monkeypatch):
    from reviewer.errors import IndexError_
    from reviewer.index import embedder as embedder_module
    from reviewer.library import Library

    monkeypatch.setattr(embedder_module, "make_embedder", lambda s: pytest.fail("embedder loaded first"))
    started = time.monotonic()
    with pytest.raises(IndexError_, match="cannot reach the Chroma server"):
        Library.open(settings=settings.model_copy(update={"chroma_url": f"http://127.0.0.1:{free_port()}"}))
    assert time.monotonic() - started < 2


@pytest.mark.slow
def test_a_server_killed_under_an_open_library_is_a_clear_error(chroma_server, settings, open_library, tmp_path):
    from reviewer.index.store import ServerLostError

    server_settings = settings.model_copy(update={"chroma_url": chroma_server})
    library = open_library(settings=server_settings)
    import httpx

    # chromadb's HTTP client waits forever by default; ours has the configured timeouts
    assert library.store._client._inner._server._session.timeout == httpx.Timeout(30.0, connect=2.0)
    library.ingest([write_listing(tmp_path / "l.txt", seed_papers(3))])
    os.kill(SERVERS[chroma_server].pid, signal.SIGKILL)
    SERVERS[chroma_server].wait()
    with pytest.raises(ServerLostError, match=rf"^lost the Chroma server at {chroma_server} \(ConnectError\)"):
        library.search("memory", k=2)


@pytest.mark.slow
def test_an_ingest_that_loses_the_server_stops_with_the_number_stored(chroma_server, settings, embedder, tmp_path):
    from reviewer.index.store import ServerLostError
    from reviewer.library import Library

    class KillsTheServer:
        """The real embedder; while embedding the second batch, the server is killed."""

        name, dimension = embedder.name, embedder.dimension

        def __init__(self):
            self.calls = 0

        def embed_array(self, texts):
            self.calls += 1
            if self.calls == 2:
                os.kill(SERVERS[chroma_server].pid, signal.SIGKILL)
                SERVERS[chroma_server].wait()
            return embedder.embed_array(texts)

    server_settings = settings.model_copy(update={"chroma_url": chroma_server})
    server_settings.ingest.upsert_batch = 4
    library = Library.open(settings=server_settings, embedder=KillsTheServer())
    library.notify = lambda message: None
    with pytest.raises(ServerLostError) as error:
        library.ingest([write_listing(tmp_path / "l.txt", seed_papers(12))])
    assert re.fullmatch(rf"lost the Chroma server at {chroma_server} \(\w+Error\); check that it is running, "
                        r"then try again\. [048] of 12 new or changed paper\(s\) were stored before that; run the "
                        r"same ingest again to store the rest", str(error.value)), str(error.value)
