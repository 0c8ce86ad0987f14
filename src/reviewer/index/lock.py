"""One writer at a time: an ingest holds ``<db>/ingest.lock`` from reading what is stored to its last write.

Without it two ingests each hand out keys from their own snapshot of the collection and one overwrites the
other's papers. The lock is an ``flock`` on the file (the kernel releases it when its holder dies, so a
killed ingest never blocks the next one); the file holds the holder's pid, shown to whoever waits. A lock
file naming a process that no longer runs is reported as stale and taken over.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

from reviewer.errors import IndexError_

LOCK_NAME = "ingest.lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


class IngestLock:
    """``with IngestLock(db, notify=print):`` waits (polling) until no other ingest holds ``db``'s lock.

    ``notify`` gets one message when it has to wait ("another ingest is running (pid N); waiting") and one
    when it takes over a stale lock file. ``timeout`` (seconds, None = forever) bounds the wait.
    """

    def __init__(self, db: Path, *, notify: Callable[[str], None] | None = None, timeout: float | None = None,
                 poll: float = 0.2):
        self.path = Path(db) / LOCK_NAME
        self.notify = notify or (lambda message: None)
        self.timeout = timeout
        self.poll = poll
        self._fd: int | None = None

    def __enter__(self) -> "IngestLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise IndexError_(f"cannot create the ingest lock {self.path} ({exc.strerror}); "
                              "is the data directory writable?") from None
        started, told = time.monotonic(), False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise IndexError_(f"cannot lock {self.path} ({exc.strerror})") from None
            if not told:
                holder = _read_pid(fd)
                self.notify(f"another ingest is running (pid {holder if holder else '?'}); waiting for it to finish")
                told = True
            if self.timeout is not None and time.monotonic() - started > self.timeout:
                os.close(fd)
                raise IndexError_(f"another ingest still holds {self.path} after {self.timeout:.0f} s; "
                                  "try again when it has finished")
            time.sleep(self.poll)
        previous = _read_pid(fd)
        if previous and previous != os.getpid() and _pid_alive(previous) is False:
            self.notify(f"stale ingest lock of pid {previous} (no longer running) taken over")
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)  # an empty lock file: nobody holds it
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
