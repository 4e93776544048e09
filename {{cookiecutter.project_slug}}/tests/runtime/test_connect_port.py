"""One local Spark Connect server at a time: a second process (same temporary folder) waits
for the first."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile

import pytest

from {{ cookiecutter.package_name }}.runtime import connect_port
from {{ cookiecutter.package_name }}.runtime.connect_port import lock_path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="file locks through fcntl")

# Takes the port's lock (waiting at most argv[2] seconds), says so, and keeps it until its
# stdin closes; ends itself after two minutes, so that a test never waits on it for ever.
HOLD = """
import signal, sys
signal.alarm(120)
from {{ cookiecutter.package_name }}.runtime.connect_port import hold_local_connect_port
hold_local_connect_port(int(sys.argv[1]), wait=float(sys.argv[2]))
hold_local_connect_port(int(sys.argv[1]))  # a second call in the same process: no wait
print("holding", flush=True)
sys.stdin.read()
"""
PORT = 15002
WAITING = f"waiting for the local Spark Connect server of another process (port {PORT}) to stop\n"


def _holder(tmp_path, wait: float = 60) -> subprocess.Popen:
    """A process running :data:`HOLD` with its temporary folder in ``tmp_path``."""
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, str(PORT), str(wait)],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(*processes) -> None:
    for process in processes:
        if process is not None:
            process.kill()
            process.wait(timeout=60)


def test_a_second_process_waits_with_one_line_until_the_first_exits(tmp_path):
    first, second = _holder(tmp_path), None
    try:
        assert first.stdout.readline() == "holding\n"
        second = _holder(tmp_path)
        assert second.stderr.readline() == WAITING
        ready, _, _ = select.select([second.stdout], [], [], 1.0)
        assert ready == []  # nothing printed: it does not hold the lock while the first runs
        first.stdin.close()
        assert first.wait(timeout=60) == 0
        assert second.stdout.readline() == "holding\n"  # its turn once the first exited
    finally:
        _stop(first, second)
    assert (tmp_path / lock_path(PORT).name).is_file()  # the lock of this test's folder


def test_a_second_process_gives_up_after_its_wait(tmp_path):
    first, second = _holder(tmp_path), None
    try:
        assert first.stdout.readline() == "holding\n"
        second = _holder(tmp_path, wait=1)
        assert second.wait(timeout=60) == 1
        lines = second.stderr.read().splitlines()
        assert lines[0] == WAITING.rstrip("\n")
        assert lines[-1].startswith(
            f"{connect_port.__name__}.PortWaitTimeout: another process has held the local "
            f"Spark Connect server's port {PORT} for more than 1 s"
        )
        assert second.stdout.read() == ""
    finally:
        _stop(first, second)


def test_a_lock_file_that_cannot_be_opened_is_passed_over_with_one_line(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    lock_path(PORT).mkdir()  # a folder where the lock file goes: opening it fails
    connect_port.hold_local_connect_port(PORT, wait=0)
    assert lock_path(PORT) not in connect_port._held  # not held: a start goes on without it
    line, folder = capsys.readouterr().err, lock_path(PORT)
    assert line.startswith(f"not waiting for other local Spark Connect servers: {folder}: ")
    assert line.count("\n") == 1
