"""The port of a local Spark Connect server: one process of this machine at a time.

``MLOPS_SPARK_REMOTE=local[2]`` (or ``spark_remote: local[2]``) makes PySpark start a
Spark Connect server inside the process, on port :data:`LOCAL_CONNECT_PORT`, which its
client then connects to; the server lives as long as the process. A second process
that started its own at the same time would fail to bind the port. So a process holds a
file lock for the port (:func:`hold_local_connect_port`) from before its server starts
until it exits, and a second process waits for it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no lock; a second server fails to bind and says so
    fcntl = None

# PySpark's local Connect server listens here, and its client connects here (PySpark 4.1
# chooses no other port outside its own test mode).
LOCAL_CONNECT_PORT = 15002

_held: dict[Path, int] = {}


def lock_path(port: int = LOCAL_CONNECT_PORT) -> Path:
    """The lock file of ``port``: ``spark-connect-<port>.lock`` in the temporary folder
    (``tempfile.gettempdir()``, which honours ``TMPDIR``), shared by every process of the
    machine that uses that folder."""
    return Path(tempfile.gettempdir()) / f"spark-connect-{port}.lock"


def hold_local_connect_port(port: int = LOCAL_CONNECT_PORT) -> None:
    """Hold the lock of ``port`` (:func:`lock_path`) until this process exits.

    When another process holds it, prints one line to stderr, ``waiting for the local
    Spark Connect server of another process (port 15002) to stop``, and waits. Holding
    it already: returns at once. Without ``fcntl`` (Windows): returns at once.
    """
    path = lock_path(port)
    if fcntl is None or path in _held:
        return
    descriptor = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(
            f"waiting for the local Spark Connect server of another process (port {port}) to stop",
            file=sys.stderr,
            flush=True,
        )
        fcntl.flock(descriptor, fcntl.LOCK_EX)
    _held[path] = descriptor  # released when the process exits
