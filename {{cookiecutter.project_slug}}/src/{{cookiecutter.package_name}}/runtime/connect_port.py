"""The port of a local Spark Connect server: one process at a time.

``MLOPS_SPARK_REMOTE=local[2]`` (or ``spark_remote: local[2]``) makes PySpark start a
Spark Connect server inside the process, on port :data:`LOCAL_CONNECT_PORT`, which its
client then connects to; the server runs until the session stops or the process exits.
A second process that started its own meanwhile would fail to bind the port. So a process
holds a file lock for the port (:func:`hold_local_connect_port`) from before its server
starts until it exits, and a second process waits for it. Processes share the lock when
they share the temporary folder (``TMPDIR``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no lock; a second server fails to bind and says so
    fcntl = None

# PySpark's local Connect server listens here, and its client connects here (PySpark 4.1
# chooses no other port outside its own test mode).
LOCAL_CONNECT_PORT = 15002
# How long a process waits for another one's local Connect server before giving up.
WAIT_SECONDS = 900

_held: dict[Path, int] = {}


class PortWaitTimeout(TimeoutError):
    """Another process held the port's lock for longer than the wait allowed."""


def lock_path(port: int = LOCAL_CONNECT_PORT) -> Path:
    """The lock file of ``port``: ``spark-connect-<port>.lock`` in the temporary folder
    (``tempfile.gettempdir()``, which honours ``TMPDIR``)."""
    return Path(tempfile.gettempdir()) / f"spark-connect-{port}.lock"


def hold_local_connect_port(port: int = LOCAL_CONNECT_PORT, wait: float = WAIT_SECONDS) -> None:
    """Hold the lock of ``port`` (:func:`lock_path`) until this process exits.

    When another process holds it, prints one line to stderr, ``waiting for the local
    Spark Connect server of another process (port 15002) to stop``, and waits, at most
    ``wait`` seconds: then raises :class:`PortWaitTimeout`. Holding it already: returns at
    once. Without ``fcntl`` (Windows), or when the lock file cannot be opened (another
    user's file, a file system without locks): prints why on stderr and returns; a
    server that then meets another on the port fails to bind, and says so.
    """
    path = lock_path(port)
    if fcntl is None or path in _held:
        return
    descriptor = None
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
        locked = _try_lock(descriptor)
    except OSError as err:  # unopenable, or a file system whose locks refuse this file
        if descriptor is not None:
            os.close(descriptor)
        print(f"not waiting for other local Spark Connect servers: {path}: {err}", file=sys.stderr)
        return
    if not locked:
        print(
            f"waiting for the local Spark Connect server of another process (port {port}) to stop",
            file=sys.stderr,
            flush=True,
        )
        deadline = time.monotonic() + wait
        while not _try_lock(descriptor):
            if time.monotonic() > deadline:
                os.close(descriptor)
                raise PortWaitTimeout(
                    f"another process has held the local Spark Connect server's port {port} "
                    f"for more than {wait:g} s ({path}); stop it, or run without "
                    "MLOPS_SPARK_REMOTE / spark_remote"
                )
            time.sleep(0.5)
    _held[path] = descriptor  # released when the process exits


def _try_lock(descriptor: int) -> bool:
    """Take the exclusive lock of ``descriptor`` if free; whether it was taken."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
