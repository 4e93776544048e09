"""One local Spark Connect server per machine: a second process waits for the first."""

from __future__ import annotations

import os
import subprocess
import sys

from {{ cookiecutter.package_name }}.runtime.connect_port import lock_path

# A process that takes the port's lock, says so, and keeps it until its stdin closes.
HOLD = """
import sys
from {{ cookiecutter.package_name }}.runtime.connect_port import hold_local_connect_port
hold_local_connect_port(int(sys.argv[1]))
hold_local_connect_port(int(sys.argv[1]))  # a second call in the same process: no wait
print("holding", flush=True)
sys.stdin.read()
"""
PORT = 15002


def _holder(tmp_path) -> subprocess.Popen:
    """A process running :data:`HOLD` with its temporary folder in ``tmp_path``."""
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, str(PORT)],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_process_waits_with_one_line_until_the_first_exits(tmp_path):
    first = _holder(tmp_path)
    second = None
    try:
        assert first.stdout.readline() == "holding\n"
        second = _holder(tmp_path)
        assert second.stderr.readline() == (
            f"waiting for the local Spark Connect server of another process (port {PORT}) to stop\n"
        )
        assert second.poll() is None  # still waiting while the first runs
        first.stdin.close()
        assert first.wait(timeout=60) == 0
        assert second.stdout.readline() == "holding\n"  # its turn once the first exited
    finally:
        for process in (first, second):
            if process is not None:
                process.kill()
                process.wait(timeout=60)
    assert (tmp_path / lock_path(PORT).name).is_file()  # the lock of this test's folder
